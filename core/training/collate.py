"""Tokenising samples for training: whole chat-templated strings, labels only on the answer.

A sample is rendered with the model's chat template twice: the prompt with the generation prompt (P)
and the whole exchange (F). Both go through the processor as whole strings (piecewise tokenising
differs, e.g. Gemma's "user\\n\\n\\n" is one token). The answer's tokens are those of F after the
tokens of P; labels are -100 everywhere else, and trailing whitespace after the end-of-turn token is
not trained. With the actions-as-tokens baseline, an action answer is spliced in as codec ids
followed by the template's end-of-turn tokens.

`collate` right-pads a list of encoded samples into a batch; non-sequence processor outputs
(`pixel_values`, `image_grid_thw`, ...) are concatenated along their first dimension.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from core.language import ParseError, parse_list
from core.language.decisions import decision_spans
from core.training.action_tokens import ActionTokenCodec
from core.training.data import TrainSample
from core.training.errors import DataError

log = logging.getLogger(__name__)

IGNORE = -100
SEQUENCE_KEYS = ("input_ids", "attention_mask", "token_type_ids", "mm_token_type_ids", "labels", "loss_weights")
_DUMMY = "x"


def _pil(image: np.ndarray):  # noqa: ANN202
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))


class ChatEncoder:
    """Turns `TrainSample`s into model inputs with answer-only labels, for one processor.

    `codec` switches action answers to the actions-as-tokens baseline. Samples longer than
    `max_length` tokens raise `DataError` (answers are never truncated). With `decision_weight` != 1,
    the tokens of an action answer's decision entries (`core.language.decisions`) get that loss weight
    and every other answer token 1, in a `loss_weights` tensor beside `labels`.
    """

    def __init__(self, processor: Any, codec: ActionTokenCodec | None = None, max_length: int = 2048,
                 decision_weight: float = 1.0) -> None:
        self.processor = processor
        self.decision_weight = decision_weight
        self.tokenizer = getattr(processor, "tokenizer", processor)
        self.codec = codec
        self.max_length = max_length
        self.has_template = bool(getattr(processor, "chat_template", None))
        self.pad_id = self.tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = self.tokenizer.eos_token_id if self.tokenizer.eos_token_id is not None else 0
        self._end_ids: list[int] | None = None
        self._warned = False

    # ---- text rendering -----------------------------------------------------------------------------
    def prompt_text(self, prompt: str) -> str:
        msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
        return self.processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)

    def full_text(self, prompt: str, answer: str) -> str:
        msgs = [
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]},
            {"role": "assistant", "content": [{"type": "text", "text": answer}]},
        ]
        return self.processor.apply_chat_template(msgs, tokenize=False)

    def _process(self, text: str, image: np.ndarray) -> dict[str, torch.Tensor]:
        enc = self.processor(text=text, images=[_pil(image)], add_special_tokens=False, return_tensors="pt")
        return {k: v for k, v in enc.items() if isinstance(v, torch.Tensor)}

    def end_ids(self) -> list[int]:
        """Tokens the template puts after an assistant answer that are trained (e.g. `<end_of_turn>`)."""
        if self._end_ids is None:
            p = self.prompt_text("q")
            f = self.full_text("q", _DUMMY)
            if not f.startswith(p + _DUMMY):
                raise DataError("the chat template does not end the prompt where the answer starts")
            tail = f[len(p) + len(_DUMMY):]
            ids = self.tokenizer.encode(tail, add_special_tokens=False) if tail else []
            self._end_ids = self._strip_trailing_ws(ids)
        return self._end_ids

    def _strip_trailing_ws(self, ids: list[int]) -> list[int]:
        ids = list(ids)
        while ids and not self.tokenizer.decode([ids[-1]]).strip():
            ids.pop()
        return ids

    # ---- encoding -----------------------------------------------------------------------------------
    def prompt_inputs(self, sample: TrainSample) -> dict[str, torch.Tensor]:
        """Inputs for generating the answer to `sample` (batch of one)."""
        if not self.has_template:
            enc = self.processor(text=sample.prompt, images=[_pil(sample.image)], return_tensors="pt")
            return {k: v for k, v in enc.items() if isinstance(v, torch.Tensor)}
        return self._process(self.prompt_text(sample.prompt), sample.image)

    def uses_codec(self, sample: TrainSample) -> bool:
        return self.codec is not None and sample.kind == "actions"

    def encode(self, sample: TrainSample) -> dict[str, torch.Tensor]:
        """Inputs + `labels` for one sample; sequence tensors are 1-D, the others keep batch dim 1."""
        if not self.has_template:
            return self._encode_suffix(sample)
        p = self._process(self.prompt_text(sample.prompt), sample.image)
        p_ids = p["input_ids"][0]
        if self.uses_codec(sample):
            try:
                chunks = parse_list(sample.target)
            except ParseError as exc:
                raise DataError(f"{sample.episode} step {sample.step}: action target does not parse: {exc}") from exc
            answer = torch.tensor(self.codec.encode(chunks) + self.end_ids(), dtype=p_ids.dtype)  # type: ignore[union-attr]
            out = {k: (v[0] if k in SEQUENCE_KEYS else v) for k, v in p.items()}
            n = answer.shape[0]
            out["input_ids"] = torch.cat([p_ids, answer])
            for key in ("attention_mask",):
                if key in out:
                    out[key] = torch.cat([out[key], torch.ones(n, dtype=out[key].dtype)])
            for key in ("token_type_ids", "mm_token_type_ids"):
                if key in out:
                    out[key] = torch.cat([out[key], torch.zeros(n, dtype=out[key].dtype)])
            labels = torch.full_like(out["input_ids"], IGNORE)
            labels[len(p_ids):] = answer
            out["labels"] = labels
        else:
            f = self._process(self.full_text(sample.prompt, sample.target), sample.image)
            f_ids = f["input_ids"][0]
            start = len(p_ids)
            if len(f_ids) < start or not torch.equal(f_ids[:start], p_ids):
                common = int((f_ids[: len(p_ids)] == p_ids[: len(f_ids)]).long().cumprod(0).sum())
                if common < start - 2:
                    raise DataError("the tokenised prompt is not a prefix of the tokenised exchange; "
                                    "this chat template is not supported for training")
                if not self._warned:
                    log.warning("prompt and answer tokens merge at the boundary; labels start at the merge")
                    self._warned = True
                start = common
            out = {k: (v[0] if k in SEQUENCE_KEYS else v) for k, v in f.items()}
            labels = torch.full_like(f_ids, IGNORE)
            keep = self._strip_trailing_ws(f_ids[start:].tolist())
            labels[start : start + len(keep)] = torch.tensor(keep, dtype=f_ids.dtype)
            out["labels"] = labels
            if self.decision_weight != 1.0 and sample.kind == "actions":
                weights = torch.zeros(labels.shape[0], dtype=torch.float32)
                weights[start : start + len(keep)] = torch.tensor(self._answer_weights(keep, sample.target))
                out["loss_weights"] = weights
        if out["input_ids"].shape[0] > self.max_length:
            raise DataError(f"{sample.episode} step {sample.step} ({sample.kind}): {out['input_ids'].shape[0]} "
                            f"tokens exceed max_length={self.max_length}")
        if int((out["labels"] != IGNORE).sum()) == 0:
            raise DataError(f"{sample.episode} step {sample.step} ({sample.kind}): empty answer")
        return out

    def _answer_weights(self, answer_ids: list[int], target: str) -> list[float]:
        """Per answer token: `decision_weight` where it overlaps a decision entry of `target`, else 1."""
        spans = decision_spans(target)
        text = self.tokenizer.decode(answer_ids)
        offset = max(0, text.find(target))
        ends = [len(self.tokenizer.decode(answer_ids[: j + 1])) - offset for j in range(len(answer_ids))]
        out, begin = [], -offset
        for end in ends:
            hit = any(begin < b and end > a for a, b in spans)
            out.append(self.decision_weight if hit else 1.0)
            begin = end
        return out

    def _encode_suffix(self, sample: TrainSample) -> dict[str, torch.Tensor]:
        """Processors without a chat template that build labels themselves (PaliGemma's `suffix`)."""
        if self.uses_codec(sample):
            raise DataError("the actions-as-tokens baseline needs a model with a chat template")
        try:
            enc = self.processor(text=sample.prompt, images=[_pil(sample.image)], suffix=sample.target,
                                 return_tensors="pt")
        except TypeError as exc:
            raise DataError("this processor has no chat template and does not accept `suffix`; "
                            "it cannot be fine-tuned here") from exc
        if "labels" not in enc:
            raise DataError("this processor has no chat template and produced no labels")
        return {k: (v[0] if k in SEQUENCE_KEYS else v) for k, v in enc.items() if isinstance(v, torch.Tensor)}


def collate(encoded: Sequence[dict[str, torch.Tensor]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad the sequence tensors; concatenate the others along dim 0."""
    if not encoded:
        raise DataError("cannot collate an empty batch")
    t = max(e["input_ids"].shape[0] for e in encoded)
    pad_value = {"input_ids": pad_id, "labels": IGNORE}
    if any("loss_weights" in e for e in encoded):  # unweighted samples of a weighted batch weigh 1
        encoded = [e if "loss_weights" in e else {**e, "loss_weights": (e["labels"] != IGNORE).float()}
                   for e in encoded]
    batch: dict[str, torch.Tensor] = {}
    for key in encoded[0]:
        if key in SEQUENCE_KEYS:
            batch[key] = torch.stack([F.pad(e[key], (0, t - e[key].shape[0]), value=pad_value.get(key, 0))
                                      for e in encoded])
        else:
            batch[key] = torch.cat([e[key] for e in encoded])
    return batch


def answer_token_count(batch: dict[str, torch.Tensor]) -> float:
    """Number of tokens that the loss is computed on (labels shifted by one); with `loss_weights`,
    their summed weight, so that the loss stays a (weighted) mean per token."""
    if "loss_weights" in batch:
        return float(batch["loss_weights"][:, 1:][batch["labels"][:, 1:] != IGNORE].sum())
    return int((batch["labels"][:, 1:] != IGNORE).sum())
