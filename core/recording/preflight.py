"""Checks run before an episode starts: robot ready, e-stop released, recordings folder usable."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from core.recording.errors import DiskFull, EStopActive, RecordingsDirUnwritable, RobotUnavailable


def check_robot(robot_ready: bool, estopped: bool) -> None:
    if estopped:
        raise EStopActive("The emergency stop is engaged: release it before recording.")
    if not robot_ready:
        raise RobotUnavailable("No robot is connected: start the simulator or connect a robot before recording.")


def check_folder(folder: Path, min_free_bytes: int) -> None:
    """The folder exists (or can be made), accepts a file, and has at least `min_free_bytes` free."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecordingsDirUnwritable(f"Cannot create the recordings folder {folder}: {exc.strerror or exc}") from exc
    probe = folder / f".write-test-{os.getpid()}"
    try:
        with open(probe, "wb") as fh:
            fh.write(b"ok")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise RecordingsDirUnwritable(f"The recordings folder {folder} is not writable: {exc.strerror or exc}") from exc
    finally:
        try:
            probe.unlink()
        except OSError:
            pass
    free = shutil.disk_usage(folder).free
    if free < min_free_bytes:
        raise DiskFull(
            f"Only {free / 2**20:.0f} MiB free in {folder}; recording needs at least "
            f"{min_free_bytes / 2**20:.0f} MiB. Free some space or export and delete old episodes."
        )
