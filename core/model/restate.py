"""The restatement call: a command in any language -> the canonical English instruction the model ranks first.

Text only (the command's meaning does not depend on the frame), answered with the restater adapter
(`core.training.restater`) switched in for this call: `adapter_switched` activates it on the shared model
and puts back whatever was active before (another adapter, or adapters off), also on error. The ranking is
calibrated and gets the colour glosses of the command's words (`core.language.restate`), each one more
short ranking with the same adapter.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.language.restate import (
    NEUTRAL_COMMAND,
    NEUTRAL_WORD,
    calibrated,
    color_evidence,
    colors,
    gloss_prompt,
    gloss_words,
    instructions,
    restate_prompt,
    with_colors,
)
from core.model.rank import Ranked, rank_answers

log = logging.getLogger(__name__)


def text_messages(prompt: str, answer: str | None = None) -> list[dict]:
    """A text-only user turn (and the assistant's answer), in the Hugging Face chat format."""
    msgs: list[dict] = [{"role": "user", "content": [{"type": "text", "text": prompt}]}]
    if answer is not None:
        msgs.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    return msgs


def text_inputs(model: Any, processor: Any, prompt: str) -> dict[str, Any]:
    """Chat-templated, text-only inputs for one user turn (no image)."""
    tok = getattr(processor, "tokenizer", processor)
    text = processor.apply_chat_template(text_messages(prompt), add_generation_prompt=True, tokenize=False)
    device = next(model.parameters()).device
    return {k: v.to(device) for k, v in tok(text, add_special_tokens=False, return_tensors="pt").items()}


def rank_instructions(model: Any, processor: Any, command: str) -> list[Ranked]:
    """The canonical instructions, most likely restatement of `command` first (with the active weights)."""
    tok = getattr(processor, "tokenizer", processor)
    ranked, _ = rank_answers(model, tok, text_inputs(model, processor, restate_prompt(command)), instructions())
    return ranked


@dataclass(frozen=True)
class RestatePrior:
    """The scores of content-free inputs (the calibration; they do not depend on the command, so they are
    computed once per loaded restater): each instruction for a content-free command, each colour for a
    content-free word."""
    instructions: dict[str, float]
    colors: dict[str, float]


def rank_colors(model: Any, processor: Any, word: str) -> dict[str, float]:
    """Each block colour's log-probability as the English meaning of `word` (with the active weights)."""
    tok = getattr(processor, "tokenizer", processor)
    ranked, _ = rank_answers(model, tok, text_inputs(model, processor, gloss_prompt(word)), colors())
    return {r.text: r.logprob for r in ranked}


def restate_prior(model: Any, processor: Any) -> RestatePrior:
    return RestatePrior({r.text: r.logprob for r in rank_instructions(model, processor, NEUTRAL_COMMAND)},
                        rank_colors(model, processor, NEUTRAL_WORD))


def restate(model: Any, processor: Any, command: str, prior: RestatePrior | None, gloss: bool = True
            ) -> list[Ranked]:
    """The calibrated ranking (`core.language.restate.calibrated`), plus each word's colour gloss
    (`with_colors`; skipped with `gloss` False, without a prior, or for a command without spaces):
    best restatement of `command` first."""
    scores = {r.text: r.logprob for r in rank_instructions(model, processor, command)}
    ranked = calibrated(scores, prior.instructions if prior is not None else None)
    if gloss and prior is not None:
        ranked = with_colors(ranked, gloss_evidence(model, processor, command, prior))
    return [Ranked(a, s) for a, s in ranked]


def gloss_evidence(model: Any, processor: Any, command: str, prior: RestatePrior) -> dict[str, float] | None:
    """`core.language.restate.color_evidence` from glossing each word of `command` alone; None for a
    command without spaces between words."""
    words = gloss_words(command)
    if not words:
        return None
    return color_evidence({w: rank_colors(model, processor, w) for w in words}, prior.colors)


def load_shipped_side(model: Any, folder: Path, name: str, what: str, rebuild: str, missing: str) -> str | None:
    """Load a side adapter shipped for the default model (the restater, the scene reader) beside the model's
    adapters, not active. `name`, or None with a logged reason: not shipped (`missing` says what happens
    then), trained on another build of the default model (`rebuild`: the command that rebuilds it), or not
    loadable on this model (e.g. int8 layers that take no LoRA)."""
    from core.training.adapters import AdapterError, read_card
    from core.training.default_adapter import base_fingerprint

    if not (Path(folder) / "adapter_model.safetensors").is_file():
        log.info("no %s shipped: %s", what, missing)
        return None
    if read_card(folder).get("base_fingerprint") != base_fingerprint():
        log.warning("the shipped %s was trained on another build of the default model; not loaded (rebuild it: %s)",
                    what, rebuild)
        return None
    try:
        load_side_adapter(model, folder, name)
    except (AdapterError, OSError, ValueError, KeyError) as exc:
        log.warning("cannot load the shipped %s: %s", what, exc)
        return None
    return name


def _active(model: Any) -> tuple[list[str], bool]:
    """(active adapter names, adapters enabled?) of a transformers model with PEFT adapters."""
    try:
        names = list(model.active_adapters())
    except ValueError:  # no adapter loaded
        names = []
    from peft.tuners.tuners_utils import BaseTunerLayer

    enabled = any(not m.disable_adapters for m in model.modules() if isinstance(m, BaseTunerLayer))
    return names, enabled


def _restore(model: Any, names: list[str], enabled: bool, without: str | None = None) -> None:
    """Make `names` (minus `without`) the active adapters again, and switch adapters off if they were off."""
    keep = [n for n in names if n != without]
    if keep:
        model.set_adapter(keep[0] if len(keep) == 1 else keep)
    if not enabled or not keep:
        model.disable_adapters()


@contextlib.contextmanager
def adapter_switched(model: Any, name: str) -> Iterator[None]:
    """Run `name` (a loaded adapter) for the calls inside, then restore the previous adapter state."""
    if name not in (getattr(model, "peft_config", None) or {}):
        raise KeyError(f"adapter {name!r} is not loaded on this model")
    names, enabled = _active(model)
    model.set_adapter(name)
    model.enable_adapters()
    try:
        yield
    finally:
        _restore(model, names, enabled, without=name)


def load_side_adapter(model: Any, path: str | Path, name: str) -> bool:
    """Load an adapter folder next to the others without making it active (the restater is only switched
    in per call). Returns False when it was already loaded."""
    from core.training.adapters import validate_adapter_dir

    if name in (getattr(model, "peft_config", None) or {}):
        return False
    validate_adapter_dir(path)
    names, enabled = _active(model) if getattr(model, "_hf_peft_config_loaded", False) else ([], False)
    model.load_adapter(str(path), adapter_name=name)
    _restore(model, names, enabled, without=name)
    return True
