"""The model thread: one long-lived thread that runs every model computation of the process.

Why one thread: torch's CPU kernels run on OpenMP (libgomp). Each thread that runs a parallel kernel
gets its own OpenMP team, kept while that thread lives. Measured on a 2-core machine: with a second,
still-living thread that had run a single kernel, the default model's decode step and prefill both took
1.6x as long (`python bench/perf/threads.py`), and the autonomous loop's cycle about 1.7x. The likely cause
is libgomp's throttling: with more OpenMP threads alive than cores, its workers stop spinning between
kernels and have to be woken for each one, and decoding is thousands of small kernels. So loading,
chat answers, the locator and the autonomous policy all run here; callers on other threads wait for
the result (or stream from it).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_queue: queue.SimpleQueue | None = None
_thread: threading.Thread | None = None


def _serve(q: queue.SimpleQueue) -> None:
    while True:
        fut, fn, args, kwargs = q.get()
        if not fut.set_running_or_notify_cancel():
            continue
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(exc)
        del fut, fn, args, kwargs  # drop references (tensors, models) while idle


def _started() -> queue.SimpleQueue:
    global _queue, _thread
    with _lock:
        if _queue is None or _thread is None or not _thread.is_alive():
            _queue = queue.SimpleQueue()
            _thread = threading.Thread(target=_serve, args=(_queue,), name="model", daemon=True)
            _thread.start()
        return _queue


def on_model_thread() -> bool:
    return _thread is not None and threading.current_thread() is _thread


def submit(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future:
    """Queue `fn(*args, **kwargs)` on the model thread; its future. Not from the model thread itself
    (waiting there for the future would wait forever)."""
    if on_model_thread():
        raise RuntimeError("submit() was called from the model thread; call the function directly")
    fut: Future = Future()
    _started().put((fut, fn, args, kwargs))
    return fut


def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` computed on the model thread (directly when called from it); its result, or
    its exception raised here."""
    if on_model_thread():
        return fn(*args, **kwargs)
    return submit(fn, *args, **kwargs).result()
