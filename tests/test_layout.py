"""The layout line: its text, the locator glue, stage-3 chats, and the chat path that reads it."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from core.language.layout import layout_text, with_layout
from core.model.locator import Sighting

IMAGE = np.zeros((32, 32, 3), np.uint8)


def test_the_line_orders_objects_left_to_right_and_near_to_far():
    places = {"bowl": (100.0, 120.0), "red block": (40.0, 180.0), "plate": (190.0, 90.0),
              "green block": (150.0, 60.0), "gripper": (10.0, 10.0)}
    assert layout_text(places) == ("Left to right: red block, bowl, green block, plate. "
                                   "Near to far: red block, bowl, plate, green block.")
    assert layout_text({"gripper": (5.0, 5.0)}) is None and layout_text({}) is None
    tie = layout_text({"red block": (50.0, 50.0), "blue block": (50.0, 50.0)})
    assert tie == "Left to right: blue block, red block. Near to far: blue block, red block."  # ties by name


def test_the_question_follows_the_line():
    assert with_layout("Which block is furthest to the left?", "Left to right: bowl.") == (
        "Left to right: bowl.\nWhich block is furthest to the left?")
    assert with_layout("What is in the bowl?", None) == "What is in the bowl?"


class FakeLocator:
    def locate(self, frames):
        return [{"red block": Sighting("red block", 30.0, 10.0, 0.9), "bowl": Sighting("bowl", 10.0, 20.0, 0.8),
                 "blue block": Sighting("blue block", 5.0, 5.0, 0.2)} for _ in frames]


def test_scene_layout_writes_only_what_is_in_view(tmp_path: Path):
    from core.model.layout import SceneLayout

    lay = SceneLayout(FakeLocator())
    assert lay.lines([IMAGE, IMAGE]) == ["Left to right: bowl, red block. Near to far: bowl, red block."] * 2
    assert SceneLayout.load(tmp_path) is None  # no locator there: questions go without a line


def test_stage3_chats_put_the_line_before_the_first_question(gemma_dir: Path):
    from transformers import AutoProcessor

    from core.model.build_default import IGNORE, chat_sample
    from tests.test_model import two_block_scene

    proc = AutoProcessor.from_pretrained(gemma_dir)
    line = "Left to right: red block, bowl. Near to far: bowl, red block."
    plain, kinds = chat_sample(proc, two_block_scene(), random.Random(0))
    lined, kinds2 = chat_sample(proc, two_block_scene(), random.Random(0), layout=line)
    text = proc.tokenizer.decode(lined["input_ids"][0])
    assert kinds == kinds2 and text.count(line) == 1
    assert text.index(line) < text.index("<start_of_turn>model")  # in the first user turn
    answers = [proc.tokenizer.decode(e["labels"][0][e["labels"][0] != IGNORE]) for e in (plain, lined)]
    assert answers[0] == answers[1]  # the same answers are learned, only the prompt differs


def test_shipped_lora_names_load_into_a_peft_model():
    from peft import LoraConfig, get_peft_model

    from core.model.build_default import trainable_state
    from core.model.build_layout import as_peft_names

    torch.manual_seed(0)
    model = get_peft_model(torch.nn.Sequential(torch.nn.Linear(4, 4)), LoraConfig(r=2, lora_alpha=4, target_modules=["0"]))
    for n, p in model.named_parameters():
        p.requires_grad_("lora_" in n)
    shipped = trainable_state(model)["lora"]
    assert set(shipped) == {"0.lora_A.weight", "0.lora_B.weight"}
    fresh = get_peft_model(torch.nn.Sequential(torch.nn.Linear(4, 4)), LoraConfig(r=2, lora_alpha=4, target_modules=["0"]))
    res = fresh.load_state_dict(as_peft_names({k: v + 1 for k, v in shipped.items()}), strict=False)
    assert not res.unexpected_keys
    assert torch.equal(fresh.state_dict()["base_model.model.0.lora_A.default.weight"], shipped["0.lora_A.weight"] + 1)


def test_the_service_asks_after_the_frames_layout_line(gemma_dir: Path, monkeypatch: pytest.MonkeyPatch):
    import core.model.service as service

    svc = service.ModelService(str(gemma_dir), precision="fp32")
    svc.start()
    assert svc.wait(60).state == "ready"
    assert svc.layout is None  # a model other than the embedded default reads no line
    assert "layout line" not in svc.answer_route()[1]
    asked: list[str] = []
    monkeypatch.setattr(service, "answer", lambda lm, image, q, history, n: asked.append(q) or "red")
    from core.model.layout import SceneLayout

    svc.layout = SceneLayout(FakeLocator())
    assert svc.answer(IMAGE, "Which block is furthest to the right?") == "red"
    assert asked == ["Left to right: bowl, red block. Near to far: bowl, red block.\nWhich block is furthest to the right?"]
    assert "layout line" in svc.answer_route()[1]


@pytest.fixture(scope="module")
def gemma_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.model_fixtures import tiny_gemma3

    return tiny_gemma3(tmp_path_factory.mktemp("gemma"))
