"""How well the default model's vision tower places objects (bench/results/locator.json).

The shipped object locator (`core.policy.locator`, a small head on the tower's 16 x 16 patch grid) on
seeded sim scenes from a stream neither the locator nor the vision build trained on (half with the
gripper where it is during a grasp): per object, the median and 90th-percentile error in pixels and on
the table in cm (through the front camera's calibration), and how often it says right whether the
object is in view; the time to locate one frame. For comparison, the vision build's own stage-1
position head (on the 16 pooled tokens the language model sees) from its card.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from bench.common import write_result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch

    from core.model.cache import assets_dir
    from core.model.scenes import TEST
    from core.policy.locator import OBJECTS, Locator, LocatorError
    from recipes.locator import SCENE_SEED, render, score

    torch.set_num_threads(args.threads)
    try:
        loc = Locator.load()
    except LocatorError as exc:
        print(f"locator: {exc}; nothing measured")
        return 2
    frames, pix, mask, world, cam = render(args.scenes, TEST, SCENE_SEED + 1000)
    per_object = score(loc, frames, pix, mask, world, cam)
    times = []
    for f in frames[:40]:
        t0 = time.perf_counter()
        loc.locate([f])
        times.append(time.perf_counter() - t0)
    card = json.loads((assets_dir() / "card.json").read_text())
    blocks = [per_object[n]["cm_p50"] for n in OBJECTS[:4]]
    result = {"scenes": args.scenes, "threads": args.threads, "per_object": per_object,
              "blocks_cm_p50": round(max(blocks), 2),
              "blocks_cm_p90": round(max(per_object[n]["cm_p90"] for n in OBJECTS[:4]), 2),
              "locate_ms_p50": round(1000 * statistics.median(times), 1),
              "stage1_pooled_position_error_cm": card.get("stage1", {}).get("last_eval", {}).get("pos_err_cm")}
    write_result("locator", result)
    print(f"locator: blocks within {result['blocks_cm_p50']} cm (median, worst colour; p90 {result['blocks_cm_p90']} cm) "
          f"on {args.scenes} unseen scenes, {result['locate_ms_p50']} ms per frame; "
          f"the pooled-token head of the vision build: {result['stage1_pooled_position_error_cm']:.1f} cm")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
