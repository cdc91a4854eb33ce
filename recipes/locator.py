"""Train the object locator (`core.policy.locator`) on the shipped vision tower: `python -m recipes.locator`.

Renders seeded sim scenes (half with the gripper where it is during a grasp), runs the frozen tower once
over them, trains the small head on the cached patch features, and scores held-out scenes: the pixel
error and, through the camera's calibration, the error on the table in cm, per object. Writes
`locator.safetensors` and `locator.json` (data, seed, epochs, time, the scores, the vision build's
fingerprint) next to the vision weights. A few minutes on two cores; the VLM is not involved.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.policy.locator import (
    OBJECTS,
    Locator,
    LocatorHead,
    head_for,
    load_tower,
    locator_files,
    vision_fingerprint,
    vision_spec,
)
from recipes.cli import option, parse

log = logging.getLogger(__name__)
SCENE_SEED = 11  # a scene stream of its own (not the vision build's, not the scene-VQA set's)


def render(n: int, split: int, seed: int, robot: str = "sim") -> tuple[list[np.ndarray], np.ndarray, np.ndarray,
                                                                     np.ndarray, object]:
    """n scenes -> frames, (n, k, 2) true pixels, (n, k) in-view mask, (n, k, 3) world positions, camera."""
    from core.model.scenes import SceneMaker

    maker = SceneMaker(seed=seed, task_poses=0.5, robot=robot)
    try:
        cam = maker.robot.camera_model("front")
        frames, pix = [], np.zeros((n, len(OBJECTS), 2), np.float32)
        mask, world = np.zeros((n, len(OBJECTS)), np.float32), np.zeros((n, len(OBJECTS), 3), np.float32)
        for i in range(n):
            s = maker.make(split, i)
            where = {o.name: o.pos for o in s.state.objects} | {"gripper": s.ee}
            seen = s.pixels | {"gripper": cam.project(s.ee)}  # the scene projected its objects already
            for j, name in enumerate(OBJECTS):
                if name in where:
                    u, v = seen[name]
                    if 0 <= u < maker.image_size and 0 <= v < maker.image_size:
                        pix[i, j], mask[i, j], world[i, j] = (u, v), 1.0, where[name]
            frames.append(s.image)
    finally:
        maker.close()
    return frames, pix, mask, world, cam


def features(loc: Locator, frames: list[np.ndarray]) -> torch.Tensor:
    return torch.cat([loc.features(frames[b:b + 32]) for b in range(0, len(frames), 32)])


def train_head(head: LocatorHead, f: torch.Tensor, pix: torch.Tensor, mask: torch.Tensor, epochs: int,
               seed: int) -> float:
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(head.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=epochs * ((len(f) + 63) // 64))
    bce = torch.nn.BCEWithLogitsLoss()
    loss = torch.tensor(0.0)
    head.train()
    for ep in range(epochs):
        perm = torch.randperm(len(f))
        for b in range(0, len(f), 64):
            i = perm[b:b + 64]
            p, logit = head(f[i])
            err = ((p - pix[i]).abs().sum(-1) * mask[i]).sum() / mask[i].sum().clamp(min=1)
            loss = err + bce(logit, mask[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        if ep % 10 == 9:
            log.info("epoch %d: loss %.3f", ep + 1, loss.item())
    head.eval()
    return float(loss)


def score(loc: Locator, frames: list[np.ndarray], pix: np.ndarray, mask: np.ndarray, world: np.ndarray,
          cam: object) -> dict[str, dict[str, float]]:
    """Per object: median / 90th-percentile pixel and table error (cm, through the calibration at the
    object's true height), and in-view accuracy."""
    found = loc.locate(frames)
    out: dict[str, dict[str, float]] = {}
    for j, name in enumerate(OBJECTS):
        px_err, cm_err, right = [], [], 0
        for i, seen in enumerate(found):
            s = seen[name]
            right += int(s.seen == bool(mask[i, j]))
            if mask[i, j]:
                px_err.append(float(np.hypot(s.u - pix[i, j, 0], s.v - pix[i, j, 1])))
                p = cam.ray_to_plane(s.u, s.v, float(world[i, j, 2]))  # type: ignore[attr-defined]
                if p is not None:
                    cm_err.append(100 * float(np.hypot(p[0] - world[i, j, 0], p[1] - world[i, j, 1])))
        out[name] = {"n": len(px_err), "px_p50": _q(px_err, 0.5), "px_p90": _q(px_err, 0.9),
                     "cm_p50": _q(cm_err, 0.5), "cm_p90": _q(cm_err, 0.9),
                     "in_view_accuracy": round(right / len(found), 3)}
    return out


def _q(values: list[float], q: float) -> float | None:
    return round(float(np.quantile(values, q)), 2) if values else None


def training_features(loc: Locator, n_train: int, seed: int, robot: str, cache: Path | None,
                      fingerprint: str) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """The training scenes' tower features, true pixels and in-view mask; with `cache`, kept in (and read
    back from) a file named by the robot, the scenes and the vision build, so a second head trains in minutes."""
    t0 = time.perf_counter()
    path = None if cache is None else Path(cache) / f"locator-{robot}-{n_train}-{SCENE_SEED + seed}-{fingerprint}.pt"
    if path is not None and path.is_file():
        got = torch.load(path)
        log.info("training features read from %s", path)
        return got["f"], got["pix"].numpy(), got["mask"].numpy()
    frames, pix, mask, _, _ = render(n_train, 0, SCENE_SEED + seed, robot)
    log.info("rendered %d training scenes in %.0f s", n_train, time.perf_counter() - t0)
    f = features(loc, frames)
    log.info("tower features in %.0f s", time.perf_counter() - t0)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"f": f, "pix": torch.from_numpy(pix), "mask": torch.from_numpy(mask)}, path)
    return f, pix, mask


