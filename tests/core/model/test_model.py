"""Model layer: loader (tiny real classes, never a hub), precision selection, chat flow, LoRA merge."""

from __future__ import annotations

import os
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from core.model.chat import answer, build_messages, stream_answer
from core.model.loader import ModelNotAvailableError, load_model, merge_lora
from core.model.quantize import (
    CPU_DEFAULT,
    Int8Linear,
    PrecisionError,
    apply_precision,
    choose_precision,
    describe,
    load_kwargs,
)
from tests.model_fixtures import tiny_gemma3, tiny_paligemma

os.environ.setdefault("HF_HUB_OFFLINE", "1")
IMAGE = np.random.default_rng(0).integers(0, 255, size=(64, 64, 3), dtype=np.uint8)


# two blocks, bowl and plate; in the 224 px scenes red is at image (30, 200) and blue at (190, 20)
FAR_PIXELS = {"red block": (30.0, 200.0), "blue block": (190.0, 20.0), "bowl": (100.0, 100.0)}


def two_block_scene(pixels: dict | None = None, image: np.ndarray = IMAGE,
                    ee: tuple[float, float, float] = (0.4, 0.0, 0.15)) -> SimpleNamespace:
    """What `chat_sample` reads of a rendered scene; `pixels` empty: no block in view."""
    from core.types import ObjectState, SceneState

    state = SceneState(objects=(
        ObjectState("red block", "block", "red", (0.5, 0.2, 0.025)),
        ObjectState("blue block", "block", "blue", (0.6, -0.2, 0.025)),
        ObjectState("bowl", "bowl", "", (0.4, 0.0, 0.0)),
        ObjectState("plate", "plate", "", (0.6, 0.1, 0.0)),
    ))
    return SimpleNamespace(image=image, state=state, pixels=pixels or {}, ee=ee)


@pytest.fixture(scope="module")
def gemma_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_gemma3(tmp_path_factory.mktemp("tiny-gemma3"))


@pytest.fixture(scope="module")
def paligemma_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_paligemma(tmp_path_factory.mktemp("tiny-paligemma"))


def test_loads_tiny_gemma3_and_expands_the_image_token(gemma_dir: Path) -> None:
    loaded = load_model(gemma_dir, precision="fp32")
    assert type(loaded.model).__name__ == "Gemma3ForConditionalGeneration"
    assert loaded.device == "cpu" and loaded.precision == "fp32"
    proc = loaded.processor
    text = proc.apply_chat_template(build_messages("Is there a red block?"), add_generation_prompt=True,
                                    tokenize=False)
    assert text.startswith("<bos><start_of_turn>user\n<start_of_image>") and text.endswith("<start_of_turn>model\n")
    enc = proc(text=text, images=[IMAGE], add_special_tokens=False, return_tensors="pt")
    ids = enc["input_ids"][0].tolist()
    image_id = proc.tokenizer.convert_tokens_to_ids("<image_soft_token>")
    assert ids.count(image_id) == loaded.model.config.mm_tokens_per_image
    assert ids.count(proc.tokenizer.bos_token_id) == 1


def test_answer_and_stream_agree(gemma_dir: Path) -> None:
    loaded = load_model(gemma_dir, precision="fp32")
    history = [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "yes"}]
    text = answer(loaded, IMAGE, "How many blocks are there?", history, max_new_tokens=6)
    pieces = list(stream_answer(loaded, IMAGE, "How many blocks are there?", history, max_new_tokens=6))
    assert isinstance(text, str)
    assert "".join(pieces).strip() == text


def test_loads_a_second_real_class_without_chat_template(paligemma_dir: Path) -> None:
    loaded = load_model(str(paligemma_dir), precision="fp32")
    assert type(loaded.model).__name__ == "PaliGemmaForConditionalGeneration"
    assert isinstance(answer(loaded, IMAGE, "answer en what is this?", max_new_tokens=4), str)


@pytest.mark.parametrize("precision", ["bf16", "int8-head", "fp32-int8-head", "int8-weight", "int8-dynamic"])
def test_cpu_precisions_run(gemma_dir: Path, precision: str) -> None:
    loaded = load_model(gemma_dir, precision=precision)
    assert loaded.precision == precision
    assert isinstance(answer(loaded, IMAGE, "Is there a red block?", max_new_tokens=3), str)
    if "int8-" in precision and precision != "int8-dynamic":
        assert isinstance(loaded.model.lm_head, Int8Linear)
    if precision == "fp32-int8-head":  # the body stays fp32; only the head is int8
        body = loaded.model.get_input_embeddings().weight
        assert body.dtype == torch.float32 and loaded.model.lm_head.weight_int8.dtype == torch.int8


