"""Store: migrations, models, episode queries — on SQLite and on a throwaway PostgreSQL server."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from core.store import EpisodeBusy, EpisodeNotFound, Store, StoreConfig, StoreConfigError, migrate, open_store
from core.store import episodes as E
from core.store.lookup import InvalidValue, get_or_create_instruction, get_or_create_user
from core.store.models import (
    Adapter,
    Base,
    Episode,
    EpisodeStatus,
    Instruction,
    Step,
    TrainingJob,
    User,
    Verbalization,
    Video,
)
from core.store.throwaway_pg import PostgresUnavailable, ThrowawayPostgres

TABLES = {"users", "instructions", "episodes", "steps", "videos", "verbalizations", "training_jobs", "adapters"}
_db_names = itertools.count()


@pytest.fixture(scope="session")
def pg_server():
    try:
        server = ThrowawayPostgres().start()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL server cannot be started here: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'studio.db'}"
    server = request.getfixturevalue("pg_server")
    return server.create_database(f"t{next(_db_names)}")


@pytest.fixture
def store(db_url, tmp_path) -> Store:
    s = open_store(StoreConfig(recordings_dir=tmp_path / "rec", db_url=db_url))
    yield s
    s.close()


def _episode(store: Store, **kw) -> int:
    with store.session() as s:
        ep = Episode(uid=kw.pop("uid", f"ep{next(_db_names)}"), status=kw.pop("status", "saved"), **kw)
        s.add(ep)
        s.flush()
        return ep.id


def _add_steps(store: Store, episode_id: int, n: int) -> None:
    rows = [
        {
            "episode_id": episode_id,
            "idx": i,
            "t": i / 30,
            "frame_index": i,
            "x": 0.1 * i,
            "y": 0.0,
            "z": 0.2,
            "gripper": 1.0 if i < n // 2 else 0.0,
            "twist": [0, 0, 0, 0, 0, 0],
        }
        for i in range(n)
    ]
    with store.session() as s:
        s.execute(insert(Step), rows)


# ---- migrations ------------------------------------------------------------------------------
def test_upgrade_from_empty_creates_schema_matching_models(db_url):
    engine = create_engine(db_url)
    try:
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert TABLES <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        migrate.downgrade(engine, "base")
        assert not TABLES & set(inspect(engine).get_table_names())
        migrate.upgrade(engine)  # and back up again
        assert TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_open_store_is_idempotent(db_url, tmp_path):
    for _ in range(2):
        s = open_store(StoreConfig(recordings_dir=tmp_path / "r", db_url=db_url))
        assert migrate.current_revision(s.engine) == migrate.head_revision()
        s.close()


def test_sqlite_pragmas(tmp_path):
    s = open_store(StoreConfig(recordings_dir=tmp_path, busy_timeout_ms=1234))
    with s.engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert c.execute(text("PRAGMA busy_timeout")).scalar() == 1234
        assert c.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    assert not (tmp_path / "studio.db").exists()  # never inside the (served) recordings folder
    assert (tmp_path.parent / f"{tmp_path.name}-db" / "studio.db").exists()
    s.close()


def test_config_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("VLM2VLA_DB_URL", "sqlite:///from-env.db")
    assert StoreConfig.from_env().url == "sqlite:///from-env.db"
    assert StoreConfig.from_env(db_url="sqlite:///cli.db").url == "sqlite:///cli.db"
    monkeypatch.delenv("VLM2VLA_DB_URL")
    cfg = StoreConfig.from_env(recordings_dir=tmp_path)
    assert cfg.url == f"sqlite:///{tmp_path.resolve().parent / (tmp_path.name + '-db') / 'studio.db'}"
    monkeypatch.setenv("VLM2VLA_RECORDINGS", str(tmp_path / "env-rec"))
    assert StoreConfig.from_env().recordings_dir == tmp_path / "env-rec"


def test_bad_url_is_a_clear_error(tmp_path):
    with pytest.raises(StoreConfigError):
        open_store(StoreConfig(recordings_dir=tmp_path, db_url="nosuchdialect://x"))
    with pytest.raises(StoreConfigError, match="cannot open database"):
        open_store(StoreConfig(recordings_dir=tmp_path, db_url="postgresql+psycopg://nobody@127.0.0.1:1/x"))


def test_unusable_recordings_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreConfigError, match="recordings folder"):
        open_store(StoreConfig(recordings_dir=blocker / "rec"))


# ---- models ----------------------------------------------------------------------------------
def test_models_roundtrip_and_cascade(store):
    eid = _episode(store, task="pick", seed=7)
    _add_steps(store, eid, 10)
    with store.session() as s:
        ep = s.get(Episode, eid)
        ep.instruction = get_or_create_instruction(s, "  pick up   the red block ")
        ep.operator = get_or_create_user(s, "ana", "operator")
        s.add(Video(episode_id=eid, camera="front", path="x/front.mp4", frame_count=10, status="ok"))
        s.add(Verbalization(episode_id=eid, version=1, spec_version="v1", payload={"subtasks": ["grasp"]}))
        s.add(Verbalization(episode_id=eid, version=2, spec_version="v1", payload={"subtasks": ["grasp", "lift"]}))
        job = TrainingJob(name="lora-1", config={"r": 16}, episode_ids=[eid])
        s.add(job)
        s.flush()
        s.add(Adapter(name="a1", path="adapters/a1", base_model="gemma-3-270m", training_job_id=job.id))
    with store.session() as s:
        ep = s.get(Episode, eid)
        assert ep.instruction.text == "pick up the red block"
        assert ep.operator.name == "ana"
        assert [v.camera for v in ep.videos] == ["front"]
        vs = s.scalars(select(Verbalization).where(Verbalization.episode_id == eid).order_by(Verbalization.version))
        assert [v.payload["subtasks"][-1] for v in vs] == ["grasp", "lift"]
        assert s.scalar(select(Adapter.base_model)) == "gemma-3-270m"
        assert s.scalar(select(TrainingJob.status)) == "queued"
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(Verbalization(episode_id=eid, version=2, spec_version="v1", payload={}))
    with store.session() as s:  # database-level cascade
        s.execute(Episode.__table__.delete().where(Episode.id == eid))
    with store.session() as s:
        assert s.scalar(select(Step.id).where(Step.episode_id == eid)) is None
        assert s.scalar(select(Video.id)) is None
        assert s.scalar(select(Verbalization.id)) is None
        assert s.scalar(select(Instruction.text)) == "pick up the red block"  # lookups stay


def test_lookup_validation(store):
    with store.session() as s:
        with pytest.raises(InvalidValue):
            get_or_create_instruction(s, "   ")
        with pytest.raises(InvalidValue):
            get_or_create_user(s, "bob", role="king")
        a = get_or_create_user(s, "bob")
        b = get_or_create_user(s, "bob")
        assert a.id == b.id
        assert s.scalar(select(User.role)) == "operator"


# ---- episode queries for the Episodes tab ------------------------------------------------------
def _seed_three(store: Store) -> tuple[int, int, int]:
    now = datetime.now(UTC)
    a = _episode(store, task="pick", success=True, started_at=now - timedelta(days=3))
    b = _episode(store, task="put_in", success=False, started_at=now - timedelta(days=1))
    c = _episode(store, task="pick", success=None, started_at=now)
    _episode(store, task="pick", status=EpisodeStatus.RECORDING.value)  # hidden by default
    E.set_instruction(store, a, "pick up the red block")
    E.set_instruction(store, b, "put the blue block in the bowl")
    E.set_instruction(store, c, "pick up the green block")
    with store.session() as s:
        s.get(Episode, a).operator = get_or_create_user(s, "ana")
        s.get(Episode, b).operator = get_or_create_user(s, "ben")
    return a, b, c


def test_list_and_filter(store):
    a, b, c = _seed_three(store)
    ids = lambda f=None: [e.id for e in E.list_episodes(store, f)]  # noqa: E731
    assert ids() == [c, b, a]  # newest first, recording hidden
    assert ids(E.EpisodeFilter(task="pick")) == [c, a]
    assert ids(E.EpisodeFilter(success="success")) == [a]
    assert ids(E.EpisodeFilter(success="failure")) == [b]
    assert ids(E.EpisodeFilter(success="untagged")) == [c]
    assert ids(E.EpisodeFilter(operator="ben")) == [b]
    today = datetime.now(UTC).date()
    assert ids(E.EpisodeFilter(since=today - timedelta(days=1))) == [c, b]
    assert ids(E.EpisodeFilter(until=today - timedelta(days=2))) == [a]
    assert ids(E.EpisodeFilter(text="BLUE")) == [b]
    assert ids(E.EpisodeFilter(limit=1, offset=1)) == [b]
    assert E.count_episodes(store, E.EpisodeFilter(task="pick")) == 2
    assert len(E.list_episodes(store, E.EpisodeFilter(statuses=("recording",)))) == 1
    assert E.distinct_tasks(store) == ["pick", "put_in"]
    assert E.operators(store) == ["ana", "ben"]
    with pytest.raises(InvalidValue):
        E.list_episodes(store, E.EpisodeFilter(success="maybe"))  # type: ignore[arg-type]
    assert E.get_episode(store, a).started_at.tzinfo is UTC


def test_step_arrays(store):
    eid = _episode(store)
    _add_steps(store, eid, 6)
    arr = E.step_arrays(store, eid)
    assert len(arr) == 6
    assert arr.x[3] == pytest.approx(0.3)
    assert list(arr.gripper) == [1, 1, 1, 0, 0, 0]
    assert list(arr.frame_index) == list(range(6))
    assert all(v != v for v in arr.yaw)  # missing -> NaN
    empty = _episode(store)
    assert len(E.step_arrays(store, empty)) == 0
    with pytest.raises(EpisodeNotFound):
        E.step_arrays(store, 999_999)


def test_edit_tag_bulk_and_delete(store):
    a, b, c = _seed_three(store)
    E.set_instruction(store, a, "pick up the yellow block")
    assert E.get_episode(store, a).instruction == "pick up the yellow block"
    with pytest.raises(InvalidValue):
        E.set_instruction(store, a, "")
    assert E.set_success(store, [a, b, c], True) == 3
    assert {e.success for e in E.list_episodes(store)} == {True}
    E.set_success(store, b, None)
    assert E.get_episode(store, b).success is None
    with pytest.raises(EpisodeNotFound):
        E.set_success(store, [a, 424242], False)
    E.set_task(store, c, "stack")
    assert E.get_episode(store, c).task == "stack"

    folder = store.recordings_dir / E.get_episode(store, a).uid
    folder.mkdir(parents=True)
    (folder / "front.mp4").write_bytes(b"not really a video")
    _add_steps(store, a, 5)
    assert E.delete_episodes(store, [a, b]) == 2
    assert not folder.exists()
    assert [e.id for e in E.list_episodes(store)] == [c]
    with store.session() as s:
        assert s.scalar(select(Step.id).where(Step.episode_id == a)) is None
    with pytest.raises(EpisodeNotFound):
        E.get_episode(store, a)


def test_delete_refuses_recording_and_foreign_paths(store):
    busy = _episode(store, status=EpisodeStatus.RECORDING.value)
    with pytest.raises(EpisodeBusy):
        E.delete_episodes(store, busy)
    outside = store.recordings_dir.parent / "precious"
    outside.mkdir()
    evil = _episode(store, uid="../precious")
    E.delete_episodes(store, evil)
    assert outside.exists()  # a uid can never make delete leave the recordings folder


def test_broken_episode_does_not_break_listing(store):
    eid = _episode(store, task="pick")
    with store.session() as s:
        s.add(Video(episode_id=eid, camera="front", path="gone/front.mp4", frame_count=3, status="ok"))
        s.add(Video(episode_id=eid, camera="wrist", path="gone/wrist.mp4", frame_count=0, status="corrupt"))
    [ep] = E.list_episodes(store)
    assert not ep.playable
    assert [v.exists for v in ep.videos] == [False, False]
    assert E.video_paths(store, eid) == {}


def test_concurrent_writer_and_reader(store):
    eid = _episode(store)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(150):
                with store.session() as s:
                    s.execute(insert(Step), [{"episode_id": eid, "idx": i, "t": i / 30.0}])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    th = threading.Thread(target=writer)
    th.start()
    while th.is_alive():
        E.list_episodes(store)
        E.step_arrays(store, eid)
    th.join()
    assert errors == []
    assert len(E.step_arrays(store, eid)) == 150


def test_relative_paths_resolve_inside_recordings(store):
    assert store.abspath("a/front.mp4") == store.recordings_dir / "a" / "front.mp4"
    assert isinstance(store.recordings_dir, Path) and store.recordings_dir.is_absolute()


# ---- verbalizations, training jobs, adapters ---------------------------------------------------
def test_verbalization_versions(store):
    from core.store.verbalizations import add_verbalization, latest_verbalization, verbalization_history

    eid = _episode(store)
    assert latest_verbalization(store, eid) is None
    assert add_verbalization(store, eid, "v1", {"subtasks": ["grasp the red block"]}) == 1
    assert add_verbalization(store, eid, "v1.1", {"subtasks": ["grasp the red block", "lift it"]}) == 2
    latest = latest_verbalization(store, eid)
    assert (latest.version, latest.spec_version, latest.payload["subtasks"][-1]) == (2, "v1.1", "lift it")
    assert [v.version for v in verbalization_history(store, eid)] == [1, 2]
    with pytest.raises(EpisodeNotFound):
        add_verbalization(store, 987654, "v1", {})


def test_training_jobs_and_adapters(store):
    from core.store import jobs as J

    jid = J.create_job(store, "lora on 12 demos", {"r": 16, "alpha": 32}, [1, 2, 3])
    job = J.get_job(store, jid)
    assert (job.status, job.progress, job.episode_ids) == ("queued", 0.0, [1, 2, 3])
    J.update_job(store, jid, status="running", progress=0.5, message="step 10/20", pid=123)
    J.request_cancel(store, jid)
    job = J.get_job(store, jid)
    assert job.started_at is not None and job.cancel_requested and job.progress == 0.5
    J.update_job(store, jid, status="cancelled", metrics={"loss": 1.2})
    job = J.get_job(store, jid)
    assert job.finished_at is not None and job.metrics == {"loss": 1.2}
    with pytest.raises(J.StoreError):
        J.update_job(store, jid, status="exploded")
    with pytest.raises(J.JobNotFound):
        J.get_job(store, 424242)
    aid = J.register_adapter(store, "red-block-v1", "adapters/red-block-v1", "gemma-3-270m", jid, {"acc": 0.9})
    assert [a.id for a in J.list_adapters(store)] == [aid]
    with pytest.raises(J.StoreError, match="already exists"):
        J.register_adapter(store, "red-block-v1", "x", "y")
    assert [j.id for j in J.list_jobs(store)] == [jid]
