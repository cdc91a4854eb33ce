"""Scene-VQA retention of the shipped action adapter, and who answers scene questions in the app.

    python bench/eval/retention.py [--scenes 40] [--threads 2]

Asks the held-out scene-VQA set (`core.model.vqa`) three ways: the default model with adapters off and
with the shipped action adapter on (the bare question: the paper's forgetting measure, `retention` =
on / off, which the app compares with 95%, `core.policy.service.MIN_RETENTION`), and the scene reader after
the object locator's layout line (`core.policy.reader`: what the app answers with when the adapter is off
or forgets). Writes bench/results/retention.json and prints one summary line.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.common import write_result
from bench.heldout import load_shipped


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenes", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    from core.model.chat import answer
    from core.model.vqa import evaluate, make_vqa_set
    from core.model.worker import run
    from core.policy.reader import SceneLayout, answer_reading
    from core.policy.service import MIN_RETENTION
    from core.policy.shipped import ADAPTER_NAME as NAME
    from core.policy.shipped import load_reader

    vqa = make_vqa_set(args.scenes)
    loaded = load_shipped("retention", "auto", args.threads)  # all torch work on the model thread
    if loaded is None:
        return 2
    layout = run(SceneLayout.load)
    reader = run(load_reader, loaded.model) if layout is not None else None
    model = loaded.model

    def bare(img, q: str) -> str:  # noqa: ANN001
        return answer(loaded, img, q, max_new_tokens=12)

    def read(img, q: str) -> str:  # noqa: ANN001
        return answer_reading(loaded, layout, reader, img, q)

    run(model.disable_adapters)
    off = evaluate(bare, vqa)
    run(model.set_adapter, NAME)
    run(model.enable_adapters)
    on = evaluate(bare, vqa)
    read_res = evaluate(read, vqa) if reader else None
    ratio = on.accuracy / off.accuracy if off.accuracy else 0.0
    answers_with = "the action adapter" if ratio >= MIN_RETENTION else (
        "the scene reader (adapter off)" if reader else "the base model (adapter off)")
    result = {"precision": loaded.precision_label, "questions": on.n, "vqa_adapter_off": off.accuracy,
              "vqa_adapter_on": on.accuracy, "retention": ratio, "min_retention": MIN_RETENTION,
              "vqa_scene_reader": read_res.accuracy if read_res else None, "app_answers_with": answers_with,
              "per_kind_off": off.per_kind, "per_kind_on": on.per_kind,
              "per_kind_scene_reader": read_res.per_kind if read_res else None,
              "same_answer_on_off": sum(a == b for a, b in zip(off.predictions, on.predictions, strict=True)) / max(1, on.n)}
    write_result("retention", result)
    print(f"retention: VQA adapter off {off.accuracy:.3f}, on {on.accuracy:.3f} -> retention {ratio:.2f}; "
          f"scene reader {result['vqa_scene_reader'] or 0:.3f} | the app answers with {answers_with} | {on.n} questions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
