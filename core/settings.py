"""Every `VLM2VLA_*` environment variable the app reads, read here and nowhere else.

    from core import settings
    settings.current().cache_dir          # read now (tests and tools may change the environment at run time)

An empty variable counts as unset. A malformed number is refused where it cannot be guessed (the port, the
model's threads: `ValueError` naming the variable) and falls back to its default, with a logged warning,
where a default is safe (time limits, the upload size). `VARIABLES` lists each one with what it sets; the
README's table is drawn from it. Command-line options win over these (`app.py`, `StoreConfig.from_env`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = Path.home() / ".cache" / "vlm2vla"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RECORDINGS_DIR = PROJECT_ROOT / "recordings"


@dataclass(frozen=True)
class Settings:
    """The environment's settings (None: not set; the reader applies its own default)."""

    host: str = field(default="127.0.0.1", metadata={"env": "VLM2VLA_HOST", "help": "address the app listens on (default 127.0.0.1)"})
    port: int = field(default=7860, metadata={"env": "VLM2VLA_PORT", "help": "the app's port (default 7860)"})
    db_url: str | None = field(default=None, metadata={
        "env": "VLM2VLA_DB_URL", "help": "SQLAlchemy URL of the store (default: SQLite under the recordings folder)"})
    recordings_dir: Path | None = field(default=None, metadata={
        "env": "VLM2VLA_RECORDINGS", "help": "episodes and the SQLite database (default: recordings/)"})
    adapters_dir: Path | None = field(default=None, metadata={
        "env": "VLM2VLA_ADAPTERS_DIR", "help": "registered adapters (default: ./adapters)"})
    jobs_dir: Path | None = field(default=None, metadata={
        "env": "VLM2VLA_JOBS_DIR", "help": "training jobs' folders (default: ./training_jobs)"})
    model: str | None = field(default=None, metadata={
        "env": "VLM2VLA_MODEL", "help": "HF id or local folder of the model (default: the embedded default)"})
    precision: str | None = field(default=None, metadata={"env": "VLM2VLA_PRECISION", "help": "inference precision (as --precision)"})
    model_threads: int | None = field(default=None, metadata={
        "env": "VLM2VLA_MODEL_THREADS", "help": "CPU threads for the model (default: one fewer than the cores)"})
    cache_dir: Path = field(default=DEFAULT_CACHE_DIR, metadata={
        "env": "VLM2VLA_CACHE", "help": "the default model's derived files and build checkpoints (~/.cache/vlm2vla)"})
    model_assets: Path | None = field(default=None, metadata={
        "env": "VLM2VLA_MODEL_ASSETS", "help": "the default model's shipped weights (default: assets/model/)"})
    admin_user: str | None = field(default=None, metadata={
        "env": "VLM2VLA_ADMIN_USER", "help": "with VLM2VLA_ADMIN_PASSWORD: the first admin, made at start"})
    admin_password: str | None = field(default=None, metadata={
        "env": "VLM2VLA_ADMIN_PASSWORD", "help": "the first admin's password (also read by python -m core.auth)"})
    control_ttl_s: float = field(default=8.0, metadata={
        "env": "VLM2VLA_CONTROL_TTL_S", "help": "seconds: a control holder's page silent this long loses control (default 8)"})
    takeover_after_s: float = field(default=15.0, metadata={
        "env": "VLM2VLA_TAKEOVER_AFTER_S", "help": "seconds: an unanswered control request allows a takeover after this long (default 15)"})
    max_upload_mb: float = field(default=512.0, metadata={
        "env": "VLM2VLA_MAX_UPLOAD_MB", "help": "largest adapter upload in MB (default 512, at least 1)"})
    session_max_s: float = field(default=12 * 3600.0, metadata={
        "env": "VLM2VLA_SESSION_MAX_S", "help": "seconds: a login ends this long after it began (default 43200)"})
    session_idle_s: float = field(default=2 * 3600.0, metadata={
        "env": "VLM2VLA_SESSION_IDLE_S", "help": "seconds: a login ends after this long without a request (default 7200)"})
    secure_cookies: bool = field(default=False, metadata={
        "env": "VLM2VLA_SECURE_COOKIES", "help": "1: login cookies only over https (behind a TLS proxy)"})
    allowed_origins: tuple[str, ...] = field(default=(), metadata={
        "env": "VLM2VLA_ALLOWED_ORIGINS",
        "help": "comma-separated extra origins allowed to send state-changing requests (e.g. a proxy's https URL)"})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw:
                values[f.name] = _PARSE.get(f.name, _str)(f.metadata["env"], raw, f.default)
        return cls(**values)


def _str(name: str, raw: str, default: Any) -> str:
    return raw


def _path(name: str, raw: str, default: Any) -> Path:
    return Path(raw).expanduser()


def _int(name: str, raw: str, default: Any) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"${name} must be a whole number, got {raw!r}") from None


def _positive(name: str, raw: str, default: Any) -> float:
    try:
        value = float(raw)
    except ValueError:
        log.error("$%s is not a number; using %s", name, default)
        return default
    return value if value > 0 else default


def _upload_mb(name: str, raw: str, default: Any) -> float:
    try:
        return max(1.0, float(raw))
    except ValueError:
        log.error("$%s is not a number; using %s", name, default)
        return default


def _flag(name: str, raw: str, default: Any) -> bool:
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _list(name: str, raw: str, default: Any) -> tuple[str, ...]:
    return tuple(p.strip() for p in raw.split(",") if p.strip())


_PARSE: dict[str, Callable[[str, str, Any], Any]] = {
    "port": _int, "model_threads": _int, "recordings_dir": _path, "adapters_dir": _path, "jobs_dir": _path,
    "cache_dir": _path, "model_assets": _path, "control_ttl_s": _positive, "takeover_after_s": _positive,
    "max_upload_mb": _upload_mb, "session_max_s": _positive, "session_idle_s": _positive,
    "secure_cookies": _flag, "allowed_origins": _list,
}

# field -> variable name, and each variable with what it sets (for docs and for tools that set them)
ENV: dict[str, str] = {f.name: f.metadata["env"] for f in fields(Settings)}
VARIABLES: list[tuple[str, str]] = [(f.metadata["env"], f.metadata["help"]) for f in fields(Settings)]


def current() -> Settings:
    """The settings as the environment says now."""
    return Settings.from_env()


def config_dir() -> Path:
    """Where calibration files live when a tool is not told: `<recordings>/config`, as the app keeps them."""
    return (current().recordings_dir or DEFAULT_RECORDINGS_DIR) / "config"


__all__ = ["DEFAULT_RECORDINGS_DIR", "ENV", "PROJECT_ROOT", "VARIABLES", "Settings", "config_dir", "current"]
