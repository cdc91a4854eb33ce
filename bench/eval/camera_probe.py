"""Which camera shows the model where the gripper is relative to the block? (bench/results/camera_probe.json)

A linear probe on the default model's frozen image features (the 16 projected image tokens the
language model reads, flattened), trained to tell the grasp phase of each cycle of scripted-expert
demos: approach (the expert's plan moves sideways first), descend (down, nothing sideways) or close
(close the gripper). Same demos, same cycles, once with the front camera's frame and once with the
wrist camera's. Five-fold cross-validated recall per phase and their mean (balanced accuracy; 0.33 is
chance). No training of the model: it measures what the image tokens carry, which bounds what an
adapter can learn from them.
"""

from __future__ import annotations

import argparse
import sys

from bench.common import write_result
from bench.heldout import grasp_phase

PHASES = ("approach", "descend", "close")


def phase_features(loaded, seeds: range, camera: str) -> tuple:  # noqa: ANN001
    """(features [n, d], phase labels [n]) of every grasp cycle of the demos."""
    import numpy as np
    import torch

    from core.language.prompts import CHUNK_ENTRIES, episode_samples, plan_prompt
    from core.model.chat import prepare_inputs
    from core.training.sources import expert_episodes

    xs, ys = [], []
    for rec in expert_episodes(seeds, kind=("pick", "put_in"), camera=camera):
        grasp = {plan_prompt(s.text) for s in rec.verbalization.subtasks if s.text.startswith("grasp")}
        turns = [t for t in episode_samples(rec.verbalization, rec.instruction, max_entries=CHUNK_ENTRIES)
                 if t.kind == "plan" and t.prompt in grasp and grasp_phase(t.target) in PHASES]
        frames = rec.frames(sorted({t.step for t in turns}))
        for t in turns:
            pv = prepare_inputs(loaded, frames[t.step], "x")["pixel_values"]
            with torch.inference_mode():
                f = loaded.model.get_image_features(pixel_values=pv)
            f = getattr(f, "pooler_output", f)
            xs.append(f.reshape(-1).float().numpy())
            ys.append(PHASES.index(grasp_phase(t.target)))
    return np.stack(xs), np.array(ys)


def fit_softmax(x, y, l2: float) -> tuple:  # noqa: ANN001
    """Weights and bias of an L2-regularised softmax regression (LBFGS)."""
    import torch

    w = torch.zeros(x.shape[1], len(PHASES), requires_grad=True)
    b = torch.zeros(len(PHASES), requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=200)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w + b, y) + l2 * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach()


def cv_recall(x, y, l2: float = 1e-2, folds: int = 5, seed: int = 0) -> list[float | None]:  # noqa: ANN001
    """Cross-validated recall per class of an L2-regularised softmax regression (LBFGS)."""
    import numpy as np
    import torch

    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    idx = np.random.default_rng(seed).permutation(len(y))
    parts = np.array_split(idx, folds)
    hits, totals = np.zeros(len(PHASES)), np.zeros(len(PHASES))
    for k in range(folds):
        test = parts[k]
        train = np.concatenate([parts[j] for j in range(folds) if j != k])
        w, b = fit_softmax(torch.tensor(x[train]), torch.tensor(y[train]), l2)
        with torch.no_grad():
            pred = (torch.tensor(x[test]) @ w + b).argmax(1).numpy()
        for c in range(len(PHASES)):
            mask = y[test] == c
            hits[c] += (pred[mask] == c).sum()
            totals[c] += mask.sum()
    return [round(float(h / t), 3) if t else None for h, t in zip(hits, totals)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demos", type=int, default=60, help="scripted-expert demos (pick and put-in, alternating)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import statistics

    import numpy as np
    import torch

    from core.model.loader import assets_present, load_model

    if not assets_present():
        print("camera_probe: the default model is not built; nothing measured")
        return 2
    torch.set_num_threads(args.threads)
    loaded = load_model(None, "cpu", "fp32")
    result: dict = {"demos": args.demos, "phases": list(PHASES)}
    for camera in ("front", "wrist"):
        x, y = phase_features(loaded, range(args.seed, args.seed + args.demos), camera)
        recall = cv_recall(x, y)
        result[camera] = {"recall": dict(zip(PHASES, recall)),
                          "balanced": round(statistics.mean(r for r in recall if r is not None), 3),
                          "cycles": dict(zip(PHASES, np.bincount(y, minlength=len(PHASES)).tolist()))}
    write_result("camera_probe", result)
    print(f"camera_probe: grasp-phase balanced accuracy from frozen image features: front {result['front']['balanced']} "
          f"{result['front']['recall']}, wrist {result['wrist']['balanced']} {result['wrist']['recall']} "
          f"({args.demos} demos, chance 0.33)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
