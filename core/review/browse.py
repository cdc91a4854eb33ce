"""Store-facing helpers of the Episodes tab: filters from form values, table rows, plot data, the
current verbalization of an episode, corrections saved as new versions, LeRobot export and import.

Nothing here raises because an episode is damaged: broken data comes back as a `problem` text.
Bad user input raises `ReviewError` with a message fit for the page.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.language.verbalize import Verbalization, verbalize
from core.recording.errors import DatasetError, UnsafePath
from core.recording.lerobot import ExportResult, ImportResult, export_lerobot, import_lerobot
from core.recording.paths import resolve_export_dir
from core.review.errors import ReviewError, StaleVerbalization
from core.store.db import Store
from core.store.episodes import EpisodeFilter, EpisodeSummary, StepArrays, VideoInfo
from core.store.errors import StoreError
from core.store.verbalizations import add_verbalization, verbalization_history
from core.training.sources import store_steps

log = logging.getLogger(__name__)

SUCCESS_CHOICES = ("any", "success", "failure", "untagged")
TABLE_COLUMNS = ["id", "started (UTC)", "instruction", "task", "operator", "result", "steps", "seconds",
                 "status", "cameras", "problem"]
MAX_PLOT_POINTS = 600
CORRECTION_SOURCE = "correction"


# ---- filters and the table ------------------------------------------------------------------------
def _date(value: str | date | None, what: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ReviewError(f"{what} date {text!r} is not a date: use YYYY-MM-DD, e.g. 2026-03-01") from exc


def make_filter(
    task: str | None = None,
    success: str | None = "any",
    since: str | date | None = None,
    until: str | date | None = None,
    operator: str | None = None,
    text: str | None = None,
    limit: int = 200,
) -> EpisodeFilter:
    """An `EpisodeFilter` from the tab's form values (empty = any). Raises `ReviewError` on bad input."""
    success = (success or "any").strip().lower()
    if success not in SUCCESS_CHOICES:
        raise ReviewError(f"unknown result filter {success!r}; choose one of {', '.join(SUCCESS_CHOICES)}")
    start, end = _date(since, "The 'from'"), _date(until, "The 'to'")
    if start and end and start > end:
        raise ReviewError(f"The 'from' date {start} is after the 'to' date {end}.")
    text = (text or "").strip()
    if len(text) > 200:
        raise ReviewError("The search text is too long (at most 200 characters).")
    return EpisodeFilter(
        task=(task or "").strip() or None,
        success=success,  # type: ignore[arg-type]
        operator=(operator or "").strip() or None,
        since=start,
        until=end,
        text=text or None,
        limit=limit,
    )


def result_word(success: bool | None) -> str:
    return "untagged" if success is None else ("success" if success else "failure")


def problem_text(ep: EpisodeSummary) -> str:
    """What is wrong with an episode, for people ('' when nothing is)."""
    parts = [ep.problem] if ep.problem else []
    if not ep.videos:
        parts.append("no video")
    for v in ep.videos:
        if not v.exists:
            parts.append(f"{v.camera} video file is missing")
        elif not v.playable:
            parts.append(f"{v.camera} video is {v.status}")
    return "; ".join(parts)


def playable_videos(ep: EpisodeSummary) -> tuple[list[VideoInfo], list[str]]:
    """The episode's videos that a page can play (file readable, frames as recorded), and a problem
    line for each one that cannot. Reads only the container (no decoding): a few ms per video."""
    from core.recording.errors import VideoError
    from core.recording.video import probe

    ok: list[VideoInfo] = []
    problems: list[str] = []
    for v in ep.videos:
        if not v.playable:
            continue  # already described by `problem_text`
        try:
            p = probe(v.path)
        except VideoError as exc:
            problems.append(f"{v.camera} video cannot be read ({exc})")
            continue
        if p.frames == 0:
            problems.append(f"{v.camera} video has no frames")
            continue
        if v.frame_count and p.frames != v.frame_count:
            problems.append(f"{v.camera} video has {p.frames} frames, {v.frame_count} were recorded")
        ok.append(v)
    return ok, problems


