"""The application context: configuration plus the long-lived services the UI talks to."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core import settings
from core.control.loop import ControlLoop, LoopConfig
from core.robot.tasks import Task, is_feasible, is_success, task_from_instruction
from core.teleop.shaping import AxisMap, ShapingConfig
from core.types import Observation, SceneState

if TYPE_CHECKING:
    from core.assistant import Assistant
    from core.auth import AuthService
    from core.conversation import Conversation
    from core.policy.service import ModelService
    from core.recording.live import LiveRecording
    from core.store import Store
    from core.training.service import TrainingService

log = logging.getLogger(__name__)


def _open_leader(config: AppConfig):  # noqa: ANN202 - core.teleop.leader.LeaderArm | None
    if not config.leader_port:
        return None
    if config.robot not in ("so101", "so101-sim"):
        raise ValueError(f"--leader mirrors an SO-101 leader arm: it needs --robot so101 or so101-sim, not {config.robot}")
    from core.teleop.leader import LeaderArm

    leader = LeaderArm(config.leader_port, calibration_dir=config_dir(config), leader_id=config.robot_id, hz=config.hz)
    leader.start()
    return leader


ROOT = settings.PROJECT_ROOT


@dataclass(frozen=True)
class AppConfig:
    host: str = "127.0.0.1"
    port: int = 7860
    robot: str = "sim"
    seed: int = 0
    hz: float = 30.0
    image_size: int = 224
    recordings_dir: Path = settings.DEFAULT_RECORDINGS_DIR
    db_url: str | None = None
    model: str | None = None  # HF id or local dir; None = the embedded default
    precision: str = "auto"  # core.model.quantize.PRECISIONS or "auto" (NF4 on CUDA, the measured CPU default)
    # CPU threads for the model's kernels. Default: one core fewer than the machine has (at least 1): the
    # control loop renders both cameras all the time, and a model thread team that shares a core with it
    # waits on itself (on 2 cores, one autonomous command took 62 s with 2 threads, 42 s with 1)
    model_threads: int = field(default_factory=lambda: max(1, (os.cpu_count() or 2) - 1))
    spacemouse: bool = True  # try the server-side SpaceMouse
    load_model: bool = True  # load the VLM in the background at start-up
    default_adapter: bool = True  # activate the shipped action adapter (assets/adapter) on the default model
    robot_port: str | None = None  # serial bus of a real follower arm (--robot so101)
    leader_port: str | None = None  # serial bus of a leader arm (teleop device)
    cameras: tuple[tuple[str, str], ...] = ()  # real cameras: (name, device or video file)
    robot_id: str = "so101"  # names the calibration files, like LeRobot's --robot.id / --teleop.id
    config_dir: Path | None = None  # calibration files; default: <recordings>/config

    @staticmethod
    def from_env(**overrides: object) -> AppConfig:
        """The environment's settings (`core.settings`), then `overrides` (e.g. from the command line)."""
        env = settings.current()
        base: dict[str, object] = {k: getattr(env, k) for k in ("db_url", "model", "precision", "model_threads",
                                                                 "recordings_dir") if getattr(env, k) is not None}
        base.update({k: v for k, v in overrides.items() if v is not None})
        return AppConfig(**base)  # type: ignore[arg-type]


def config_dir(config: AppConfig) -> Path:
    return config.config_dir or config.recordings_dir / "config"


def make_robot_factory(config: AppConfig, leader: object | None = None):
    """The robot's factory (`core.robot.registry`), called on the control thread."""
    from core.robot import registry

    spec = registry.get(config.robot)
    if spec.needs_port and not config.robot_port:
        raise ValueError(f"--robot {config.robot} needs its serial port: --port /dev/ttyACM0")
    options = registry.RobotOptions(image_size=config.image_size, hz=config.hz, port=config.robot_port,
                                    cameras=config.cameras, config_dir=config_dir(config),
                                    robot_id=config.robot_id, leader=leader)
    return lambda: spec.make(options)


