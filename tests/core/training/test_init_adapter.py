"""Continued training: a run's LoRA starts from a finished adapter's weights (`TrainConfig.init_adapter`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.training.config import TrainConfig
from core.training.errors import ModelLoadError
from core.training.model_io import add_lora
from tests.core.training.test_training_tiny import tiny_model


def _saved_adapter(tmp_path: Path, r: int = 4) -> tuple[Path, dict[str, torch.Tensor]]:
    """A LoRA with random (non-initial) weights saved as PEFT saves it, in fp16 like the shipped adapters."""
    peft_model = add_lora(tiny_model(), TrainConfig(lora_r=r, lora_alpha=2 * r))
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for n, p in peft_model.named_parameters():
            if "lora_" in n:
                p.copy_(torch.randn(p.shape, generator=gen).half().float())
    out = tmp_path / "start"
    peft_model.save_pretrained(out)
    from safetensors.torch import load_file, save_file

    weights = load_file(str(out / "adapter_model.safetensors"))
    save_file({k: v.half() for k, v in weights.items()}, str(out / "adapter_model.safetensors"))
    return out, {n: p.detach().clone() for n, p in peft_model.named_parameters() if "lora_" in n}


def test_the_lora_starts_from_the_given_adapter_and_trains(tmp_path: Path) -> None:
    folder, saved = _saved_adapter(tmp_path)
    fresh = add_lora(tiny_model(), TrainConfig(lora_r=4, lora_alpha=8))
    started = add_lora(tiny_model(), TrainConfig(lora_r=4, lora_alpha=8, init_adapter=str(folder)))
    own = dict(started.named_parameters())
    assert set(saved) <= set(own)
    for n, w in saved.items():
        assert torch.equal(own[n].detach(), w), n
        assert own[n].requires_grad and own[n].dtype == torch.float32
    # a fresh LoRA's B matrices are zero; the started one's are not
    b = next(n for n in saved if "lora_B" in n)
    assert torch.count_nonzero(dict(fresh.named_parameters())[b]) == 0
    assert torch.count_nonzero(own[b]) > 0


def test_an_adapter_of_another_rank_is_refused_with_the_reason(tmp_path: Path) -> None:
    folder, _ = _saved_adapter(tmp_path, r=4)
    with pytest.raises(ModelLoadError, match="does not fit"):
        add_lora(tiny_model(), TrainConfig(lora_r=8, lora_alpha=16, init_adapter=str(folder)))


def test_a_folder_that_is_no_adapter_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="start adapter"):
        add_lora(tiny_model(), TrainConfig(lora_r=4, lora_alpha=8, init_adapter=str(tmp_path / "empty")))