def test_missing_weights_raise_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelNotAvailableError, match="does not exist"):
        load_model(tmp_path / "nope")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelNotAvailableError, match="not available"):
        load_model("no-such-org/no-such-vlm")


def test_precision_selection_per_device() -> None:
    assert choose_precision("cpu") == CPU_DEFAULT
    assert choose_precision("cuda", bnb_available=True) == "nf4"
    assert choose_precision("cuda:1", bnb_available=False) == "bf16"
    assert choose_precision("cpu", "bf16") == "bf16"
    with pytest.raises(PrecisionError):
        choose_precision("cpu", "nf4")
    with pytest.raises(PrecisionError):
        choose_precision("cuda", "int8-head")
    with pytest.raises(PrecisionError):
        choose_precision("cuda", "fp32-int8-head")
    assert load_kwargs("fp32-int8-head", "cpu")["dtype"] == torch.float32
    with pytest.raises(PrecisionError):
        choose_precision("cpu", "fp8")
    kw = load_kwargs("nf4", "cuda")
    q = kw["quantization_config"]
    assert q.load_in_4bit and q.bnb_4bit_quant_type == "nf4" and kw["dtype"] == torch.bfloat16
    assert load_kwargs("fp32", "cpu")["dtype"] == torch.float32
    assert describe("int8-head", "cpu").startswith("CPU")


def test_int8_linear_is_close_to_fp32() -> None:
    torch.manual_seed(0)
    lin = torch.nn.Linear(64, 300)
    q = Int8Linear(lin)
    x = torch.randn(5, 64)
    ref = lin(x)
    got = q(x.to(torch.bfloat16)).float()
    assert (got - ref).abs().max() < 0.05 * ref.abs().max()
    assert (got.argmax(-1) == ref.argmax(-1)).float().mean() >= 0.8


def test_apply_precision_unties_only_the_head(gemma_dir: Path) -> None:
    from transformers import Gemma3ForConditionalGeneration

    model = Gemma3ForConditionalGeneration.from_pretrained(gemma_dir)
    emb = model.get_input_embeddings().weight.detach().clone()
    apply_precision(model, "int8-head")
    assert isinstance(model.lm_head, Int8Linear)
    assert torch.allclose(model.get_input_embeddings().weight.float(), emb.to(torch.bfloat16).float())


def test_int8_head_read_from_its_cache_multiplies_many_rows(gemma_dir: Path, tmp_path: Path) -> None:
    """The cached int8 head is copied to aligned memory: the CPU int8 kernel crashed on a safetensors
    mapping at an unaligned address once 4 or more rows were multiplied (ranking, prefill logits)."""
    from transformers import Gemma3ForConditionalGeneration

    from core.model.quantize import quantize_head

    cache = tmp_path / "head.safetensors"
    quantize_head(Gemma3ForConditionalGeneration.from_pretrained(gemma_dir), cache)  # writes the cache
    model = Gemma3ForConditionalGeneration.from_pretrained(gemma_dir)
    quantize_head(model, cache)  # reads it
    head = model.lm_head
    assert head.weight_int8.data_ptr() % 64 == 0 and head.scale.data_ptr() % 64 == 0
    x = torch.randn(2, 16, head.in_features, dtype=torch.bfloat16)
    rows = torch.stack([head(x[:, i : i + 1]) for i in range(16)], 1).squeeze(2)
    assert torch.allclose(head(x).float(), rows.float(), atol=1e-2)


def test_merge_lora_matches_peft() -> None:
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    base = torch.nn.Sequential(torch.nn.Linear(8, 8))
    ref = torch.nn.Sequential(torch.nn.Linear(8, 8))
    ref.load_state_dict(base.state_dict())
    peft_model = get_peft_model(ref, LoraConfig(r=2, lora_alpha=4, target_modules=["0"]))
    for n, p in peft_model.named_parameters():
        if "lora_B" in n:
            torch.nn.init.normal_(p)
    lora = {n.removeprefix("base_model.model.").replace(".default", ""): p.detach()
            for n, p in peft_model.named_parameters() if "lora_" in n}
    x = torch.randn(3, 8)
    want = peft_model(x)
    assert merge_lora(base, lora, r=2, alpha=4) == 1
    assert torch.allclose(base(x), want, atol=1e-5)


def test_chat_sample_labels_every_answer(gemma_dir: Path) -> None:
    from transformers import AutoProcessor

    from core.model.targets import IGNORE
    from recipes.default_model.chats import chat_sample

    scene = two_block_scene()

    proc = AutoProcessor.from_pretrained(gemma_dir)
    enc, kinds = chat_sample(proc, scene, random.Random(0))
    labels = enc["labels"][0]
    answered = proc.tokenizer.decode(labels[labels != IGNORE])
    assert answered.count("<end_of_turn>") == len(kinds) >= 8
    assert (enc["answer_id"][0] >= 0).sum() == (labels != IGNORE).sum()


