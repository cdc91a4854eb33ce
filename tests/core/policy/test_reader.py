"""The layout line: its text, the locator glue, stage-3 chats, and the chat path that reads it."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from core.language.layout import layout_text, with_layout
from core.policy.locator import Sighting

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
    from core.policy.reader import SceneLayout

    lay = SceneLayout(FakeLocator())
    assert lay.lines([IMAGE, IMAGE]) == ["Left to right: bowl, red block. Near to far: bowl, red block."] * 2
    assert SceneLayout.load(tmp_path) is None  # no locator there: questions go without a line


def test_the_loops_grounder_can_share_an_already_loaded_locator():
    from core.policy.grounding import sim_grounder

    loc = FakeLocator()
    grounder = sim_grounder(image_size=32, locator=loc)
    assert grounder.locator is loc
    line = grounder.line(IMAGE, "grasp the red block", (0.4, 0.0, 0.2), 1.0)
    assert "Red block:" in line  # placed from the shared locator's sighting


def test_stage3_chats_put_the_line_before_the_first_question(gemma_dir: Path):
    from transformers import AutoProcessor

    from core.model.targets import IGNORE
    from recipes.default_model.chats import chat_sample
    from tests.core.model.test_model import two_block_scene

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

    from recipes.default_model.stage2 import trainable_state
    from recipes.layout_reader import as_peft_names

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


def tiny_adapter(model_dir: Path, out: Path) -> Path:
    """A PEFT LoRA folder for the tiny Gemma-3 (random weights; it stands in for the scene reader)."""
    from peft import LoraConfig, get_peft_model
    from transformers import Gemma3ForConditionalGeneration

    model = Gemma3ForConditionalGeneration.from_pretrained(model_dir)
    get_peft_model(model, LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"])).save_pretrained(out)
    return out


def test_the_scene_reader_answers_after_the_frames_layout_line(gemma_dir: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch):
    import core.policy.service as service
    from core.model.adapters import adapter_state, load_side_adapter
    from core.policy.reader import SceneLayout
    from core.policy.shipped import READER_NAME as READER

    svc = service.ModelService(str(gemma_dir), precision="fp32")
    svc.start()
    assert svc.wait(60).state == "ready"
    assert svc.layout is None and svc.reader is None  # a model other than the embedded default reads no line
    assert svc.answer_route()[1] == "the base model (no action adapter active)"
    model = svc.loaded.model
    load_side_adapter(model, tiny_adapter(gemma_dir, tmp_path / "reader"), READER)
    svc.use_reader(SceneLayout(FakeLocator()), READER)
    asked: list[tuple[str, tuple]] = []
    monkeypatch.setattr(service, "answer", lambda lm, image, q, history, n: asked.append((q, adapter_state(lm.model))) or "red")
    assert svc.answer(IMAGE, "Which block is furthest to the right?") == "red"
    line = "Left to right: bowl, red block. Near to far: bowl, red block."
    assert asked == [(f"{line}\nWhich block is furthest to the right?", ([READER], True))]  # the reader, switched in
    assert adapter_state(model)[1] is False and svc.last_layout == line  # and out again afterwards
    assert "scene reader" in svc.answer_route()[1]

    # an action adapter that keeps its VQA answers itself: the bare question, no reader
    load_side_adapter(model, tiny_adapter(gemma_dir, tmp_path / "action"), "act")
    model.set_adapter("act")
    model.enable_adapters()
    svc.adapter, svc.adapter_retention = "act", 0.99
    svc.answer(IMAGE, "What is in the bowl?")
    assert asked[-1] == ("What is in the bowl?", (["act"], True)) and svc.last_layout is None
    svc.adapter_retention = 0.5  # one that forgets: the reader answers, and the action adapter comes back after
    svc.answer(IMAGE, "What is in the bowl?")
    assert asked[-1] == (f"{line}\nWhat is in the bowl?", ([READER], True)) and adapter_state(model) == (["act"], True)
    assert "switched off" in svc.answer_route()[1]
    assert svc.policy().locator is svc.layout.locator  # the loop's grounding lines use the same locator


def test_the_reader_is_the_continued_lora_minus_the_shipped_one():
    from recipes.layout_reader import reader_tensors

    torch.manual_seed(0)
    p = "layers.0.q_proj"
    trained = {f"{p}.lora_A.weight": torch.randn(2, 5), f"{p}.lora_B.weight": torch.randn(4, 2)}
    shipped = {f"{p}.lora_A.weight": torch.randn(2, 5), f"{p}.lora_B.weight": torch.randn(4, 2)}
    r = reader_tensors(trained, shipped)
    a, b = r[f"base_model.model.{p}.lora_A.weight"], r[f"base_model.model.{p}.lora_B.weight"]
    assert a.shape == (4, 5) and b.shape == (4, 4)  # twice the rank
    want = trained[f"{p}.lora_B.weight"] @ trained[f"{p}.lora_A.weight"] - shipped[f"{p}.lora_B.weight"] @ shipped[f"{p}.lora_A.weight"]
    assert torch.allclose(b @ a, want, atol=1e-5)


def test_no_reader_no_line(tmp_path: Path):
    from core.policy.shipped import load_reader

    assert load_reader(object(), tmp_path) is None  # nothing shipped there
    (tmp_path / "adapter_model.safetensors").write_bytes(b"x")
    (tmp_path / "card.json").write_text('{"base_fingerprint": "another-build"}')
    assert load_reader(object(), tmp_path) is None  # trained on another build of the default model


@pytest.fixture(scope="module")
def gemma_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.model_fixtures import tiny_gemma3

    return tiny_gemma3(tmp_path_factory.mktemp("gemma"))


def test_the_autonomous_tab_says_which_line_the_model_read():
    from core.assistant import Assistant
    from core.control.loop import ControlLoop, LoopConfig
    from core.conversation import Conversation
    from core.robot.sim import SimConfig, SimRobot

    class LineReader:  # a ModelService stand-in that reads a layout line
        loaded = object()
        layout = object()
        last_layout = None

        def stream(self, image, question, history):
            self.last_layout = "Left to right: bowl, red block. Near to far: red block, bowl."
            yield "red"

        def answer_route(self):
            return False, "the base model (no action adapter active), reading the object locator's layout line"

    loop = ControlLoop(lambda: SimRobot(SimConfig(image_size=32)), LoopConfig(hz=30))
    loop.start(seed=0)
    try:
        conv = Conversation()
        assistant = Assistant(loop, LineReader(), conv)  # type: ignore[arg-type]
        assistant.ask("Which block is furthest to the right?").join(5)
        assert conv.messages()[-1]["content"] == "red"
        assert assistant.last_path.endswith("it read: “Left to right: bowl, red block. Near to far: red block, bowl.”")
    finally:
        loop.close()
