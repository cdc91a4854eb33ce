"""A disposable local PostgreSQL server (for tests and trying the store on PostgreSQL).

Uses the Debian `postgresql` package's binaries (`/usr/lib/postgresql/<ver>/bin`): `initdb` into a
temporary folder, `pg_ctl start` listening on a free loopback port and a private unix socket, trust
authentication, `pg_ctl stop` + folder removal on exit. PostgreSQL refuses to run as root, so when
running as root the server runs as the `postgres` system user (via `runuser`).
"""

from __future__ import annotations

import glob
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are missing or the server could not be started."""


def find_bindir() -> Path | None:
    env = os.environ.get("PG_BINDIR")
    if env and (Path(env) / "initdb").exists():
        return Path(env)
    cands = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if cands:
        return Path(cands[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThrowawayPostgres:
    """`with ThrowawayPostgres() as pg: pg.url("mydb")` — a server that lives for the block."""

    def __init__(self, bindir: Path | None = None, start_timeout_s: int = 60) -> None:
        self.bindir = bindir or find_bindir()
        if self.bindir is None:
            raise PostgresUnavailable("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.start_timeout_s = start_timeout_s
        self.port = 0
        self._tmp: Path | None = None
        self._as: list[str] = []
        self.user = "postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = [*self._as, *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=self.start_timeout_s, check=False)

    def start(self) -> ThrowawayPostgres:
        self._tmp = Path(tempfile.mkdtemp(prefix="pgtmp-"))
        data, sock = self._tmp / "data", self._tmp / "sock"
        sock.mkdir()
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresUnavailable("running as root and there is no 'postgres' user to run the server") from exc
            runuser = shutil.which("runuser")
            if runuser is None:
                raise PostgresUnavailable("running as root and 'runuser' is missing")
            self._as = [runuser, "-u", "postgres", "--"]
            os.chmod(self._tmp, 0o755)
            for p in (self._tmp, sock):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name
        r = self._run(
            str(self.bindir / "initdb"), "-D", str(data), "-U", self.user, "-A", "trust", "-E", "UTF8", "--no-sync"
        )
        if r.returncode != 0:
            self.stop()
            raise PostgresUnavailable(f"initdb failed: {r.stderr.strip() or r.stdout.strip()}")
        self.port = _free_port()
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {sock} -c fsync=off -c full_page_writes=off"
        r = self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-l",
            str(self._tmp / "log"),
            "-w",
            "-t",
            str(self.start_timeout_s),
            "start",
        )
        if r.returncode != 0:
            logtext = (self._tmp / "log").read_text() if (self._tmp / "log").exists() else ""
            self.stop()
            raise PostgresUnavailable(f"pg_ctl start failed: {r.stderr.strip()} {logtext[-2000:]}")
        log.info("throwaway PostgreSQL on 127.0.0.1:%d", self.port)
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self._tmp is None:
            return
        data = self._tmp / "data"
        if (data / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._tmp = None

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
