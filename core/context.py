"""The application context: configuration plus the long-lived services the UI talks to."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from core.control.loop import ControlLoop, LoopConfig
from core.control.safety import Limits
from core.robot.tasks import Task, is_feasible, is_success, task_from_instruction
from core.teleop.shaping import AxisMap, ShapingConfig
from core.types import Observation, SceneState

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class AppConfig:
    host: str = "127.0.0.1"
    port: int = 7860
    robot: str = "sim"
    seed: int = 0
    hz: float = 30.0
    image_size: int = 224
    recordings_dir: Path = ROOT / "recordings"
    db_url: str | None = None
    model: str | None = None  # HF id or local dir; None = the embedded default
    spacemouse: bool = True  # try the server-side SpaceMouse
    load_model: bool = True  # load the VLM in the background at start-up

    @staticmethod
    def from_env(**overrides: object) -> AppConfig:
        env = os.environ
        base: dict[str, object] = {}
        if "VLM2VLA_DB_URL" in env:
            base["db_url"] = env["VLM2VLA_DB_URL"]
        if "VLM2VLA_MODEL" in env:
            base["model"] = env["VLM2VLA_MODEL"]
        if "VLM2VLA_RECORDINGS" in env:
            base["recordings_dir"] = Path(env["VLM2VLA_RECORDINGS"])
        base.update({k: v for k, v in overrides.items() if v is not None})
        return AppConfig(**base)  # type: ignore[arg-type]


def make_robot_factory(config: AppConfig):
    if config.robot == "sim":
        from core.robot.sim import SimConfig, SimRobot

        return lambda: SimRobot(SimConfig(image_size=config.image_size, control_hz=config.hz))
    raise ValueError(f"unknown robot {config.robot!r}; available: sim")


@dataclass
class App:
    """Everything the UI needs; built once by `app.py`, shared by all browser sessions."""

    config: AppConfig
    loop: ControlLoop
    browser_input: object
    spacemouse: object | None = None
    services: dict[str, object] = field(default_factory=dict)

    @staticmethod
    def build(config: AppConfig) -> App:
        from core.teleop.browser import BrowserTeleop

        loop = ControlLoop(make_robot_factory(config), LoopConfig(hz=config.hz, limits=Limits()))
        browser = BrowserTeleop()
        loop.add_source(browser)
        spacemouse = None
        if config.spacemouse:
            from core.teleop.spacemouse import SpaceMouseTeleop

            spacemouse = SpaceMouseTeleop()
            spacemouse.start()
            loop.add_source(spacemouse)
        return App(config=config, loop=loop, browser_input=browser, spacemouse=spacemouse)

    task: Task | None = None
    shaping: ShapingConfig = field(default_factory=ShapingConfig)
    task_start: SceneState | None = None

    def start(self) -> None:
        self.loop.start(self.config.seed)
        obs = self.loop.observation
        self.task_start = obs.scene if obs else None

    def reset_scene(self, seed: int | None) -> Observation:
        obs = self.loop.reset(seed)
        self.task_start = obs.scene
        return obs

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
        self.loop.close()
