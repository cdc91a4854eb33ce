"""Stage 2's data: every question about one scene packed into one multi-turn chat (`chat_sample`), with the
relational turns the recipe adds ("Where is the X block?", "Which way should the gripper move to reach it?")
and the short focused chats; `collate` pads them into a batch."""

from __future__ import annotations

import math
import random

import torch
import torch.nn.functional as F

from core.language.layout import with_layout
from core.model.scene_qa import COLORS, DESCRIBE_QUESTION, QA, describe, questions, scene_facts
from core.model.targets import (
    IGNORE,
    blocks_in_view,
    grid_cell,
)
from recipes.default_model.config import ANSWER_BLOCK_KINDS, ASKED_BLOCK_KINDS, FOCUS_KINDS

WHERE_ROWS = ("back", "middle", "front")  # image top is the far side of the table
WHERE_COLS = ("left", "center", "right")  # image left is the robot's left (front camera over the shoulder)


def position_words(u: float, v: float, size: int) -> str:
    """An image position as words: "back left", "front center"; the middle cell is "center"."""
    row = WHERE_ROWS[min(2, max(0, int(3 * v / size)))]
    col = WHERE_COLS[min(2, max(0, int(3 * u / size)))]
    return "center" if (row, col) == ("middle", "center") else f"{row} {col}"


def where_questions(scene, rng: random.Random) -> list[QA]:  # noqa: ANN001
    """"Where is the X block?" for every block on the table, answered from its image position."""
    size = scene.image.shape[1]
    out = [QA("where", f"Where is the {c} block?", position_words(u, v, size))
           for c, (u, v) in blocks_in_view(scene, scene_facts(scene.state), size).items()]
    rng.shuffle(out)
    return out


def reach_answer(block: tuple[float, float], ee: tuple[float, float, float]) -> str:
    """The first move toward grasping a block at `block` (xy, m) from the gripper at `ee`, in the motion
    plans' words: the horizontal direction ("forward and slightly left"), "down" once over it, "close the
    gripper" once around it."""
    from core.language.plan import direction_words
    from core.model.targets import grasp_class

    state = grasp_class(block, ee)
    if state:
        return "close the gripper" if state == 2 else "down"
    return direction_words((100 * (block[0] - ee[0]), 100 * (block[1] - ee[1]), 0.0))


def reach_questions(scene, rng: random.Random) -> list[QA]:  # noqa: ANN001
    """"Which way should the gripper move to reach the X block?" for every free block in view."""
    facts = scene_facts(scene.state)
    out = [QA("reach", f"Which way should the gripper move to reach the {c} block?", reach_answer(facts.blocks[c], scene.ee))
           for c in blocks_in_view(scene, facts, scene.image.shape[1]) if c not in (facts.in_bowl, facts.on_plate)]
    rng.shuffle(out)
    return out


def focus_questions(scene, rng: random.Random) -> list[QA]:  # noqa: ANN001
    """One or two of the scene's relational questions (FOCUS_KINDS), or none if it supports none."""
    qas = [qa for qa in questions(scene.state, rng) if qa.kind in FOCUS_KINDS]
    return qas[: rng.randint(1, 2)]


def answer_cells(scene, qas: list[QA], grid: int = 4) -> list[int]:  # noqa: ANN001
    """For each question, the grid token (row-major, as the projector pools) of the block its answer is
    about, or -1 (no such block, or it is out of view)."""
    size = scene.image.shape[1]
    cells = {c: grid_cell(u, v, grid, size) for c, (u, v) in blocks_in_view(scene, scene_facts(scene.state), size).items()}
    out = []
    for qa in qas:
        color = None
        if qa.kind in ANSWER_BLOCK_KINDS:
            color = qa.answer
        elif qa.kind in ASKED_BLOCK_KINDS and (qa.kind != "present" or qa.answer == "yes"):
            color = next((c for c in COLORS if f" {c} " in f" {qa.question} "), None)
        out.append(cells.get(color, -1) if color else -1)
    return out


def chat_sample(processor, scene, rng: random.Random, where: bool = False,  # noqa: ANN001
                reach: bool = False, focus: bool = False, layout: str | None = None) -> tuple[dict, list[str]]:
    """All questions about one image as one multi-turn chat -> (processor inputs + labels, kinds).
    With `where`, the "Where is the X block?" turns come last: placed first, the model learned that the
    first answer after an image is a position ("middle left" to "How many blocks are there?"), and their
    teacher-forced answers would hand the later relational questions each block's place in text.
    With `focus`, a short chat of one or two relational questions (`focus_questions`) instead, if the
    scene supports any. With `layout`, the first question starts with that layout line
    (`core.language.layout`), as the chat path asks it."""
    qas = focus_questions(scene, rng) if focus else []
    if not qas:
        qas = questions(scene.state, rng)
        if rng.random() < 0.5:  # a caption turn, so free-form "describe" requests get a grounded answer
            qas.insert(rng.randrange(len(qas) + 1), QA("describe", DESCRIBE_QUESTION, describe(scene_facts(scene.state))))
        if where:
            qas = qas + where_questions(scene, rng)
        if reach:
            qas = qas + reach_questions(scene, rng)
    messages = []
    for i, qa in enumerate(qas):
        content = ([{"type": "image"}, {"type": "text", "text": with_layout(qa.question, layout)}] if i == 0
                   else qa.question)
        messages.append({"role": "user", "content": content})
        messages.append({"role": "assistant", "content": qa.answer})
    text = processor.apply_chat_template(messages, tokenize=False)
    enc = processor(text=text, images=[scene.image], add_special_tokens=False, return_tensors="pt")
    ids = enc["input_ids"][0]
    labels = torch.full_like(ids, IGNORE)
    answer_id = torch.full_like(ids, -1)  # which answer each labelled token belongs to
    tok = processor.tokenizer
    marker = tok.encode("<start_of_turn>model\n", add_special_tokens=False)  # what precedes every answer
    end = tok.convert_tokens_to_ids("<end_of_turn>")
    ids_list = ids.tolist()
    k, i, n, m = 0, 0, len(ids_list), len(marker)
    while i <= n - m:
        if ids_list[i : i + m] == marker:
            j = i + m
            while j < n and ids_list[j] != end:
                j += 1
            labels[i + m : j + 1] = ids[i + m : j + 1]  # the answer and its <end_of_turn>
            answer_id[i + m : j + 1] = k
            k += 1
            i = j
        i += 1
    if k != len(qas):
        raise RuntimeError(f"found {k} answers in a chat of {len(qas)} questions")
    enc["labels"] = labels[None]
    enc["answer_id"] = answer_id[None]
    grid = math.isqrt(getattr(processor, "image_seq_length", 16))
    enc["answer_cell"] = torch.tensor([answer_cells(scene, qas, grid)])
    return enc, [qa.kind for qa in qas]


def collate(samples: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    t = max(s["input_ids"].shape[1] for s in samples)

    def pad(key: str, value: int) -> torch.Tensor:
        return torch.cat([F.pad(s[key], (0, t - s[key].shape[1]), value=value) for s in samples])

    return {
        "input_ids": pad("input_ids", pad_id),
        "attention_mask": pad("attention_mask", 0),
        "token_type_ids": pad("token_type_ids", 0),
        "labels": pad("labels", IGNORE),
        "answer_id": pad("answer_id", -1),
        "answer_cell": torch.cat([F.pad(s["answer_cell"], (0, max(x["answer_cell"].shape[1] for x in samples)
                                                            - s["answer_cell"].shape[1]), value=-1) for s in samples]),
        "pixel_values": torch.cat([s["pixel_values"] for s in samples]),
    }