def table_rows(episodes: Sequence[EpisodeSummary]) -> pd.DataFrame:
    """The episode list as a table (newest first, as given)."""
    rows = [
        [
            ep.id,
            ep.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            ep.instruction or "",
            ep.task or "",
            ep.operator or "",
            result_word(ep.success),
            ep.num_steps,
            round(ep.duration_s, 1),
            ep.status,
            ", ".join(ep.cameras),
            problem_text(ep),
        ]
        for ep in episodes
    ]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def choice_label(ep: EpisodeSummary) -> str:
    """`#12 · pick up the red block · success` (for dropdowns)."""
    text = (ep.instruction or ep.task or ep.uid)[:60]
    return f"#{ep.id} · {text} · {result_word(ep.success)}"


def parse_ids(values: Sequence[Any] | None) -> list[int]:
    """Episode ids from a multiselect's values (ints, or strings such as '12' / '#12 · ...')."""
    out: list[int] = []
    for v in values or ():
        if isinstance(v, bool):
            raise ReviewError(f"not an episode id: {v!r}")
        if isinstance(v, int):
            out.append(v)
            continue
        head = str(v).strip().lstrip("#").split("·")[0].strip()
        if not head.isdigit():
            raise ReviewError(f"not an episode id: {v!r}")
        out.append(int(head))
    return sorted(set(out))


def listing_signature(store: Store) -> tuple[Any, ...]:
    """Changes when an episode is saved, recovered, imported or deleted (cheap; for auto-refresh)."""
    from sqlalchemy import func, select

    from core.store.models import Episode, EpisodeStatus

    query = select(func.count(Episode.id), func.max(Episode.id), func.max(Episode.ended_at)).where(
        Episode.status != EpisodeStatus.RECORDING.value
    )
    with store.session() as s:
        row = s.execute(query).one()
    return tuple(str(v) for v in row)


# ---- plot data ----------------------------------------------------------------------------------
def _downsample(n: int, max_points: int) -> np.ndarray:
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


