"""Adapters side by side (the action adapter, the restater, the scene reader): loading one after another
prints no load report calling the earlier ones' weights missing, and an adapter really missing weights
is refused. A tiny Gemma-3 VLM (the real class)."""

from __future__ import annotations

import logging

import pytest
from safetensors.torch import load_file, save_file

from core.model.adapters import load_adapter_weights, load_side_adapter
from core.model.errors import AdapterError
from tests.model_fixtures import tiny_gemma3


def _adapter(base, out, seed: int):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Gemma3ForConditionalGeneration

    from core.training.config import lora_target_regex

    torch.manual_seed(seed)
    m = Gemma3ForConditionalGeneration.from_pretrained(base)
    pm = get_peft_model(m, LoraConfig(r=4, lora_alpha=8, target_modules=lora_target_regex(), init_lora_weights=False))
    pm.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("side")
    base = tiny_gemma3(tmp / "tiny")
    return base, _adapter(base, tmp / "first", 1), _adapter(base, tmp / "second", 2)


def test_second_adapter_loads_without_a_false_missing_report(folders, capfd, caplog):
    import torch
    from transformers import Gemma3ForConditionalGeneration

    base, first, second = folders
    model = Gemma3ForConditionalGeneration.from_pretrained(base)
    caplog.set_level(logging.INFO)
    load_adapter_weights(model, first, "first")
    assert load_side_adapter(model, second, "second")
    out = capfd.readouterr()
    text = out.out + out.err + caplog.text
    assert "LOAD REPORT" not in text and "MISSING" not in text
    # both adapters hold their own trained weights (nothing re-initialised)
    saved = load_file(str(second / "adapter_model.safetensors"))
    params = dict(model.named_parameters())
    key = next(k for k in saved if "lora_B" in k)
    live = params[key.removeprefix("base_model.model.").replace("lora_B.weight", "lora_B.second.weight")]
    assert torch.equal(live.detach(), saved[key].to(live.dtype))
    assert any(".first." in k for k in params)


def test_an_adapter_missing_its_own_weights_is_refused(folders, tmp_path):
    import shutil

    from transformers import Gemma3ForConditionalGeneration

    base, first, _ = folders
    broken = tmp_path / "broken"
    shutil.copytree(first, broken)
    weights = load_file(str(broken / "adapter_model.safetensors"))
    dropped = next(k for k in weights if "lora_A" in k)
    save_file({k: v for k, v in weights.items() if k != dropped}, str(broken / "adapter_model.safetensors"))
    model = Gemma3ForConditionalGeneration.from_pretrained(base)
    with pytest.raises(AdapterError, match="lacks 1 of its weights"):
        load_adapter_weights(model, broken, "broken")
