"""Gradio's queue must not rebuild its analytics summary after every event (docs/performance.md): the
variables that stop it are set before `gr.Blocks()` makes the queue, and Gradio still reads them."""

from __future__ import annotations

import os

import gradio as gr
import pytest

from ui import layout
from ui.server import quiet_gradio_analytics

NAMES = ("GRADIO_ANALYTICS_CACHE_FREQUENCY", "GRADIO_ANALYTICS_MAX_EVENTS")


class _Made(Exception):
    pass


def test_the_layout_quiets_the_analytics_before_it_makes_the_blocks(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    seen: dict[str, str | None] = {}

    def blocks(*_a, **_k):
        seen.update({n: os.environ.get(n) for n in NAMES})
        raise _Made

    monkeypatch.setattr(layout.gr, "Blocks", blocks)
    with pytest.raises(_Made):
        layout.build_blocks(None)  # type: ignore[arg-type] - stops where the blocks are made
    assert int(seen[NAMES[0]] or 0) >= 10**6 and int(seen[NAMES[1]] or 0) <= 1000


def test_gradio_reads_those_variables_when_it_makes_the_queue(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    quiet_gradio_analytics()
    queue = gr.Blocks()._queue
    assert queue.ANAYLTICS_CACHE_FREQUENCY >= 10**6 and queue.ANALYTICS_MAX_EVENTS <= 1000