@dataclass
class App:
    """Everything the UI needs; built once by `app.py`, shared by all browser sessions."""

    config: AppConfig
    loop: ControlLoop
    browser_input: object
    spacemouse: object | None = None
    store: Store | None = None
    recording: LiveRecording | None = None
    model: ModelService | None = None
    conversation: Conversation | None = None
    assistant: Assistant | None = None
    training: TrainingService | None = None
    auth: AuthService | None = None  # users, roles, control lock, audit (core.auth)
    record_instruction: str = ""
    last_message: str = ""

    @staticmethod
    def build(config: AppConfig) -> App:
        from core.recording import Recorder, RecorderConfig, recover_interrupted
        from core.recording.live import LiveRecording
        from core.store import StoreConfig, open_store
        from core.teleop.browser import BrowserTeleop

        store = open_store(StoreConfig.from_env(db_url=config.db_url, recordings_dir=config.recordings_dir))
        for report in recover_interrupted(store):
            log.warning("recovered interrupted episode: %s", report)
        from core.robot import registry

        leader = _open_leader(config)
        loop = ControlLoop(make_robot_factory(config, leader),
                           LoopConfig(hz=config.hz, limits=registry.get(config.robot).limits, cameras_on_demand=True,
                                      freeze_gc=True))
        recording = LiveRecording(store, Recorder(store, RecorderConfig(fps=config.hz)), frames=loop.frames)
        loop.add_listener(recording.on_tick)
        browser = BrowserTeleop()
        loop.add_source(browser)
        if leader is not None:
            loop.add_source(leader)
        spacemouse = None
        if config.spacemouse:
            from core.teleop.spacemouse import SpaceMouseTeleop

            spacemouse = SpaceMouseTeleop()
            spacemouse.start()
            loop.add_source(spacemouse)
        from core.assistant import Assistant
        from core.conversation import Conversation
        from core.policy.catalogue import CatalogueSource
        from core.policy.service import ModelService
        from core.training.service import TrainingService

        model = ModelService(config.model, precision=config.precision, threads=config.model_threads)
        model.catalogue = CatalogueSource(store)  # the built-in tasks plus the lab's recorded ones
        training = TrainingService(store)
        if config.model is None:  # the embedded default: the shipped stack (core.policy.shipped)
            from core.policy.shipped import install_shipped, shipped_adapter

            shipped, robot = config.default_adapter, config.robot
            model.on_ready(lambda: install_shipped(model, adapter=shipped, restater=shipped, robot=robot))
            own = shipped_adapter(robot)
            if shipped and own is not None:
                model.on_ready(lambda: training.register_shipped(*own))
        if loop.config.freeze_gc:  # the model's objects too, once loaded (see LoopConfig.freeze_gc)
            import gc

            model.on_ready(gc.freeze)
        conversation = Conversation()
        app = App(config=config, loop=loop, browser_input=browser, spacemouse=spacemouse,
                  store=store, recording=recording, model=model, conversation=conversation,
                  assistant=Assistant(loop, model, conversation), training=training)
        from core.auth.wiring import attach_auth

        app.auth = attach_auth(app)
        loop.add_listener(app._watch_robot)
        if leader is not None:
            leader.observe = lambda: loop.observation
        browser.set_record_callback(app.toggle_recording)
        if spacemouse is not None:
            spacemouse.set_record_callback(app.toggle_recording)
        return app

    # ---- recording ------------------------------------------------------------------------------
    def start_recording(self, instruction: str | None = None, operator: str | None = None) -> int:
        """Start an episode (instruction defaults to the selected task's); raises RecordingRefused."""
        from core.recording import RecordingRefused

        text = (instruction or self.record_instruction or (self.task.instruction if self.task else "")).strip()
        if not text:
            raise RecordingRefused("type the task instruction (or pick a task) before recording")
        self.record_instruction = text
        st = self.loop.status()
        return self.recording.start(
            text, operator=operator or None, seed=st.seed,
            task=self.task.instruction if self.task and self.task.instruction == text else None,
            robot_ready=st.running, estopped=st.estop, robot=self.config.robot,
            cameras=tuple(self.loop.frames.cameras) or None,
        )

    def stop_recording(self, success: bool | None):
        saved = self.recording.stop(success)
        self._refresh_catalogue()
        return saved

    def _refresh_catalogue(self) -> None:
        """A saved episode's instruction and subtasks join the policy's candidates (core.policy.catalogue)."""
        if self.model is not None and self.model.catalogue is not None:
            self.model.catalogue.refresh()

    def toggle_recording(self) -> None:
        """SpaceMouse right button / page record button: start, or stop and save untagged."""
        try:
            if self.recording.recording:
                self.recording.stop(None)
                self._refresh_catalogue()
            else:
                self.start_recording()
        except Exception as exc:  # device callbacks must never raise; the status line shows it
            self.last_message = f"recording: {exc}"
            log.warning("record button: %s", exc)

    task: Task | None = None
    shaping: ShapingConfig = field(default_factory=ShapingConfig)
    task_start: SceneState | None = None

    def start(self) -> None:
        self.loop.start(self.config.seed)
        if self.auth is not None:
            self.auth.start()
        if self.config.load_model and self.model is not None:
            self.model.start()
        obs = self.loop.observation
        self.task_start = obs.scene if obs else None

    def reset_scene(self, seed: int | None) -> Observation:
        obs = self.loop.reset(seed)
        self.task_start = obs.scene
        return obs

    def _watch_robot(self, _obs: Observation | None, _step: object) -> None:
        """Tick listener: a robot that reports a fault (a bus that stopped answering) latches the e-stop with
        that reason, so the page says so and nothing drives it until the operator resets it."""
        fault = getattr(self.loop.robot, "fault", "")
        if fault and not self.loop.estopped:
            self.loop.estop(f"robot fault: {fault}")

    def robot_report(self) -> str:
        """One line about the robot for the status panel (its own status line when it has one)."""
        line = getattr(self.loop.robot, "status_line", None)
        return f"{self.config.robot}" + (f": {line()}" if callable(line) else "")

    def apply_teleop_settings(self, deadzone: float, sensitivity: list[float], invert: list[bool],
                              spacemouse_axis_map: str, speed_scale: float) -> ShapingConfig:
        """Validate and apply the Settings tab's input shaping to every device (raises on bad values)."""
        base = ShapingConfig(
            deadzone=float(deadzone),
            sensitivity=tuple(float(v) for v in sensitivity),
            invert=tuple(bool(v) for v in invert),
        )
        mouse = base.replace(axis_map=AxisMap.parse(spacemouse_axis_map))
        self.loop.set_speed_scale(speed_scale)
        self.browser_input.set_shaping(base.replace(deadzone=0.0), sources=("keyboard", "pad"))
        self.browser_input.set_shaping(mouse, sources=("webhid",))
        if self.spacemouse is not None:
            self.spacemouse.set_shaping(mouse)
        self.shaping = mouse
        return mouse

    def set_task(self, instruction: str | None) -> Task | None:
        """Select the task to monitor (canonical English instruction); None clears it."""
        self.task = task_from_instruction(instruction) if instruction else None
        return self.task

    def task_report(self) -> str:
        """One line about the selected task: feasible in this layout, achieved yet."""
        obs, task, start = self.loop.observation, self.task, self.task_start
        if task is None:
            return "No task selected."
        if obs is None or obs.scene is None or start is None:
            return f"Task: {task.instruction} (no scene state on this robot: success is judged by the operator)"
        if not is_feasible(task, start):
            return f"Task: {task.instruction}: not possible in this layout (object missing or path blocked); reset with another seed."
        done = is_success(task, start, obs.scene)
        return f"Task: {task.instruction}: {'SUCCESS' if done else 'not yet achieved'}"

    def close(self) -> None:
        self.loop.close()  # closes the robot (a real arm's torque goes off) and the input sources
        if self.training is not None:
            self.training.close()
        if self.recording is not None:
            self.recording.recorder.close()
        if self.auth is not None:
            self.auth.close()
        if self.store is not None:
            self.store.close()