def build(out: Path, n_train: int, n_test: int, epochs: int, seed: int, threads: int, robot: str = "sim",
          context: int = 0, cache: Path | None = None) -> dict:
    from safetensors.torch import save_file

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    spec = vision_spec(out)
    loc = Locator(head=head_for(spec, context), image_size=spec.image_size, tower=load_tower(out, spec))
    head_file, meta_file = locator_files(robot)
    fingerprint = vision_fingerprint(out)
    f, pix, mask = training_features(loc, n_train, seed, robot, cache, fingerprint)
    loss = train_head(loc.head, f, torch.from_numpy(pix), torch.from_numpy(mask), epochs, seed)
    save_file({k: v.contiguous() for k, v in loc.head.state_dict().items()}, str(out / head_file))
    tf, tp, tm, tw, cam = render(n_test, 1, SCENE_SEED + seed, robot)
    scores = score(loc, tf, tp, tm, tw, cam)
    meta = {"vision_fingerprint": fingerprint, "seed": seed, "scene_seed": SCENE_SEED + seed,
            "train_scenes": n_train, "heldout_scenes": n_test, "epochs": epochs, "final_loss": round(loss, 3),
            "minutes": round((time.perf_counter() - t0) / 60, 1), "camera": "front", "robot": robot, "context": context,
            "heldout": scores}
    (out / meta_file).write_text(json.dumps(meta, indent=1))
    return meta


@dataclass(frozen=True)
class LocatorConfig:
    assets: Path | None = option(None, "the vision build's folder (default: the shipped one)")
    scenes: int = option(3000, "training scenes")
    heldout: int = option(300, "held-out scenes")
    epochs: int = option(120, "passes over the training scenes' tower features")
    seed: int = option(0, "scenes and initialisation")
    threads: int = option(2, "CPU threads for torch")
    robot: str = option("sim", "a simulated robot's scenes (its arm, object sizes, camera)")
    context: int = option(0, "channels of the head's look at each patch's neighbours (0: each patch alone; the "
                             "SO-101's yellow arm needs it beside its yellow block)")
    feature_cache: Path | None = option(None, "a folder to keep the training scenes' tower features in, so a "
                                              "second head on the same scenes skips the rendering and the tower")


def main(argv: list[str] | None = None) -> int:
    from core.model.cache import assets_dir

    args = parse(LocatorConfig, argv, __doc__)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    meta = build(Path(args.assets or assets_dir()), args.scenes, args.heldout, args.epochs, args.seed, args.threads,
                 args.robot, args.context, args.feature_cache)
    blocks = [meta["heldout"][n]["cm_p50"] or float("nan") for n in OBJECTS[:4]]
    print(f"locator: blocks {min(blocks):.2f}-{max(blocks):.2f} cm median error on {args.heldout} held-out scenes, "
          f"{meta['minutes']} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
