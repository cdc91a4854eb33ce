"""Assemble the embedded default VLM: Gemma-3-270M text + a small SigLIP tower + projector.

Recipe (verified, see the project's facts file): `Gemma3Config(text_config=270M, vision_config=small
SigLIP, mm_tokens_per_image=16)` at 224 px / patch 14 (16x16 patches, 4x4 average pooling covers the
whole frame); the causal LM's `model.*` weights load into `model.model.language_model` unchanged; the
zero-initialised `mm_input_projection_weight` must be re-initialised before training.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from core.model.text_lm import BOI_TOKEN, IMAGE_TOKEN_ID

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VisionSpec:
    """Size of the project-trained SigLIP tower and how its patch grid becomes LM tokens."""

    hidden_size: int = 256
    num_hidden_layers: int = 6
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    image_size: int = 224
    patch_size: int = 14
    mm_tokens_per_image: int = 16

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> VisionSpec:
        return cls(**json.loads(text))


def siglip_config(spec: VisionSpec):  # noqa: ANN201 - a transformers config
    """The SigLIP tower's config for `spec` (no pooling head: Gemma-3 projects the patch grid)."""
    from transformers import SiglipVisionConfig

    return SiglipVisionConfig(
        hidden_size=spec.hidden_size,
        num_hidden_layers=spec.num_hidden_layers,
        num_attention_heads=spec.num_attention_heads,
        intermediate_size=spec.intermediate_size,
        image_size=spec.image_size,
        patch_size=spec.patch_size,
        vision_use_head=False,
    )


def vlm_config(text_config, spec: VisionSpec):  # noqa: ANN001, ANN201 - transformers configs
    from transformers import Gemma3Config

    vision = siglip_config(spec)
    tc = text_config.to_dict()
    for key in ("architectures", "_name_or_path", "transformers_version", "dtype", "torch_dtype"):
        tc.pop(key, None)
    return Gemma3Config(
        text_config=tc,
        vision_config=vision.to_dict(),
        mm_tokens_per_image=spec.mm_tokens_per_image,
        image_token_index=IMAGE_TOKEN_ID,
        boi_token_index=255999,
        eoi_token_index=256000,
    )


def new_tower(spec: VisionSpec, seed: int = 0):  # noqa: ANN201
    """A randomly initialised SiglipVisionModel of the given size (stage-1 starting point)."""
    from transformers import SiglipVisionModel

    torch.manual_seed(seed)
    return SiglipVisionModel(siglip_config(spec))


def build_vlm(text_dir: Path, spec: VisionSpec, dtype: torch.dtype = torch.float32):  # noqa: ANN201
    """A Gemma3ForConditionalGeneration with the cached Gemma-3-270M text weights and a fresh tower."""
    from safetensors.torch import load_file
    from transformers import AutoConfig, Gemma3ForConditionalGeneration

    text_config = AutoConfig.from_pretrained(text_dir)
    config = vlm_config(text_config, spec)
    from accelerate import init_empty_weights

    with init_empty_weights(include_buffers=False):  # parameters on meta, buffers (rotary, scales) real
        model = Gemma3ForConditionalGeneration(config)
    state = load_file(str(Path(text_dir) / "model.safetensors"))
    lm_state = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}
    missing, unexpected = model.model.language_model.load_state_dict(lm_state, strict=False, assign=True)
    if unexpected or missing:
        raise RuntimeError(f"text weights do not match: missing={missing} unexpected={unexpected}")
    model.model.vision_tower.load_state_dict(new_tower(spec).state_dict(), assign=True)
    proj = model.model.multi_modal_projector
    proj_state = {
        "mm_input_projection_weight": torch.randn(spec.hidden_size, text_config.hidden_size) * spec.hidden_size**-0.5,
        "mm_soft_emb_norm.weight": torch.zeros(spec.hidden_size),  # Gemma RMSNorm scales by (1 + w)
    }
    proj.load_state_dict(proj_state, assign=True)
    model.lm_head.weight = model.model.language_model.embed_tokens.weight
    meta = [n for n, p in model.named_parameters() if p.is_meta]
    if meta:
        raise RuntimeError(f"parameters left uninitialised: {meta[:5]}")
    model.eval()
    return model.to(dtype)


def build_processor(text_dir: Path, spec: VisionSpec):  # noqa: ANN201
    """Gemma3Processor = Gemma3ImageProcessorPil + the fixed Gemma tokenizer + its chat template."""
    from transformers import AutoTokenizer, Gemma3ImageProcessorPil, Gemma3Processor

    tokenizer = AutoTokenizer.from_pretrained(text_dir)
    image_processor = Gemma3ImageProcessorPil(
        size={"height": spec.image_size, "width": spec.image_size},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
        do_pan_and_scan=False,
    )
    return Gemma3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        chat_template=tokenizer.chat_template,
        image_seq_length=spec.mm_tokens_per_image,
    )


__all__ = ["VisionSpec", "vlm_config", "new_tower", "build_vlm", "build_processor", "BOI_TOKEN"]
