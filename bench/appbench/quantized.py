"""The app's quantized action decoding against fp32, on action prompts captured while the app ran.

After the in-app part (page closed, app stopped, its model still in memory), in the same process: an fp32
copy of the default model gets the shipped adapter, and each captured prompt (the frame, subtask, plan and
grounding line the app's policy was given) is decoded by both, alternating prompt by prompt, on the model
thread with the app's thread count, through a fresh `VLMPolicy` each (the app's own decoding: the
grammar, the plan's first-entry rule, the restricted head, drafting). One untimed decode each first.
Speed is generated tokens per second; the match rate counts identical greedy outputs.
"""

from __future__ import annotations

import time
from typing import Any

from bench.appbench.inproc import Captured


def compare(app_model: Any, captured: list[Captured], progress=print) -> dict:  # noqa: ANN001
    """`app_model`: the app's `ModelService` (its loaded model is the quantized path)."""
    import torch

    from core.model.worker import run
    from core.policy.shipped import load_shipped
    from core.policy.vlm import VLMPolicy

    if not captured:
        return {"type": "quantized", "n": 0, "speedup": None, "match_rate": None, "note": "no prompts captured"}
    quant = app_model.loaded
    t0 = time.perf_counter()
    fp32 = load_shipped("fp32", threads=app_model.threads, restater=False, reader=False).loaded
    progress(f"quantized: fp32 copy loaded in {time.perf_counter() - t0:.0f} s; {len(captured)} prompts")
    policies = {"quantized": VLMPolicy(quant, app_model.config), "fp32": VLMPolicy(fp32, app_model.config)}

    def decode(pol: VLMPolicy, c: Captured) -> tuple[str, int, float]:
        text = pol.actions(c.image, c.instruction, c.subtask, c.plan, None, state=c.state)
        r = pol.last["actions"]
        return text, len(r.token_ids), r.seconds

    for pol in policies.values():  # warm-up: grammar caches, first passes
        decode(pol, captured[0])
    tokens = {k: 0 for k in policies}
    seconds = {k: 0.0 for k in policies}
    same, in_app_same, rows = 0, 0, []
    for i, c in enumerate(captured):
        out = {}
        for name, pol in policies.items():
            text, n, s = decode(pol, c)
            tokens[name] += n
            seconds[name] += s
            out[name] = text
        same += out["quantized"] == out["fp32"]
        in_app_same += out["quantized"] == c.text
        rows.append({"subtask": c.subtask, "plan": c.plan, "quantized": out["quantized"], "fp32": out["fp32"],
                     "in_app": c.text})
        progress(f"quantized: prompt {i + 1}/{len(captured)}: {'same' if out['quantized'] == out['fp32'] else 'DIFFERENT'}")
    tps = {k: tokens[k] / seconds[k] if seconds[k] else 0.0 for k in policies}
    return {
        "type": "quantized",
        "n": len(captured),
        "speedup": round(tps["quantized"] / tps["fp32"], 3) if tps["fp32"] else None,
        "match_rate": round(same / len(captured), 3),
        "quantized_tokens_per_s": round(tps["quantized"], 2),
        "fp32_tokens_per_s": round(tps["fp32"], 2),
        "quantized_precision": quant.precision_label,
        "model_threads": run(torch.get_num_threads),
        "replay_equals_in_app": round(in_app_same / len(captured), 3),  # the same path decoded again
        "prompts": rows,
    }
