"""Exceptions of `core.model`. The UI shows their messages as they are: keep them actionable."""

from __future__ import annotations


class AdapterError(ValueError):
    """An adapter folder is not a usable PEFT adapter (missing files, pickles, unsafe paths, another format),
    or it cannot go on this model (a precision whose layers take no LoRA)."""


__all__ = ["AdapterError"]
