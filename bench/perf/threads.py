"""Why the model has one thread (core.model.worker): the default model's prefill and decode step with all
torch work on the model thread, against the same after a second, still-living thread has run one
parallel kernel (as a UI or control thread did before every model call went to the model thread).

Writes bench/results/threads.json: prefill_s and decode_step_ms (medians) for "one_thread" and
"second_thread_alive", and their ratios, measured in one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time

from bench.common import write_result


def measure(loaded, steps: int) -> tuple[float, float]:  # noqa: ANN001 - core.model.loader.LoadedModel
    """(median prefill seconds, median single-token decode milliseconds) of the language model on a frame."""
    import numpy as np
    import torch

    from core.model.chat import prepare_inputs
    from core.model.constrained import _parts

    _, body, _ = _parts(loaded.model)
    inputs = prepare_inputs(loaded, np.zeros((224, 224, 3), np.uint8),
                            "Move the gripper toward the red block and then down to grasp it. " * 3)
    token = torch.tensor([[int(inputs["input_ids"][0, -1])]])
    pre, dec = [], []
    with torch.inference_mode():
        for _ in range(3):
            t0 = time.perf_counter()
            out = body(**inputs, use_cache=True)
            pre.append(time.perf_counter() - t0)
        past = out.past_key_values
        for _ in range(steps):
            t0 = time.perf_counter()
            body(input_ids=token, past_key_values=past, use_cache=True)
            dec.append((time.perf_counter() - t0) * 1000)
            past.crop(-1)
    return statistics.median(pre), statistics.median(dec)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch

    from core.model.loader import assets_present, load_model
    from core.model.worker import run

    if not assets_present():
        print("threads: the default model is not built; nothing measured")
        return 2
    torch.set_num_threads(args.threads)
    loaded = run(load_model, None, "cpu", "auto")
    one = run(measure, loaded, args.steps)

    ran, stop = threading.Event(), threading.Event()

    def other() -> None:  # runs one parallel kernel, then stays alive (as a UI thread would)
        x = torch.randn(512, 512)
        (x @ x).sum()
        ran.set()
        stop.wait()

    t = threading.Thread(target=other, daemon=True)
    t.start()
    ran.wait()
    two = run(measure, loaded, args.steps)
    stop.set()
    t.join()

    result = {
        "precision": loaded.precision_label, "torch_threads": args.threads, "decode_steps": args.steps,
        "one_thread": {"prefill_s": round(one[0], 3), "decode_step_ms": round(one[1], 1)},
        "second_thread_alive": {"prefill_s": round(two[0], 3), "decode_step_ms": round(two[1], 1)},
        "prefill_slowdown": round(two[0] / one[0], 2),
        "decode_slowdown": round(two[1] / one[1], 2),
    }
    write_result("threads", result)
    print(f"threads: decode step {one[1]:.1f} ms on the model thread alone, {two[1]:.1f} ms with a second "
          f"kernel-running thread alive (x{result['decode_slowdown']}); prefill x{result['prefill_slowdown']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
