"""Does the vision tower's 4x4 grid carry left/right? (bench/results/vision_relations.json)

Reads the stage-1 probe of `python -m recipes.default_model` (its checkpoint in the build folder)
and answers "which block is furthest to the left / right?" on held-out scenes three ways:
- `head`: the stage-1 classification head, which reads the mean of the 16 grid tokens;
- `from_predicted_cells`: the probe's per-token cell head says which grid cell holds each block; the
  block in the leftmost (rightmost) predicted column wins, ties broken at random;
- `from_true_cells`: the same rule on the true cells: the most a 4-column grid can give.
If `from_predicted_cells` is near `from_true_cells` while `head` and the assembled model's VQA are near
chance, the grid holds the information and the bottleneck is reading it (stage 2), not the tower.
"""

from __future__ import annotations

import argparse
import random
import sys

from bench.common import write_result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=192)
    ap.add_argument("--seed", type=int, default=0, help="the build's seed (its work folder)")
    args = ap.parse_args()

    import torch

    from core.model.cache import build_dir
    from core.model.scenes import HELDOUT, SceneMaker
    from core.model.targets import CLASS_HEADS
    from recipes.default_model.config import BuildConfig
    from recipes.default_model.stage1 import TowerProbe, s1_batch

    ckpt = build_dir() / f"seed{args.seed}" / "stage1.pt"
    if not ckpt.exists():
        print("vision_relations: no stage-1 checkpoint (python -m recipes.default_model --stages 1); nothing measured")
        return 2
    torch.set_num_threads(1)
    cfg = BuildConfig(seed=args.seed)
    probe = TowerProbe(cfg.spec, args.seed)
    probe.load_state_dict(torch.load(ckpt, weights_only=False)["probe"])
    probe.eval()
    maker = SceneMaker(image_size=cfg.spec.image_size, seed=args.seed)
    names = list(CLASS_HEADS)
    rng = random.Random(0)
    counts = {k: {"head": 0, "from_predicted_cells": 0, "from_true_cells": 0, "n": 0} for k in ("leftmost", "rightmost")}
    for start in range(20_000, 20_000 + args.scenes, 16):
        batch = s1_batch(maker, HELDOUT, start, 16)
        with torch.no_grad():
            out = probe(batch["pixels"])
        grid = round(out["cells"].shape[1] ** 0.5)  # tokens per side of the pooled grid
        cells = {"from_predicted_cells": out["cells"].argmax(1), "from_true_cells": batch["cells"].argmax(1)}
        present = batch["cells"].sum(1) > 0
        for kind, sign in (("leftmost", 1), ("rightmost", -1)):
            y = batch["cls"][:, names.index(kind)]
            c = counts[kind]
            for i in range(len(y)):
                if y[i] < 0:
                    continue
                c["n"] += 1
                c["head"] += int(out[kind][i].argmax() == y[i])
                for key, cell in cells.items():
                    cols = [(int(cell[i, j]) % grid * sign, j) for j in range(4) if present[i, j]]  # blocks first
                    best = min(col for col, _ in cols)
                    c[key] += int(rng.choice([j for col, j in cols if col == best]) == int(y[i]))
    result = {k: {m: round(v[m] / max(1, v["n"]), 3) for m in ("head", "from_predicted_cells", "from_true_cells")}
              | {"n": v["n"]} for k, v in counts.items()}
    result["checkpoint_step"] = int(torch.load(ckpt, weights_only=False)["state"]["step"])
    write_result("vision_relations", result)
    print("vision_relations: " + ", ".join(
        f"{k} head {v['head']} / from predicted cells {v['from_predicted_cells']} / from true cells {v['from_true_cells']}"
        for k, v in result.items() if isinstance(v, dict)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
