"""The fixed-rate control loop: one thread owns the robot, arbitrates drivers and enforces safety.

Who drives, each tick:
1. e-stop latched -> the robot holds; nothing else is applied until `reset_estop()`.
2. any teleop source with non-zero motion (or a gripper event) -> teleop; an autonomous run is cancelled
   at once (operator takeover).
3. an autonomous driver, if one is set -> its twist.
4. otherwise idle: the target stays where it is.
Every twist goes through `safety.step_target` (workspace box, speed limits). Requests from other
threads (reset, e-stop, drivers) are queued and run on the control thread, so the UI, the model and
training never touch the robot and can never stall the loop.
"""

from __future__ import annotations

import gc
import logging
import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from core.control.frames import FrameHub
from core.control.safety import Limits, safe_command, step_target
from core.control.ticks import TickPhases
from core.robot.base import Robot
from core.teleop.base import InputSource
from core.types import Command, Observation, Step, Twist

log = logging.getLogger(__name__)


class ControlError(RuntimeError):
    """The loop cannot do what was asked (not running, robot failed to start)."""


class AutonomousDriver(Protocol):
    """The seam for autonomous mode: a twist source that the loop polls once per tick.

    `next_twist(obs)` returns the motion for this tick, or None when the driver has finished.
    It must return immediately (the model runs elsewhere). `cancel(reason)` is called on takeover,
    e-stop or reset; the driver must stop producing motion.
    """

    def next_twist(self, obs: Observation) -> Twist | None: ...

    def cancel(self, reason: str) -> None: ...


TickListener = Callable[[Observation, Step], None]


@dataclass(frozen=True)
class LoopConfig:
    hz: float = 30.0
    limits: Limits = field(default_factory=Limits)
    speed_scale: float = 1.0  # multiplies every twist (Settings)
    nice: int = -5  # control-thread priority where permitted (negative = higher)
    # The interpreter's GIL switch interval while the loop runs (None: leave it). Rendering releases the GIL
    # twice per camera (llvmpipe draws on its own threads); getting it back waits until the thread holding
    # it is made to let go, up to this long (CPython's default is 5 ms). With the web server and the model
    # busy in Python, at 5 ms a tick's render took 45-180 ms instead of 15 (docs/performance.md).
    switch_interval_s: float | None = 0.0005
    # gc.freeze() once the robot is up (process-wide, so the app turns it on, not every test): the objects
    # alive then (the app, the simulator, the libraries) are left out of the collector's full passes, which
    # walk them all while holding the GIL. With the default model loaded (560k objects; the app freezes
    # again then) a full pass took 290 ms, nine ticks at 30 Hz; after the freeze it takes under 1 ms.
    # Objects made later are collected as usual.
    freeze_gc: bool = False
    # Draw only the cameras someone uses (`FrameHub.wanted`: the primary camera, open streams, a recording
    # that holds its cameras, the driver's camera) on robots that can skip one. Off: every camera every tick
    # (for code that reads `obs.images` without holding its cameras; the app turns it on).
    cameras_on_demand: bool = False


@dataclass(frozen=True)
class LoopStatus:
    running: bool
    mode: str  # "idle" | "teleop" | "autonomous" | "e-stop"
    estop: bool
    estop_reason: str
    hz: float
    tick_ms_p95: float
    missed_ticks: int
    ticks: int
    ee_pos: tuple[float, float, float]
    gripper: float
    seed: int | None
    error: str


