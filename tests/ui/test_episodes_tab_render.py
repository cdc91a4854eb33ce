"""Episodes tab rendering: the timeline HTML (seek targets, escaping of user-corrected text), the info
and version lines, and the video check that keeps a corrupt file out of the player."""

from __future__ import annotations

import re

from core.language.spec import SPEC_VERSION, Chunk
from core.language.verbalize import Subtask, Verbalization
from core.recording import Recorder, RecorderConfig
from core.recording.synthetic import synthetic_tick
from core.review import build_timeline
from core.review.browse import CurrentVerbalization, playable_videos
from core.store import StoreConfig, open_store
from core.store import episodes as E
from ui.episodes_tab import esc, subtask_choices, timeline_html, version_markdown


def _verb(text: str = "grasp the red block", plan: str = "move forward") -> Verbalization:
    a = Subtask(text, plan, (Chunk(2.0, 0.0, 0.0, 1, steps=(0, 5)), Chunk(0.0, 0.0, 0.0, 0, steps=(5, 9))), (0, 9))
    b = Subtask("lift it", "move up", (Chunk(0.0, 0.0, 2.5, 0, steps=(9, 14)),), (9, 15), 0)
    return Verbalization(SPEC_VERSION, None, (a, b), False, 15)


def test_timeline_html_has_seek_targets_per_entry_and_subtask() -> None:
    tl = build_timeline(_verb(), [i / 10 for i in range(15)], list(range(15)), 10.0)
    out = timeline_html(tl, 1.5)
    seeks = [float(x) for x in re.findall(r'class="tl-chunk" data-seek="([0-9.]+)"', out)]
    assert seeks == [0.025, 0.525, 0.925]
    assert out.count('class="tl-seg"') == 3 and out.count('class="tl-subbtn"') == 2
    assert 'data-duration="1.500"' in out and "Plan: move forward" in out


def test_timeline_html_escapes_user_text_and_template_syntax() -> None:
    tl = build_timeline(_verb('<img src=x onerror="alert(1)">', "${alert(2)} {{x}}"), [0.0] * 15, [-1] * 15, 10.0)
    out = timeline_html(tl, None)
    assert "<img" not in out and "${" not in out and "{{" not in out
    assert "&lt;img" in out and "&#36;&#123;alert(2)&#125;" in out
    assert esc("a&b") == "a&amp;b"


def test_timeline_html_without_language_or_times() -> None:
    assert "No language" in timeline_html([], None)
    no_range = Verbalization(SPEC_VERSION, None, (Subtask("x", "y", (Chunk(1.0, 0, 0, 1),), (0, 0)),))
    out = timeline_html(build_timeline(no_range, [], [], 30.0), None)
    assert "disabled" in out and "tl-bar" not in out


def test_version_line_and_subtask_choices() -> None:
    cur = CurrentVerbalization(_verb(), 2, SPEC_VERSION, ((1, SPEC_VERSION, "recorded"), (2, SPEC_VERSION,
                                                                                         "correction of v1")))
    line = version_markdown(cur)
    assert "v2" in line and "v1 (recorded), v2 (correction of v1)" in line
    assert subtask_choices(cur) == [("1. grasp the red block", 0), ("2. lift it", 1)]
    none = CurrentVerbalization(None, 0, None, problem="no verbalization stored")
    assert "none" in version_markdown(none) and subtask_choices(none) == []


def test_corrupt_video_is_reported_not_played(tmp_path) -> None:
    store = open_store(StoreConfig(recordings_dir=tmp_path / "rec"))
    try:
        rec = Recorder(store, RecorderConfig(flush_interval_s=0.1, min_free_bytes=1))
        eid = rec.start("wave", seed=0, robot="sim", cameras=("front", "wrist"))
        for i in range(12):
            rec.on_tick(*synthetic_tick(i, size=32))
        assert rec.stop(True).ok
        ep = E.get_episode(store, eid)
        ok, problems = playable_videos(ep)
        assert [v.camera for v in ok] == ["front", "wrist"] and problems == []
        ep.videos[0].path.write_bytes(b"\x00" * 64)  # front.mp4 overwritten with garbage
        ok, problems = playable_videos(E.get_episode(store, eid))
        assert [v.camera for v in ok] == ["wrist"] and "front video cannot be read" in problems[0]
    finally:
        store.close()
