"""SQLAlchemy 2 models: the schema of the store.

Tables: users, instructions, episodes, steps, videos, verbalizations, training_jobs, adapters, audit_log.
Alembic migrations in `core/store/migrations/versions` create and change these tables; keep both in
step (the migration test compares them).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names so that migrations work the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigId = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class EpisodeStatus(enum.StrEnum):
    """Lifecycle of an episode row.

    recording: being written (or the process died while writing: recovery turns it into `recovered`);
    saved: stopped cleanly and consistent; flagged: saved but a check failed (see `problem`);
    recovered: rebuilt after a crash (see `problem` for what was reconciled); imported: from a dataset.
    """

    RECORDING = "recording"
    SAVED = "saved"
    FLAGGED = "flagged"
    RECOVERED = "recovered"
    IMPORTED = "imported"


class VideoStatus(enum.StrEnum):
    WRITING = "writing"
    OK = "ok"
    RECOVERED = "recovered"
    MISSING = "missing"
    CORRUPT = "corrupt"


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="operator")  # operator|member|visitor|admin
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Login (core.auth): a row without a password hash is a name only (e.g. an operator typed at recording
    # time) and cannot sign in; "operator" as a stored role means a lab member.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Instruction(Base):
    __tablename__ = "instructions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text, unique=True)
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Episode(Base):
    __tablename__ = "episodes"
    __table_args__ = (
        Index("ix_episodes_started_at", "started_at"),
        Index("ix_episodes_task", "task"),
        Index("ix_episodes_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)  # folder name under recordings/
    task: Mapped[str | None] = mapped_column(String(200))
    instruction_id: Mapped[int | None] = mapped_column(ForeignKey("instructions.id", ondelete="SET NULL"))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    seed: Mapped[int | None] = mapped_column(BigInteger)
    robot: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20), default="recorded")  # recorded|imported
    status: Mapped[str] = mapped_column(String(20), default=EpisodeStatus.RECORDING.value)
    success: Mapped[bool | None] = mapped_column(Boolean)
    fps: Mapped[float] = mapped_column(Float, default=30.0)
    num_steps: Mapped[int] = mapped_column(Integer, default=0)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    problem: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    instruction: Mapped[Instruction | None] = relationship(lazy="joined")
    operator: Mapped[User | None] = relationship(lazy="joined")
    videos: Mapped[list[Video]] = relationship(
        back_populates="episode",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Video.camera",
    )


class Step(Base):
    """One control tick. Pose columns are nullable: imported data may lack an end-effector pose."""

    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("episode_id", "idx", name="uq_steps_episode_id_idx"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)  # 0.. within the episode
    t: Mapped[float] = mapped_column(Float)  # seconds since the episode started
    frame_index: Mapped[int | None] = mapped_column(Integer)  # frame of each camera video, None = no frame
    x: Mapped[float | None] = mapped_column(Float)
    y: Mapped[float | None] = mapped_column(Float)
    z: Mapped[float | None] = mapped_column(Float)
    yaw: Mapped[float | None] = mapped_column(Float)
    gripper: Mapped[float | None] = mapped_column(Float)
    twist: Mapped[list[float] | None] = mapped_column(JSON)  # dx,dy,dz,droll,dpitch,dyaw
    twist_gripper: Mapped[float | None] = mapped_column(Float)
    cmd_x: Mapped[float | None] = mapped_column(Float)
    cmd_y: Mapped[float | None] = mapped_column(Float)
    cmd_z: Mapped[float | None] = mapped_column(Float)
    cmd_yaw: Mapped[float | None] = mapped_column(Float)
    cmd_gripper: Mapped[float | None] = mapped_column(Float)
    joints: Mapped[list[float] | None] = mapped_column(JSON)
    # a joint-space command (e.g. an imported LeRobot dataset's `action`); the cmd_* pose columns hold
    # the same command as an end-effector pose when the robot's kinematics are known
    cmd_joints: Mapped[list[float] | None] = mapped_column(JSON)
    scene: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Video(Base):
    __tablename__ = "videos"
    __table_args__ = (UniqueConstraint("episode_id", "camera", name="uq_videos_episode_id_camera"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))
    camera: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)  # relative to the recordings folder
    codec: Mapped[str] = mapped_column(String(32), default="h264")
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    fps: Mapped[float] = mapped_column(Float, default=30.0)
    frame_count: Mapped[int] = mapped_column(Integer, default=0)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(20), default=VideoStatus.WRITING.value)

    episode: Mapped[Episode] = relationship(back_populates="videos")


class Verbalization(Base):
    """A language rendering of an episode (subtasks, plans, action chunks), versioned per episode."""

    __tablename__ = "verbalizations"
    __table_args__ = (UniqueConstraint("episode_id", "version", name="uq_verbalizations_episode_id_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    spec_version: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TrainingJob(Base):
    __tablename__ = "training_jobs"
    __table_args__ = (Index("ix_training_jobs_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), default="lora")
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.QUEUED.value)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    episode_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    pid: Mapped[int | None] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Adapter(Base):
    __tablename__ = "adapters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    path: Mapped[str] = mapped_column(Text)
    base_model: Mapped[str] = mapped_column(String(300))
    training_job_id: Mapped[int | None] = mapped_column(ForeignKey("training_jobs.id", ondelete="SET NULL"))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(Base):
    """Who did what, when (core.auth.audit): recordings, deletions, training, adapter switches, control.

    `user_name` and `role` are copied at the time of the action so the row still reads after the
    account is renamed or deleted; `user_id` is None for the open lab (no accounts) and for the system.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_action", "action"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    user_name: Mapped[str | None] = mapped_column(String(120))
    role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
