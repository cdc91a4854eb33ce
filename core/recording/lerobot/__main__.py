"""LeRobot datasets from the command line, against the app's store.

    python -m core.recording.lerobot import PATH [--episodes 0,3] [--joint-space] [--operator NAME]
    python -m core.recording.lerobot check PATH            # what an import would do, or why it is refused
    python -m core.recording.lerobot export OUT (--episodes 1,2,5 | --all) [--robot-type T]
           [--chunks-size N] [--data-mb MB] [--video-mb MB] [--no-language]

The store is the app's: `--db-url` / `--recordings` or $VLM2VLA_DB_URL / $VLM2VLA_RECORDINGS, as for
`python app.py`. `--json` prints the result as one JSON object. Exit status: 0 done, 1 done but some
episodes are flagged (their problem is printed), 2 refused (nothing written).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.recording.errors import DatasetError, UnsafePath
from core.recording.lerobot.episode_source import EXPORTABLE
from core.recording.lerobot.export import export_lerobot
from core.recording.lerobot.features import plan_import
from core.recording.lerobot.files import FileSettings
from core.recording.lerobot.importer import import_lerobot, read_info
from core.store import StoreConfig, StoreConfigError, open_store
from core.store.models import Episode

CLI_ACTOR = "(command line)"


def _ids(text: str) -> list[int]:
    try:
        return [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m core.recording.lerobot", description=__doc__.split("\n")[0])
    ap.add_argument("--db-url", default=None, help="SQLAlchemy URL (default: the app's SQLite under recordings/)")
    ap.add_argument("--recordings", type=Path, default=None, help="recordings folder (holds the default database)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    sub = ap.add_subparsers(dest="cmd", required=True)
    im = sub.add_parser("import", help="import a LeRobot v3 dataset folder into the store")
    im.add_argument("path", type=Path)
    im.add_argument("--episodes", type=_ids, default=None, help="dataset episode indices (default: all)")
    im.add_argument("--joint-space", action="store_true",
                    help="keep a joint-space dataset of a robot without built-in kinematics (not trainable here)")
    im.add_argument("--operator", default=None, help="operator name for the imported episodes")
    ck = sub.add_parser("check", help="say how a dataset would be imported, or why it would be refused")
    ck.add_argument("path", type=Path)
    ck.add_argument("--joint-space", action="store_true")
    ex = sub.add_parser("export", help="export episodes as a LeRobot v3 dataset folder (must not exist)")
    ex.add_argument("out", type=Path)
    which = ex.add_mutually_exclusive_group(required=True)
    which.add_argument("--episodes", type=_ids, help="store episode ids, e.g. 1,2,5")
    which.add_argument("--all", action="store_true", help="every exportable episode")
    ex.add_argument("--robot-type", default=None, help="default: the episodes' robot if they share one, else "
                    "vlm2vla_sim")
    ex.add_argument("--chunks-size", type=int, default=FileSettings.chunks_size)
    ex.add_argument("--data-mb", type=float, default=FileSettings.data_files_size_in_mb)
    ex.add_argument("--video-mb", type=float, default=FileSettings.video_files_size_in_mb)
    ex.add_argument("--no-language", action="store_true", help="leave out the language columns")
    return ap


def _emit(args: argparse.Namespace, data: dict[str, Any], lines: list[str]) -> None:
    if args.json:
        print(json.dumps(data, default=str))
    else:
        print("\n".join(lines))


def _check(args: argparse.Namespace) -> int:
    info = read_info(Path(args.path).resolve())
    plan = plan_import(info, joint_space=args.joint_space)
    cams = [f"{c.key} -> {c.name} ({c.kind}, {c.width}x{c.height})" for c in plan.cameras]
    data = {"ok": True, "cameras": cams, "trainable": plan.trainable, "unmapped": list(plan.unmapped),
            "notes": list(plan.notes), "episodes": info.get("total_episodes")}
    _emit(args, data, [f"importable: {info.get('total_episodes')} episodes at {plan.fps:g} fps",
                       "cameras: " + (", ".join(cams) or "none"), f"trainable here: {plan.trainable}",
                       *(f"not imported: {k}" for k in plan.unmapped), *(f"note: {n}" for n in plan.notes)])
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.cmd == "check":
            return _check(args)
        store = open_store(StoreConfig.from_env(db_url=args.db_url, recordings_dir=args.recordings))
    except (DatasetError, UnsafePath) as exc:
        _emit(args, {"ok": False, "error": str(exc)}, [f"refused: {exc}"])
        return 2
    except StoreConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from core.auth.audit import AuditLog

    audit = AuditLog(store, background=False)
    try:
        if args.cmd == "import":
            res = import_lerobot(store, args.path, operator=args.operator, joint_space=args.joint_space,
                                 episodes=args.episodes)
            audit.record("episode.import", CLI_ACTOR, target=str(Path(args.path).resolve())[-300:],
                         episodes=len(res.episode_ids))
            lines = [f"imported {len(res.episode_ids)} episodes ({res.frames} frames): ids "
                     + ", ".join(map(str, res.episode_ids)), *(f"note: {n}" for n in res.notes),
                     *(f"problem: {p}" for p in res.problems)]
            _emit(args, {"ok": True, **asdict(res)}, lines)
            return 1 if res.problems else 0
        if args.all:
            with store.session() as s:
                ids = list(s.scalars(select(Episode.id).where(Episode.status.in_(EXPORTABLE)).order_by(Episode.id)))
        else:
            ids = args.episodes
        settings = FileSettings(args.chunks_size, args.data_mb, args.video_mb)
        res = export_lerobot(store, ids, args.out, robot_type=args.robot_type, skip_invalid=bool(args.all),
                             settings=settings, language=not args.no_language)
        audit.record("episode.export", CLI_ACTOR, target=str(res.root)[-300:], episodes=res.episodes)
        lines = [f"exported {res.episodes} episodes ({res.frames} frames) to {res.root}: {res.data_files} data "
                 f"file(s), {res.video_files} video file(s), language for {res.language_episodes} episode(s)",
                 *(f"skipped episode {i}: {why}" for i, why in res.skipped), *(f"note: {n}" for n in res.notes)]
        _emit(args, {"ok": True, **asdict(res)}, lines)
        return 0
    except (DatasetError, UnsafePath) as exc:
        _emit(args, {"ok": False, "error": str(exc)}, [f"refused: {exc}"])
        return 2
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