def test_where_turns_name_each_blocks_image_third(gemma_dir: Path) -> None:
    from transformers import AutoProcessor

    from recipes.default_model.chats import chat_sample, position_words, where_questions

    assert position_words(10, 10, 224) == "back left" and position_words(200, 220, 224) == "front right"
    assert position_words(112, 112, 224) == "center" and position_words(112, 30, 224) == "back center"

    scene = two_block_scene(FAR_PIXELS, np.zeros((224, 224, 3), dtype=np.uint8))

    qas = {q.question: q.answer for q in where_questions(scene, random.Random(0))}
    assert qas == {"Where is the red block?": "front left", "Where is the blue block?": "back right"}
    proc = AutoProcessor.from_pretrained(gemma_dir)
    _, plain = chat_sample(proc, scene, random.Random(0))
    _, kinds = chat_sample(proc, scene, random.Random(0), where=True)
    # the position turns come after the scene questions: the first answer after the image is never a
    # position, and no relational question can read a block's place off an earlier answer
    assert kinds[-2:] == ["where", "where"] and kinds.count("where") == 2 and "where" not in plain
    assert kinds[:-2] == plain

    from transformers import Gemma3ForConditionalGeneration

    from recipes.default_model.stage2 import s2_evaluate

    model = Gemma3ForConditionalGeneration.from_pretrained(gemma_dir)
    acc = s2_evaluate(model, [chat_sample(proc, scene, random.Random(0), where=True)], proc.tokenizer.pad_token_id)
    assert "where" in acc and 0.0 <= acc["all"] <= 1.0  # "all" stays over the VQA kinds only

    # reach turns ("which way to the X block") come last too, and are scored as their own kind
    enc, kinds = chat_sample(proc, scene, random.Random(0), where=True, reach=True)
    assert kinds[-2:] == ["reach", "reach"] and kinds[:-2] == plain + ["where", "where"]
    acc = s2_evaluate(model, [(enc, kinds)], proc.tokenizer.pad_token_id)
    assert "reach" in acc and "where" in acc


def test_focus_chats_ask_only_relational_questions(gemma_dir: Path) -> None:
    from transformers import AutoProcessor

    from core.types import ObjectState, SceneState
    from recipes.default_model.chats import chat_sample
    from recipes.default_model.config import FOCUS_KINDS

    scene = two_block_scene()

    class EmptyScene:  # no blocks: no relational question to ask, so the full chat
        image = IMAGE
        state = SceneState(objects=(ObjectState("bowl", "bowl", "", (0.4, 0.0, 0.0)),
                                    ObjectState("plate", "plate", "", (0.6, 0.1, 0.0))))

    EmptyScene.pixels = {}
    proc = AutoProcessor.from_pretrained(gemma_dir)
    seen = set()
    for seed in range(12):
        _, kinds = chat_sample(proc, scene, random.Random(seed), focus=True)
        assert 1 <= len(kinds) <= 2 and set(kinds) <= set(FOCUS_KINDS)
        seen.update(kinds)
    assert len(seen) >= 3  # the short chats vary over the relational kinds
    _, full = chat_sample(proc, EmptyScene(), random.Random(0), focus=True)
    assert sorted(full) == sorted(chat_sample(proc, EmptyScene(), random.Random(0))[1]) and "count" in full


def test_attention_loss_points_at_the_answers_block_token(gemma_dir: Path) -> None:
    from transformers import AutoProcessor, Gemma3ForConditionalGeneration

    from core.model.scene_qa import QA
    from recipes.default_model.chats import answer_cells, chat_sample, collate
    from recipes.default_model.stage2 import answer_logits, attention_loss

    scene = two_block_scene(FAR_PIXELS, np.zeros((224, 224, 3), dtype=np.uint8))

    # red at column 0, row 3 -> token 12; blue at column 3, row 0 -> token 3 (row-major, as pooled)
    qas = [QA("where", "Where is the red block?", "front left"), QA("leftmost", "Which block is furthest to the left?", "blue"),
           QA("present", "Is there a blue block?", "yes"), QA("present", "Is there a green block?", "no"),
           QA("count", "How many blocks are there?", "2"), QA("side", "Is the blue block left or right of the bowl?", "left")]
    assert answer_cells(scene, qas) == [12, 3, 3, -1, -1, 3]
    assert answer_cells(scene, qas, grid=2) == [2, 1, 1, -1, -1, 1]  # the test model pools to 2x2

    proc = AutoProcessor.from_pretrained(gemma_dir)
    model = Gemma3ForConditionalGeneration.from_pretrained(gemma_dir)
    model.set_attn_implementation("eager")
    enc, kinds = chat_sample(proc, scene, random.Random(0), where=True)
    assert enc["answer_cell"].shape == (1, len(kinds)) and (enc["answer_cell"] >= 0).any()
    # short chats: the test model's sliding window (64 tokens) still holds the image at the answers
    batch = collate([chat_sample(proc, scene, random.Random(i), focus=True)[0] for i in range(2)],
                    proc.tokenizer.pad_token_id)
    attn: list = []
    answer_logits(model, batch, attn)
    heads = tuple((layer, 0) for layer in range(len(attn)))
    loss, mean_w = attention_loss(attn, batch, model.config.image_token_id, heads)
    assert torch.isfinite(loss) and 0.0 < mean_w < 1.0
    loss.backward()
    grads = [p.grad for n, p in model.named_parameters() if "q_proj" in n and p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)


