"""bench/perf/load.py in small: a few signed-in viewers, the control loop keeps its rate, every stream flows."""

from __future__ import annotations

from bench.perf import load


def test_a_few_viewers_do_not_slow_the_control_loop():
    r = load.main(["--viewers", "4", "--seconds", "3"], write=False)
    assert r["errors"] == 0, r["error_samples"]
    assert r["login"] and r["viewers"] == 4 and r["streams_per_viewer"] == 2
    # rates are the benchmark's business (python bench/perf/load.py); here: the loop ran and every viewer got frames
    assert r["control_loop_hz"] > 0 and r["frame_fps_per_viewer"] > 0 and r["status_polls"] > 0
