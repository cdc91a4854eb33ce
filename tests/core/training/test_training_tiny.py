"""Tiny random models for the training tests (from `tests.model_fixtures`, built from config, no hub),
and the tokenisation + loss path on a second VLM class without a chat template (PaliGemma)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from tests.model_fixtures import tiny_gemma3, tiny_paligemma

IMAGE_SIZE = 28


@lru_cache(maxsize=1)
def _gemma_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="tiny-gemma3-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return tiny_gemma3(path, image_size=IMAGE_SIZE)


def tiny_model_dir(path: Path) -> Path:
    """A tiny Gemma3ForConditionalGeneration + processor saved to `path` (like a real checkpoint)."""
    return tiny_gemma3(path, image_size=IMAGE_SIZE)


def tiny_processor():  # noqa: ANN201
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(_gemma_dir())


def tiny_model(processor=None, seed: int = 0):  # noqa: ANN001, ANN201
    """A fresh copy of the tiny model. Its projector is zero-initialised like the real class; it gets a
    seeded random init here so that images reach the language model."""
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(_gemma_dir())
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        proj = model.model.multi_modal_projector.mm_input_projection_weight
        proj.copy_(torch.randn(proj.shape, generator=gen) * proj.shape[0] ** -0.5)
    return model.eval()


def test_a_model_without_chat_template_trains_on_the_answer_only(tmp_path: Path) -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from core.training.collate import IGNORE, ChatEncoder, collate
    from core.training.data import TrainSample
    from core.training.trainer import AnswerLoss

    torch.set_num_threads(1)
    d = tiny_paligemma(tmp_path / "pali", image_size=IMAGE_SIZE)
    processor = AutoProcessor.from_pretrained(d)
    model = AutoModelForImageTextToText.from_pretrained(d)
    image = np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    sample = TrainSample("e", "actions", "What are the next actions?", "[[0.1, -0.5, 0.0, 1]]", 0, image)
    enc = ChatEncoder(processor)
    e = enc.encode(sample)
    answer = e["labels"] != IGNORE
    assert processor.tokenizer.decode(e["labels"][answer]).startswith(sample.target)
    assert not answer[: int(answer.nonzero()[0])].any()
    batch = collate([e, enc.encode(sample)], enc.pad_id)
    with torch.no_grad():
        ours, n = AnswerLoss(model)(batch)
        full = model(**batch).loss
    assert torch.allclose(ours / n, full, atol=1e-5)
