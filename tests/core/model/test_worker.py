"""The model thread (core.model.worker): results, errors, ordering, and re-entrant calls."""

import threading

import pytest

from core.model import worker


def test_runs_on_one_long_lived_thread_and_returns_results():
    names = {worker.run(lambda: threading.current_thread().name) for _ in range(3)}
    assert names == {"model"}
    assert worker.run(lambda a, b=0: a + b, 2, b=3) == 5
    assert not worker.on_model_thread()


def test_exception_is_raised_in_the_caller():
    def boom():
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        worker.run(boom)
    assert worker.run(lambda: "still serving") == "still serving"


def test_nested_run_is_direct_and_submit_from_inside_refuses():
    def outer():
        inner = worker.run(lambda: threading.current_thread().name)
        with pytest.raises(RuntimeError, match="model thread"):
            worker.submit(lambda: None)
        return inner, worker.on_model_thread()

    assert worker.run(outer) == ("model", True)


def test_calls_from_many_threads_run_one_at_a_time_in_order_of_arrival():
    active, peak, lock = [0], [0], threading.Lock()

    def job(i):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        threading.Event().wait(0.01)
        with lock:
            active[0] -= 1
        return i

    out: list[int] = []
    threads = [threading.Thread(target=lambda i=i: out.append(worker.run(job, i))) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(out) == list(range(6)) and peak[0] == 1