class ControlLoop:
    def __init__(self, robot_factory: Callable[[], Robot], config: LoopConfig | None = None,
                 frames: FrameHub | None = None) -> None:
        self.config = config or LoopConfig()
        self.frames = frames or FrameHub()
        self._factory = robot_factory
        self._sources: list[InputSource] = []
        self._listeners: list[TickListener] = []
        self._requests: queue.Queue[Callable[[Robot], None]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._estop = False
        self._estop_reason = ""
        self._driver: AutonomousDriver | None = None
        self._mode = "idle"
        self._target: Command | None = None
        self._obs: Observation | None = None
        self._tick_times: deque[float] = deque(maxlen=300)
        self._tick_starts: deque[float] = deque(maxlen=300)
        self._missed = 0
        self._ticks = 0
        self._seed: int | None = None
        self._error = ""
        self.robot: Robot | None = None
        self.phases = TickPhases()  # where each tick's time goes (`phases.summary()`)

    # ---- lifecycle ------------------------------------------------------------------------------
    def start(self, seed: int | None = 0, timeout: float = 30.0) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._seed = seed
        self._stop.clear()
        want = self.config.switch_interval_s
        if want is not None and want < sys.getswitchinterval():  # process-wide; only ever lowered
            sys.setswitchinterval(want)
        self._thread = threading.Thread(target=self._run, name="control-loop", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise ControlError("the control loop did not start in time")
        if self._error:
            raise ControlError(self._error)
        if self.config.freeze_gc:
            gc.freeze()

    def close(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        for s in self._sources:
            s.close()

    # ---- wiring ---------------------------------------------------------------------------------
    def add_source(self, source: InputSource) -> None:
        self._sources.append(source)

    @property
    def sources(self) -> list[InputSource]:
        return list(self._sources)

    def add_listener(self, fn: TickListener) -> None:
        """Called on the control thread after every tick; must not block (hand work to a queue)."""
        self._listeners.append(fn)

    def remove_listener(self, fn: TickListener) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def set_speed_scale(self, scale: float) -> None:
        """Scale every driver's twist (0.05..1.0); the workspace and speed limits still apply."""
        if not (isinstance(scale, (int, float)) and 0.05 <= scale <= 1.0):
            raise ValueError(f"speed scale must be between 0.05 and 1.0, got {scale!r}")
        self.config = replace(self.config, speed_scale=float(scale))

    # ---- requests from other threads ------------------------------------------------------------
    def call(self, fn: Callable[[Robot], object], timeout: float = 10.0) -> object:
        """Run `fn(robot)` on the control thread between ticks and return its result."""
        if not (self._thread and self._thread.is_alive()):
            raise ControlError("the control loop is not running")
        done = threading.Event()
        box: dict[str, object] = {}

        def job(robot: Robot) -> None:
            try:
                box["value"] = fn(robot)
            except Exception as exc:  # handed back to the caller
                box["error"] = exc
            finally:
                done.set()

        self._requests.put(job)
        if not done.wait(timeout):
            raise ControlError("the control loop did not answer in time")
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        return box.get("value")

    def reset(self, seed: int | None) -> Observation:
        """Reset the scene (new layout from `seed`); cancels any autonomous run."""
        self._cancel_driver("scene reset")

        def do(robot: Robot) -> Observation:
            obs = robot.reset(seed)
            self._seed = seed
            self._target = Command(obs.ee_pos, obs.ee_yaw, obs.gripper)
            self._obs = obs
            self.frames.publish(obs)
            return obs

        return self.call(do)  # type: ignore[return-value]

    def estop(self, reason: str = "e-stop pressed") -> None:
        """Halt at once and latch until `reset_estop()`. Safe to call from any thread, any time."""
        with self._lock:
            self._estop = True
            self._estop_reason = reason
        self._cancel_driver(reason)
        log.warning("E-STOP: %s", reason)

    def reset_estop(self) -> None:
        with self._lock:
            self._estop = False
            self._estop_reason = ""

    @property
    def estopped(self) -> bool:
        return self._estop

    def set_driver(self, driver: AutonomousDriver | None) -> None:
        """Hand control to an autonomous driver (None clears it). Refused while e-stopped."""
        if driver is not None and self._estop:
            raise ControlError(f"e-stop is latched ({self._estop_reason}); reset it first")
        old, self._driver = self._driver, driver
        if old is not None and old is not driver:
            old.cancel("replaced by another driver")

    def _cancel_driver(self, reason: str) -> None:
        drv, self._driver = self._driver, None
        if drv is not None:
            drv.cancel(reason)

    # ---- reading --------------------------------------------------------------------------------
    @property
    def observation(self) -> Observation | None:
        return self._obs

    def status(self) -> LoopStatus:
        starts = list(self._tick_starts)
        hz = (len(starts) - 1) / (starts[-1] - starts[0]) if len(starts) > 2 and starts[-1] > starts[0] else 0.0
        times = sorted(self._tick_times)
        p95 = times[int(0.95 * (len(times) - 1))] * 1000 if times else 0.0
        obs = self._obs
        return LoopStatus(
            running=bool(self._thread and self._thread.is_alive()),
            mode="e-stop" if self._estop else self._mode,
            estop=self._estop,
            estop_reason=self._estop_reason,
            hz=hz,
            tick_ms_p95=p95,
            missed_ticks=self._missed,
            ticks=self._ticks,
            ee_pos=obs.ee_pos if obs else (0.0, 0.0, 0.0),
            gripper=obs.gripper if obs else 1.0,
            seed=self._seed,
            error=self._error,
        )

    # ---- the loop -------------------------------------------------------------------------------
    def _run(self) -> None:
        _raise_thread_priority(self.config.nice)
        try:
            robot = self._factory()
            obs = robot.reset(self._seed)
        except Exception as exc:
            self._error = f"robot failed to start: {exc}"
            log.exception("robot failed to start")
            self._ready.set()
            return
        self.robot = robot
        self._obs = obs
        self._target = Command(obs.ee_pos, obs.ee_yaw, obs.gripper)
        self.frames.set_cameras(getattr(robot, "cameras", ()) or obs.images)
        self.frames.publish(obs)
        self._ready.set()
        period = 1.0 / self.config.hz
        next_t = time.perf_counter()
        try:
            while not self._stop.is_set():
                t0 = time.perf_counter()
                self._tick_starts.append(t0)
                self._tick(robot, period)
                dt = time.perf_counter() - t0
                self._tick_times.append(dt)
                self._ticks += 1
                next_t += period
                slack = next_t - time.perf_counter()
                if slack < 0:
                    self._missed += 1
                    if slack < -period:  # far behind: re-anchor instead of bursting to catch up
                        next_t = time.perf_counter()
                else:
                    self._stop.wait(slack)
        except Exception as exc:
            self._error = f"control loop stopped: {exc}"
            log.exception("control loop crashed; robot stopped")
            try:
                robot.stop()
            except Exception:
                log.exception("robot.stop failed")
        finally:
            robot.close()

    def _tick(self, robot: Robot, period: float) -> None:
        ph = self.phases
        ph.begin()
        while True:
            try:
                job = self._requests.get_nowait()
            except queue.Empty:
                break
            job(robot)
        ph.mark()
        obs = self._obs
        assert obs is not None and self._target is not None
        twist, mode = self._arbitrate(obs)
        if self._estop:
            ph.mark()
            robot.stop()
            self._target = Command(obs.ee_pos, obs.ee_yaw, self._target.gripper)
            twist, mode = Twist(), "e-stop"
        else:
            scaled = _scale(twist, self.config.speed_scale)
            before = self._target.gripper
            self._target = step_target(self._target, scaled, self.config.limits, period)
            if self._target.gripper != before:
                for src in self._sources:
                    src.sync_gripper(self._target.gripper)
            command = safe_command(self._target, self.config.limits)
            ph.mark()
            robot.apply(command)
        ph.mark()
        self._mode = mode
        want = getattr(robot, "want_cameras", None) if self.config.cameras_on_demand else None
        if want is not None:  # draw only what is watched, recorded or looked at by the driver
            drv = self._driver
            want(self.frames.wanted([c for c in (getattr(drv, "camera", None),) if isinstance(c, str)]))
        new_obs = robot.observe()
        self._obs = new_obs
        self.frames.publish(new_obs)
        ph.mark()
        goal = getattr(robot, "joint_goal", None)  # robots that drive joint goals say which they sent
        step = Step(obs.t, obs.ee_pos, obs.ee_yaw, obs.gripper, twist, self._target, obs.joints, obs.scene,
                    None if self._estop or goal is None else tuple(goal))
        for fn in list(self._listeners):
            try:
                fn(obs, step)
            except Exception:
                log.exception("tick listener failed; removed")
                self.remove_listener(fn)
        ph.mark()
        ph.end()

    def _arbitrate(self, obs: Observation) -> tuple[Twist, str]:
        for src in self._sources:
            tw = src.read()
            if not tw.is_zero() or tw.gripper is not None:
                if self._driver is not None:
                    self._cancel_driver(f"operator takeover ({src.name})")
                return tw, "teleop"
        drv = self._driver
        if drv is not None:
            tw = drv.next_twist(obs)
            if tw is None:
                if self._driver is drv:
                    self._driver = None
            else:
                return tw, "autonomous"
        return Twist(), "idle"


def _raise_thread_priority(nice: int) -> None:
    """Best effort: run the control thread at a higher CPU priority than the web server, the model
    and training (Linux allows a per-thread nice value; lowering it needs root or CAP_SYS_NICE)."""
    if nice >= 0 or not hasattr(os, "setpriority"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError as exc:
        log.info("control thread keeps normal priority (%s)", exc)


def _scale(tw: Twist, k: float) -> Twist:
    if k == 1.0:
        return tw
    return Twist(tw.dx * k, tw.dy * k, tw.dz * k, tw.droll * k, tw.dpitch * k, tw.dyaw * k, tw.gripper)
