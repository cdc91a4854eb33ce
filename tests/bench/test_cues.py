"""The word-check benchmark counts what it says (pure)."""

from bench.data.held_out_commands import COLOURS
from bench.eval.cues import measure


def test_measure_counts_exclusions_settled_kinds_and_fixed_object_refusals():
    table = {"en": {"pick": ("pick up the {c} block", "push the {c} block to the left", "lift the bowl",
                             "lift the {c} ball")}}
    r = measure(table, COLOURS)
    assert r["commands"] == 16  # four wordings x the four pick-up tasks
    # "push ... to the left" is not a pick-up; nor is "lift the bowl" (the bowl reads as put-in's place)
    assert r["excluded"] == 8
    assert r["fixture_refusals"] == 4  # "lift the bowl" moves a fixed object
    assert r["not_here_refusals"] == 4  # "lift the red ball": there is no ball
    assert r["settled"] == 1.0
    assert r["by_language"]["en"]["commands"] == 16