def plot_frames(arrays: StepArrays, max_points: int = MAX_PLOT_POINTS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long-format tables for two line plots: end-effector x/y/z in cm, and gripper (measured, commanded).

    Columns `t` (s), `value`, `series`. NaN samples are left out; at most `max_points` per series.
    """
    idx = _downsample(len(arrays), max_points)
    t = arrays.t[idx]

    def series(values: np.ndarray, name: str, scale: float = 1.0) -> pd.DataFrame:
        v = values[idx] * scale
        keep = np.isfinite(v) & np.isfinite(t)
        return pd.DataFrame({"t": t[keep], "value": np.round(v[keep], 3), "series": name})

    pos = pd.concat(
        [series(arrays.x, "x (cm)", 100.0), series(arrays.y, "y (cm)", 100.0), series(arrays.z, "z (cm)", 100.0)],
        ignore_index=True,
    )
    grip = pd.concat(
        [series(arrays.gripper, "measured"), series(arrays.cmd_gripper, "commanded")], ignore_index=True
    )
    return pos, grip


# ---- the current verbalization --------------------------------------------------------------------
@dataclass(frozen=True)
class CurrentVerbalization:
    """The verbalization the tab shows: the latest stored version, or one computed from the steps.

    `version` is 0 when nothing valid is stored (then `verbalization` was computed and not saved).
    `history` lists every stored version as `(version, spec, label)`; `problem` says what was wrong.
    """

    verbalization: Verbalization | None
    version: int
    spec_version: str | None
    history: tuple[tuple[int, str, str], ...] = field(default_factory=tuple)
    problem: str = ""

    @property
    def latest(self) -> int:
        """The highest stored version when this was loaded (0 = none)."""
        return max((h[0] for h in self.history), default=0)


def _label(payload: dict[str, Any]) -> str:
    if payload.get("source") == CORRECTION_SOURCE:
        base = payload.get("corrected_from")
        return f"correction of v{base}" if base else "correction"
    return "recorded"


def current_verbalization(store: Store, episode_id: int, instruction: str | None = None) -> CurrentVerbalization:
    """The newest stored version that reads back cleanly, else one computed from the recorded steps
    (not saved), else none. Never raises because of bad data: `problem` says what was wrong."""
    try:
        rows = verbalization_history(store, episode_id)
    except StoreError as exc:
        return CurrentVerbalization(None, 0, None, problem=f"cannot read verbalizations: {exc}")
    history = tuple((r.version, r.spec_version, _label(r.payload)) for r in rows)
    problems: list[str] = []
    for row in reversed(rows):
        try:
            return CurrentVerbalization(Verbalization.from_dict(row.payload), row.version, row.spec_version,
                                        history, "; ".join(problems))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            problems.append(f"stored version {row.version} is malformed ({exc})")
            log.warning("episode %s verbalization v%s is malformed: %s", episode_id, row.version, exc)
    try:
        steps, _ = store_steps(store, episode_id)
        v = verbalize(steps, instruction)
        problems.append("no valid stored verbalization: computed from the recorded steps (saved with a correction)")
        return CurrentVerbalization(v, 0, v.spec_version, history, "; ".join(problems))
    except (ValueError, KeyError, TypeError, StoreError) as exc:
        problems.append(f"cannot verbalize the recorded steps: {exc}")
    return CurrentVerbalization(None, 0, None, history, "; ".join(problems))


def save_correction(
    store: Store,
    episode_id: int,
    shown: CurrentVerbalization,
    subtask: int,
    text: str | None,
    plan: str | None,
) -> int:
    """Store `shown` with subtask `subtask`'s text / plan replaced, as a new version; returns it.

    Refuses (StaleVerbalization) when a newer version was saved since `shown` was loaded, and
    (ReviewError) empty or unchanged text, so nothing anyone typed is silently overwritten.
    """
    if shown.verbalization is None:
        raise ReviewError("This episode has no verbalization to correct.")
    v = shown.verbalization
    if not 0 <= subtask < len(v.subtasks):
        raise ReviewError(f"Pick a subtask to correct (1 to {len(v.subtasks)}).")
    old = v.subtasks[subtask]
    new_text = None if text is None or " ".join(text.split()) == old.text else text
    new_plan = None if plan is None or " ".join(plan.split()) == old.plan else plan
    if new_text is None and new_plan is None:
        raise ReviewError("Nothing changed: edit the subtask text or the plan first.")
    try:
        corrected = v.corrected(subtask, text=new_text, plan=new_plan)
    except (ValueError, IndexError) as exc:
        raise ReviewError(f"Correction refused: {exc}.") from exc
    latest = max((r.version for r in verbalization_history(store, episode_id)), default=0)
    if latest != shown.latest:
        raise StaleVerbalization(
            f"Version {latest} was saved by someone else since you opened this episode (at v{shown.latest}); "
            "nothing was overwritten. Check the new version, then save your correction again."
        )
    payload = corrected.to_dict()
    payload.update(source=CORRECTION_SOURCE, corrected_from=shown.version or None, subtask=subtask)
    version = add_verbalization(store, episode_id, corrected.spec_version, payload)
    log.info("episode %s: correction of subtask %d saved as verbalization v%d", episode_id, subtask, version)
    return version


# ---- export -------------------------------------------------------------------------------------
EXPORTS = "exports"


def export_root(recordings_dir: Path, typed: str | None) -> Path:
    """The export folder: `<recordings>/exports` by default, or a folder inside it (a relative path is
    taken there; an absolute one must lie inside it). Checked on the resolved path, so `..`, another
    absolute folder and a symlink leading out are refused: the app may run as a user who can write
    anywhere, and whoever types this path should not be able to make it write there."""
    area = (Path(recordings_dir) / EXPORTS).resolve()
    if not area.is_relative_to(Path(recordings_dir).resolve()):
        raise ReviewError(f"{Path(recordings_dir) / EXPORTS} is a link to {area}, outside the recordings folder: "
                          "replace it with a plain folder.")
    text = (typed or "").strip()
    if not text:
        return area
    asked = Path(text).expanduser()
    root = (asked if asked.is_absolute() else area / asked).resolve()
    if not root.is_relative_to(area):
        raise ReviewError(f"Exports go inside {area} (the recordings folder's exports area); {text!r} is "
                          "outside it. Type a folder name (e.g. lab-a) or leave the field empty, and copy the "
                          "dataset elsewhere afterwards.")
    if root.exists() and not root.is_dir():
        raise ReviewError(f"{root} is a file, not a folder.")
    return root


def export_selection(store: Store, episode_ids: Sequence[int], root: Path, name: str) -> ExportResult:
    """Export `episode_ids` as a LeRobot v3 dataset `root/name`; unexportable episodes are skipped
    (and listed in the result), so one bad episode does not block the rest."""
    ids = list(dict.fromkeys(int(i) for i in episode_ids))
    if not ids:
        raise ReviewError("Select the episodes to export first (the bulk selection).")
    name = (name or "").strip()
    if not name:
        raise ReviewError("Type a dataset name, e.g. red_block_demos.")
    try:
        dest = resolve_export_dir(root, name)
    except UnsafePath as exc:
        raise ReviewError(str(exc)) from exc
    if dest.exists():
        raise ReviewError(f"{dest} already exists: choose another dataset name.")
    try:
        root.mkdir(parents=True, exist_ok=True)
        try:
            return export_lerobot(store, ids, dest, skip_invalid=True)
        except DatasetError as exc:
            if "no episode to export" not in str(exc):
                raise
            return export_lerobot(store, ids, dest)  # raises again, naming each episode and why
    except DatasetError as exc:
        raise ReviewError(f"Export failed: {exc}") from exc
    except OSError as exc:
        raise ReviewError(f"Export failed, cannot write {dest}: {exc.strerror or exc}") from exc


def import_dataset(store: Store, recordings_dir: Path, typed: str | None, *, joint_space: bool = False,
                   operator: str | None = None) -> ImportResult:
    """Import the LeRobot dataset folder the user typed (relative = inside the recordings folder).

    Refusals (not a dataset, actions that would be lost, unreadable cameras) raise ReviewError with the
    importer's message; nothing is written then."""
    text = (typed or "").strip()
    if not text:
        raise ReviewError("Type the folder of a LeRobot dataset (the one holding meta/info.json).")
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = Path(recordings_dir) / path
    if not path.is_dir():
        raise ReviewError(f"{path} is not a folder.")
    try:
        return import_lerobot(store, path, joint_space=joint_space, operator=operator)
    except (DatasetError, UnsafePath) as exc:
        raise ReviewError(f"Import refused: {exc}") from exc
    except OSError as exc:
        raise ReviewError(f"Import failed, cannot read {path}: {exc.strerror or exc}") from exc


def import_summary(res: ImportResult) -> str:
    """Markdown for the page: what was imported, what was noted, what is flagged."""
    ids = ", ".join(map(str, res.episode_ids)) or "none"
    out = f"Imported **{len(res.episode_ids)}** episode(s), {res.frames} frames: ids {ids}."
    if not res.trainable:
        out += "  \nJoint-space episodes: kept with their joint actions, not usable for training here."
    out += "".join(f"  \nNote: {n}" for n in res.notes)
    out += "".join(f"  \n⚠️ {p}" for p in res.problems)
    return out


def fmt_seconds(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.1f} s"
