"""Teleoperation: input devices -> `core.types.Twist`.

- `InputSource` (base.py): the contract every device implements (`read`, `status`, `sync_gripper`,
  `close`).
- `SpaceMouseTeleop` (spacemouse.py): SpaceMouse on the server via pyspacemouse, with hot-plug.
- `BrowserTeleop` (browser.py): keyboard / on-screen pad / WebHID events posted by the page.
- `shaping.py`: deadzone, sensitivity, inversion, axis map, rejection of non-finite values (pure).
- `watchdog.py`: zero motion after 250 ms of silence.
"""

from core.teleop.base import (
    InputSource,
    ShapingConfigError,
    SourceStatus,
    TeleopError,
    TeleopInputError,
    combine_twists,
)
from core.teleop.browser import BrowserEvent, BrowserTeleop, BrowserTeleopConfig, parse_event
from core.teleop.shaping import AxisMap, ShapingConfig, shape
from core.teleop.spacemouse import SpaceMouseConfig, SpaceMouseTeleop, SpaceMouseUnavailable
from core.teleop.watchdog import Watchdog

__all__ = [
    "AxisMap",
    "BrowserEvent",
    "BrowserTeleop",
    "BrowserTeleopConfig",
    "InputSource",
    "ShapingConfig",
    "ShapingConfigError",
    "SourceStatus",
    "SpaceMouseConfig",
    "SpaceMouseTeleop",
    "SpaceMouseUnavailable",
    "TeleopError",
    "TeleopInputError",
    "Watchdog",
    "combine_twists",
    "parse_event",
    "shape",
]