def test_service_loads_in_background_and_reports_errors(gemma_dir: Path, tmp_path: Path) -> None:
    from core.policy.service import ModelNotReadyError, ModelService

    svc = ModelService(str(gemma_dir), precision="fp32")
    with pytest.raises(ModelNotReadyError):
        svc.answer(IMAGE, "hi")
    svc.start()
    status = svc.wait(60)
    assert status.state == "ready" and status.precision.startswith("CPU")
    assert isinstance("".join(svc.stream(IMAGE, "Is there a red block?", max_new_tokens=3)), str)
    bad = ModelService(str(tmp_path / "missing"))
    bad.start()
    assert bad.wait(60).state == "error" and "does not exist" in bad.status().message


def test_stage1_own_cell_loss_teaches_tokens_where_they_are(tmp_path: Path) -> None:
    """The stage-1 'own cell' head: its loss counts only with a weight, and a tiny tower trained on it
    learns to tell its grid tokens apart (the evaluation reads it as `self_pos`)."""
    import torch

    from core.model.assemble import VisionSpec
    from core.model.scenes import HELDOUT, TRAIN, SceneMaker
    from recipes.default_model.stage1 import TowerProbe, s1_batch, s1_evaluate, s1_loss

    torch.manual_seed(0)
    spec = VisionSpec(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                      image_size=56, patch_size=14, mm_tokens_per_image=16)
    probe = TowerProbe(spec, 0)
    maker = SceneMaker(image_size=56, seed=0)
    batch = s1_batch(maker, TRAIN, 0, 4)
    out = probe(batch["pixels"])
    assert out["pos"].shape == (4, 16, 16)
    base = s1_loss(out, batch, 1.0, 0.0)
    assert s1_loss(out, batch, 1.0, 0.5) > base
    batches = [s1_batch(maker, TRAIN, 8 * i, 8) for i in range(4)]
    evals = [s1_batch(maker, HELDOUT, 0, 8)]
    before = s1_evaluate(probe, evals, self_pos=True)["self_pos"]
    opt = torch.optim.Adam(probe.parameters(), 3e-3)
    for step in range(320):
        b = batches[step % 4]
        loss = s1_loss(probe(b["pixels"]), b, 0.0, 1.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = s1_evaluate(probe, evals, self_pos=True)
    assert after["self_pos"] >= 0.9 > before
    assert "self_pos" in s1_evaluate(probe, evals) and after["score"] != s1_evaluate(probe, evals)["score"]


def test_card_says_how_stage_2_chats_were_made() -> None:
    from dataclasses import asdict

    from recipes.default_model.card import render_card
    from recipes.default_model.config import BuildConfig

    def card(**over: float) -> str:
        cfg = BuildConfig(**over)
        return render_card({"seed": 0, "build_config": {k: v for k, v in asdict(cfg).items() if k != "spec"},
                            "heldout_teacher_forced_accuracy": {"all": 0.5}, "stage1": {}, "stage2_steps": 3,
                            "vision_spec_text": "x"})

    plain = card()
    assert "packed into one chat" in plain and "short chats" not in plain and "attention loss" not in plain
    both = card(s2_focus=0.5, s2_attn_weight=0.2)
    assert "50% of the batches short chats" in both and "attention loss (weight 0.2)" in both


def test_stage_1_refuses_a_checkpoint_of_another_grid(tmp_path: Path) -> None:
    from dataclasses import replace

    from core.model.assemble import VisionSpec
    from recipes.default_model.common import save_atomic
    from recipes.default_model.config import BuildConfig
    from recipes.default_model.stage1 import TowerProbe, stage1

    small = VisionSpec(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                       image_size=56, patch_size=14, mm_tokens_per_image=16)
    probe = TowerProbe(small, 0)
    save_atomic({"probe": probe.state_dict(), "opt": {}, "state": {"step": 3}}, tmp_path / "stage1.pt")
    cfg = BuildConfig(spec=replace(small, mm_tokens_per_image=4))
    with pytest.raises(SystemExit, match="another grid"):
        stage1(cfg, None, tmp_path)
