"""The action language (spec v1): episodes -> subtasks, motion plans and action entries, and back.

Pure Python (no torch, no gradio, no numpy). See DESIGN.md, "The action language (v1)".
"""

from core.language.chunking import Verbalizer, chunk_steps
from core.language.parse import Block, ParseError, parse, parse_block, parse_list, parse_phrase, parse_subtasks
from core.language.plan import direction_words, motion_plan
from core.language.render import render_block, render_list, render_phrase
from core.language.spec import SPEC_VERSION, Chunk
from core.language.verbalize import Subtask, Verbalization, verbalize

__all__ = [
    "SPEC_VERSION",
    "Block",
    "Chunk",
    "ParseError",
    "Subtask",
    "Verbalization",
    "Verbalizer",
    "chunk_steps",
    "direction_words",
    "motion_plan",
    "parse",
    "parse_block",
    "parse_list",
    "parse_phrase",
    "parse_subtasks",
    "render_block",
    "render_list",
    "render_phrase",
    "verbalize",
]
