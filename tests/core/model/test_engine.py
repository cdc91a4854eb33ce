"""The quantized text engine (`core.model.engine`) on a tiny random Gemma-3 VLM of the real architecture:
the plain-torch decoder equals transformers (image attended both ways, sliding window, dropped drafts),
the fp32 engine decodes exactly what transformers decodes, each int8 backend stays close to fp32, adapters
switch by picking their own merged copy, and the engine precisions load (or fall back) as documented."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from PIL import Image

from core.language.grammar import ActionListAcceptor
from core.model import gemma_text as gt
from core.model.constrained import constrained_generate, make_constraint
from core.model.engine import EngineError, EngineModel, QuantEngine
from core.model.engine_torch import fp32_backend, int8_backend
from core.model.loader import load_model
from tests.model_fixtures import tiny_gemma3

torch.set_num_threads(1)

# one sliding and one global layer, and a window shorter than the prompts, so both masks are exercised;
# queries scaled by head_dim ** -0.5 as in Gemma-3-270M (llama.cpp assumes it)
TEXT = {"layer_types": ["sliding_attention", "full_attention"], "sliding_window": 12, "query_pre_attn_scalar": 16}
QUESTION = "What are the next actions? red block gripper open closed"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tiny_gemma3(tmp_path_factory.mktemp("g3e"), **TEXT)
    loaded = load_model(str(path), "cpu", "fp32")
    return path, loaded


def _inputs(loaded, seed: int = 0, question: str = QUESTION) -> dict:
    from core.model.chat import prepare_inputs

    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 255, (28, 28, 3), dtype=np.uint8))
    return prepare_inputs(loaded, img, question)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b).norm(dim=-1) / b.norm(dim=-1).clamp(min=1e-6)).max())


def _with_lora(loaded, names: tuple[str, ...]) -> None:
    """Random (non-zero) LoRA adapters on every projection of the tiny language model."""
    from peft import LoraConfig

    for i, name in enumerate(names):
        torch.manual_seed(10 + i)
        cfg = LoraConfig(r=2, lora_alpha=4, init_lora_weights=False,
                         target_modules=r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)")
        loaded.model.add_adapter(cfg, adapter_name=name)


def test_the_torch_decoder_equals_transformers(tiny):
    path, loaded = tiny
    model = loaded.model
    inputs = _inputs(loaded)
    assert inputs["input_ids"].shape[1] > TEXT["sliding_window"]  # the window cuts in
    engine = QuantEngine(loaded, fp32_backend, "fp32", reuse=False)
    em = engine.model_for(None)
    with torch.inference_mode():
        ref = model.model(**inputs, use_cache=True)
        ours = em.model(**inputs)
    assert _rel(ours.last_hidden_state[0], ref.last_hidden_state[0]) < 1e-4
    # later passes: two tokens, then one dropped (a rejected draft) and another in its place
    with torch.inference_mode():
        r2 = model.model(input_ids=torch.tensor([[5, 7]]), past_key_values=ref.past_key_values, use_cache=True)
        o2 = em.model(input_ids=torch.tensor([[5, 7]]), past_key_values=ours.past_key_values)
        assert _rel(o2.last_hidden_state[0], r2.last_hidden_state[0]) < 1e-4
        o2.past_key_values.crop(-1)
        o3 = em.model(input_ids=torch.tensor([[9]]), past_key_values=o2.past_key_values)
        fresh = model.model(**inputs, use_cache=True)  # transformers cannot drop positions past its window
        r3 = model.model(input_ids=torch.tensor([[5, 9]]), past_key_values=fresh.past_key_values, use_cache=True)
    assert _rel(o3.last_hidden_state[0], r3.last_hidden_state[0, -1:]) < 1e-4


def test_the_image_span_attends_both_ways(tiny):
    """Without the bidirectional span the prefill differs (so the check above would catch a causal image)."""
    _, loaded = tiny
    inputs = _inputs(loaded)
    engine = QuantEngine(loaded, fp32_backend, "fp32", reuse=False).model_for(None)
    with torch.inference_mode():
        both = engine.model(**inputs).last_hidden_state[0]
        causal = engine.model(**{k: v for k, v in inputs.items() if k != "token_type_ids"}).last_hidden_state[0]
    assert _rel(causal, both) > 1e-3


def _decode(model, loaded, inputs, draft: int = 16):
    tok = loaded.processor.tokenizer
    acc = ActionListAcceptor(max_entries=3)
    c = make_constraint(tok, acc)
    return constrained_generate(model, tok, inputs, acc, max_new_tokens=80, constraint=c, draft=draft)


def test_fp32_engine_decodes_what_transformers_decodes(tiny):
    _, loaded = tiny
    em = QuantEngine(loaded, fp32_backend, "fp32").model_for(None)
    for seed in range(3):
        inputs = _inputs(loaded, seed)
        ref = _decode(loaded.model, loaded, inputs)
        for draft in (0, 16):
            assert _decode(em, loaded, inputs, draft).token_ids == ref.token_ids
    tok = loaded.processor.tokenizer
    acc = ActionListAcceptor(max_entries=3)
    full = constrained_generate(em, tok, inputs, acc, max_new_tokens=80, restrict_head=False)
    assert full.token_ids == ref.token_ids  # the engine also gives full logits


def _backends():
    out = [pytest.param(int8_backend, id="torch-int8")]
    if importlib.util.find_spec("openvino") is not None:
        from core.model.engine_openvino import openvino_backend

        out.append(pytest.param(openvino_backend(None), id="ov-int8"))
    else:
        out.append(pytest.param(None, id="ov-int8", marks=pytest.mark.skip(reason="openvino not installed")))
    if importlib.util.find_spec("llama_cpp") is not None:
        out.append(pytest.param("llama", id="llama-q8"))
    else:
        out.append(pytest.param(None, id="llama-q8", marks=pytest.mark.skip(reason="llama-cpp-python not installed")))
    return out


@pytest.mark.parametrize("factory", _backends())
def test_int8_backends_stay_close_to_fp32(tiny, tmp_path, factory):
    """Hidden states within a few percent of fp32; next-token choices teacher-forced along the fp32 answer
    (over the full vocabulary of the tiny model) agree at least 90% of the time."""
    _, loaded = tiny
    if factory == "llama":
        from core.model.engine_llama import llama_backend

        factory = llama_backend(tmp_path)
    ref = QuantEngine(loaded, fp32_backend, "fp32", reuse=False).model_for(None)
    q = QuantEngine(loaded, factory, "int8", reuse=False).model_for(None)
    table = ref.get_output_embeddings().weight
    agree = total = 0
    for seed in range(4):
        inputs = _inputs(loaded, seed)
        answer = _decode(ref, loaded, inputs).token_ids
        ids = torch.cat([inputs["input_ids"], torch.tensor([answer])], dim=1)
        full = {**inputs, "input_ids": ids, "attention_mask": torch.ones_like(ids),
                "token_type_ids": torch.cat([inputs["token_type_ids"], torch.zeros(1, len(answer), dtype=torch.long)], 1)}
        with torch.inference_mode():
            h_ref = ref.model(**full).last_hidden_state[0]
            h_q = q.model(**full).last_hidden_state[0]
        assert _rel(h_q, h_ref) < 0.05
        n = inputs["input_ids"].shape[1] - 1
        agree += int(((h_q[n:] @ table.T).argmax(-1) == (h_ref[n:] @ table.T).argmax(-1)).sum())
        total += len(answer) + 1
    assert agree / total >= 0.9


def test_each_adapter_has_its_own_copy(tiny_adapters):
    loaded = tiny_adapters
    from core.model.adapters import active_adapter

    engine = QuantEngine(loaded, fp32_backend, "fp32", reuse=False)
    inputs = _inputs(loaded, 1)
    outs = {}
    for name in ("a", "b"):
        loaded.model.set_adapter(name)
        loaded.model.enable_adapters()
        assert active_adapter(loaded) == name
        em = engine.current()
        with torch.inference_mode():
            ref = loaded.model.model(**inputs).last_hidden_state[0]
            ours = em.model(**inputs).last_hidden_state[0]
        assert _rel(ours, ref) < 1e-4  # the merged copy computes what transformers computes with the LoRA on
        outs[name] = (em, ours)
    assert _rel(outs["a"][1], outs["b"][1]) > 1e-3  # the adapters do differ
    loaded.model.set_adapter("a")
    assert engine.current() is outs["a"][0]  # switching back: the same copy, nothing merged again
    loaded.model.disable_adapters()
    with torch.inference_mode():
        base = engine.current().model(**inputs).last_hidden_state[0]
        ref = loaded.model.model(**inputs).last_hidden_state[0]
    assert _rel(base, ref) < 1e-4
    loaded.model.enable_adapters()


@pytest.fixture
def tiny_adapters(tmp_path):
    path = tiny_gemma3(tmp_path / "m", **TEXT)
    loaded = load_model(str(path), "cpu", "fp32")
    _with_lora(loaded, ("a", "b"))
    return loaded


def test_an_engine_precision_routes_the_policy_through_the_engine(tmp_path):
    from core.model.engine import engine_view

    loaded = load_model(str(tiny_gemma3(tmp_path / "m", **TEXT)), "cpu", "torch-int8")
    assert loaded.precision == "torch-int8" and "torch engine" in loaded.precision_label
    view = engine_view(loaded)
    assert isinstance(view.model, EngineModel) and view.processor is loaded.processor
    assert next(view.model.parameters()).dtype == torch.float32  # fp32 pixels for the engine's vision copy
    assert next(p for p in loaded.model.parameters() if p.dtype.is_floating_point).dtype == torch.bfloat16  # companion
    res = _decode(view.model, view, _inputs(view))
    assert res.text and res.finished


def test_an_engine_precision_falls_back_when_the_model_is_not_gemma3(tmp_path):
    from tests.model_fixtures import tiny_paligemma

    loaded = load_model(str(tiny_paligemma(tmp_path / "p")), "cpu", "torch-int8")
    assert loaded.precision == "int8-head" and "Gemma-3" in loaded.info["engine_error"]
    with pytest.raises(EngineError):
        QuantEngine(loaded, fp32_backend, "x")


def test_engine_precisions_are_cpu_only():
    from core.model.quantize import PrecisionError, choose_precision

    assert choose_precision("cpu", "ov-int8") == "ov-int8"
    for p in ("ov-int8", "llama-q8", "torch-int8"):
        with pytest.raises(PrecisionError):
            choose_precision("cuda", p)


def test_text_config_from_transformers(tiny):
    _, loaded = tiny
    c = gt.TextConfig.from_hf(loaded.model.config)
    assert c.sliding == (True, False) and c.window == 12 and c.kv_heads == 1 and c.query_scale == 0.25 and c.theta_global > c.theta_local


def test_a_prompt_that_starts_like_the_last_one_reuses_its_positions(tiny):
    """A cycle's action question shares the frame and its first words with the plan question: the engine
    keeps those positions and decodes exactly what it decodes from scratch."""
    _, loaded = tiny
    first = _inputs(loaded, 2, "Current subtask: grasp the red block. What is the motion plan?")
    second = _inputs(loaded, 2, "Current subtask: grasp the red block. Plan: move down. What are the next actions?")
    other_frame = _inputs(loaded, 3, "Current subtask: grasp the red block. Plan: move down. What are the next actions?")
    fresh = QuantEngine(loaded, fp32_backend, "fp32", reuse=False).model_for(None)
    reusing = QuantEngine(loaded, fp32_backend, "fp32").model_for(None)
    for inputs in (first, second, other_frame):
        ref = _decode(fresh, loaded, inputs)
        got = _decode(reusing, loaded, inputs)
        assert got.token_ids == ref.token_ids
        if inputs is second:
            image_end = int((inputs["token_type_ids"][0] == 1).nonzero()[-1]) + 1
            assert reusing.model.reused > image_end  # the image and the shared words were kept
        else:
            assert reusing.model.reused < int((inputs["token_type_ids"][0] == 1).nonzero()[0]) + 1


def test_without_openvino_the_cpu_default_falls_back_and_says_why(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` raises ImportError
    loaded = load_model(str(tiny_gemma3(tmp_path / "m", **TEXT)), "cpu", "ov-int8")
    assert loaded.precision == "int8-head" and "engine" not in loaded.info
    assert "openvino is not installed" in loaded.info["engine_error"]
    assert "ov-int8 not available: openvino is not installed" in loaded.precision_label  # what the UI shows


def test_the_cpu_default_is_the_openvino_engine_and_cuda_keeps_nf4():
    from core.model.quantize import CPU_DEFAULT, choose_precision, load_kwargs

    assert CPU_DEFAULT == "ov-int8" and choose_precision("cpu") == "ov-int8"
    assert choose_precision("cuda", bnb_available=True) == "nf4"
    assert load_kwargs("ov-int8", "cpu")["dtype"] == torch.bfloat16  # the companion int8-head's body
