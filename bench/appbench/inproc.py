"""The real app in this process, started as `app.py`'s main starts it, plus read-only probes on it.

Why in process: the benchmark needs ground truth the page does not show (the simulator's scene for task
success, the control loop's tick times) and the app has no route for it; running the app here, built by
the same calls as `python app.py` (its own `parse_args` defaults, `App.build`, `make_server`, uvicorn),
changes nothing in the app. The only additions are two probes that observe:

- `TickLog`, a tick listener (the loop's own `add_listener` seam, as the recorder and the MJPEG streams
  use it): it appends (time, gripper x, y, z, opening) per tick, nothing else, on the control thread;
- `ActionRecorder`, a wrapper around the policy's `actions` call: it keeps a seeded reservoir sample of
  the prompts the app decoded (a copy of the frame and the text arguments) for the quantized-vs-fp32
  comparison after the run; it calls the app's own method and returns its answer unchanged.
"""

from __future__ import annotations

import logging
import os
import random
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TICK_BUFFER = 30 * 600  # ten minutes of ticks at 30 Hz: longer than any command the app allows


class TickLog:
    """Every control tick's end time (perf_counter) and the gripper's place and opening after it."""

    def __init__(self, maxlen: int = TICK_BUFFER) -> None:
        self.ticks: deque[tuple[float, float, float, float, float]] = deque(maxlen=maxlen)

    def on_tick(self, obs: Any, _step: Any) -> None:  # control thread: one append, never blocks
        p = obs.ee_pos
        self.ticks.append((time.perf_counter(), p[0], p[1], p[2], obs.gripper))

    def between(self, t0: float, t1: float) -> list[tuple[float, float, float, float, float]]:
        out = []
        for t in reversed(list(self.ticks)):  # newest first: stop at the first tick before t0
            if t[0] < t0:
                break
            if t[0] <= t1:
                out.append(t)
        return out[::-1]


@dataclass
class Captured:
    image: Any
    instruction: str
    subtask: str
    plan: str
    state: str | None
    text: str


@dataclass
class ActionRecorder:
    """A seeded reservoir sample of `size` action prompts the app decoded (Algorithm R)."""

    size: int
    seed: int = 0
    seen: int = 0
    sample: list[Captured] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def install(self, policy: Any) -> None:
        """Wrap `policy.actions` (idempotent; a new policy object gets wrapped on the next call)."""
        if getattr(policy.actions, "_bench_recorder", None) is self:
            return
        original = policy.actions

        def actions(image, instruction, subtask, plan, on_text=None, state=None):  # noqa: ANN001, ANN202
            text = original(image, instruction, subtask, plan, on_text, state=state)
            self._keep(Captured(image.copy(), instruction, subtask, plan, state, text))
            return text

        actions._bench_recorder = self  # type: ignore[attr-defined]
        policy.actions = actions

    def _keep(self, item: Captured) -> None:
        with self._lock:
            self.seen += 1
            if len(self.sample) < self.size:
                self.sample.append(item)
                return
            j = self._rng.randrange(self.seen)
            if j < self.size:
                self.sample[j] = item


class RunningApp:
    """`python app.py --port PORT` in this process: the App, its web server in a thread, and the probes."""

    def __init__(self, port: int, folder: Path, log_file: Path, capture: int = 24, seed: int = 0) -> None:
        self.port, self.folder, self.log_file = port, folder, log_file
        self.app: Any = None
        self.ticks = TickLog()
        self.recorder = ActionRecorder(capture, seed)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> None:
        """Build and start the app exactly as `app.main` does; its recordings, adapters and jobs go under
        `folder` (the environment variables the app reads), its log to `log_file`."""
        for key, sub in (("VLM2VLA_RECORDINGS", "recordings"), ("VLM2VLA_ADAPTERS_DIR", "adapters"),
                         ("VLM2VLA_JOBS_DIR", "jobs")):
            os.environ[key] = str(self.folder / sub)
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        import app as app_main  # the app's own defaults (sets GRADIO_ANALYTICS_ENABLED, HF_HUB_OFFLINE, MUJOCO_GL)

        args = app_main.parse_args(["--port", str(self.port)])
        sys.setswitchinterval(0.002)  # as app.main
        logging.basicConfig(level=args.log_level, filename=str(self.log_file),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        import uvicorn

        from core.context import App, AppConfig
        from ui.layout import CSS, HEAD, build_blocks
        from ui.server import make_server

        config = AppConfig.from_env(
            host=args.host, port=args.port, robot=args.robot, seed=args.seed, hz=args.hz, db_url=args.db_url,
            recordings_dir=args.recordings, model=args.model, precision=args.precision,
            model_threads=args.model_threads, spacemouse=not args.no_spacemouse, load_model=not args.no_model,
            default_adapter=not args.no_default_adapter,
        )
        self.app = App.build(config)
        self.app.start()
        self.app.loop.add_listener(self.ticks.on_tick)
        asgi = make_server(self.app, build_blocks(self.app), head=HEAD, css=CSS)
        self._server = uvicorn.Server(uvicorn.Config(asgi, host=config.host, port=config.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the app's web server did not start; see {self.log_file}")
            time.sleep(0.1)

    def wait_model(self, timeout: float = 900.0) -> str:
        """Until the model, its action adapter and restater are ready; a line saying what is active."""
        st = self.app.model.wait(timeout)
        if st.state != "ready":
            raise RuntimeError(f"the model is not ready: {st.message}")
        m = self.app.model
        return f"{st.message} · {st.precision} · adapter {m.adapter} · restater {m.restater.name if m.restater else 'none'}"

    def instrument(self) -> None:
        """(Re)install the action recorder on the app's current policy object."""
        self.recorder.install(self.app.model.policy())

    def close(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(15)
        if self.app is not None:
            self.app.loop.remove_listener(self.ticks.on_tick)
            self.app.close()
