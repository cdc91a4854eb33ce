"""Does the LM pick the right block out of the image tokens? (bench/results/vision_readout[-<run>].json)

Loads a vision build's stage-2 checkpoint (`python -m recipes.default_model`, its work folder) and,
on held-out scenes with every question kind packed into one chat as in training, measures per kind:
- `answer`: teacher-forced exact match of the answer (as the build's own evaluation);
- `image_share`: attention mass on the image tokens at the position that predicts the answer, mean over
  every layer and head (1/16 or 1/64 of it per token if spread evenly);
- `heads_on_block`: how often the argmax over image tokens of the heads the build can supervise
  (`S2_ATTN_HEADS`) is the grid token of the block the answer is about (`answer_cells`; chance is
  1 / tokens).
Only kinds whose answer is about one block in view are counted. High `heads_on_block` with a low
`answer` means the block is found but its token is not read; both low means it is not found.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path

from bench.common import write_result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work-dir", type=Path, default=None, help="the build's work folder (default: seed 0's)")
    ap.add_argument("--scenes", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch
    from peft import LoraConfig, get_peft_model

    from core.model.assemble import VisionSpec, build_processor, build_vlm
    from core.model.cache import build_dir
    from core.model.scenes import HELDOUT, SceneMaker
    from core.model.text_lm import ensure_text_lm
    from recipes.default_model import chats, config, stage2

    work = args.work_dir or build_dir() / "seed0"
    if not (work / "stage2.pt").exists() or not (work / "stage1_final.pt").exists():
        print(f"vision_readout: no stage-2 checkpoint in {work.name} (python -m recipes.default_model); nothing measured")
        return 2
    torch.set_num_threads(args.threads)
    saved = torch.load(work / "stage2.pt", weights_only=False)
    state = saved["state"]
    cfg = config.BuildConfig()
    spec = VisionSpec(mm_tokens_per_image=state.get("tokens", 16))
    text_dir = ensure_text_lm()
    processor = build_processor(text_dir, spec)
    model = build_vlm(text_dir, spec)
    model.model.vision_tower.load_state_dict(torch.load(work / "stage1_final.pt")["tower"])
    model = get_peft_model(model, LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=0.0,
                                             target_modules=config.LORA_TARGETS))
    bad = model.load_state_dict(saved["trainable"], strict=False).unexpected_keys
    if bad:
        raise RuntimeError(f"checkpoint does not match the model: {bad[:5]}")
    model.get_base_model().set_attn_implementation("eager")
    model.eval()
    image_id = model.config.image_token_id
    maker = SceneMaker(image_size=spec.image_size, seed=0, task_poses=cfg.s1_task_poses)
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0])
    try:
        for i in range(args.scenes):
            enc, kinds = chats.chat_sample(processor, maker.make(HELDOUT, 10_000 + i), random.Random(i), True, True)
            batch = chats.collate([enc], processor.tokenizer.pad_token_id)
            attn: list[torch.Tensor] = []
            with torch.no_grad():
                logits, labels, aid = stage2.answer_logits(model, batch, attn)
            ok = logits.argmax(-1) == labels
            image_pos = (batch["input_ids"][0] == image_id).nonzero()[:, 0]
            for k, (kind, cell) in enumerate(zip(kinds, batch["answer_cell"][0].tolist(), strict=True)):
                if cell < 0:
                    continue
                q = int((batch["answer_id"][0] == k).nonzero()[0, 0]) - 1
                rows = torch.stack([a[0, :, q] for a in attn])  # (layers, heads, keys)
                on = [int(attn[layer][0, head, q, image_pos].argmax()) == cell for layer, head in config.S2_ATTN_HEADS]
                s = sums[kind]
                s[0] += float(ok[aid == k].all())
                s[1] += float(rows[..., image_pos].sum(-1).mean())
                s[2] += sum(on) / len(on)
                s[3] += 1
    finally:
        maker.close()
    result = {"run": work.name, "stage2_step": state["step"], "image_tokens": spec.mm_tokens_per_image,
              "attn_weight": state.get("attn_weight", 0.0), "scenes": args.scenes,
              "per_kind": {k: {"n": s[3], "answer": round(s[0] / s[3], 3), "image_share": round(s[1] / s[3], 3),
                               "heads_on_block": round(s[2] / s[3], 3)} for k, s in sorted(sums.items())}}
    write_result(f"vision_readout-{work.name}", result)
    print(f"vision_readout {work.name} step {state['step']}: " + ", ".join(
        f"{k} answer {v['answer']} heads-on-block {v['heads_on_block']} image-share {v['image_share']}"
        for k, v in result["per_kind"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
