"""Helpers shared by the benchmarks: result writing and a subprocess app server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def write_result(name: str, result: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, sort_keys=True))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_process(*extra: str, folder: Path | None = None, start_timeout: float = 120.0,
                env: dict[str, str] | None = None, port: int | None = None):
    """`python app.py EXTRA` on a loopback port (`port`, default a free one), with its recordings, adapters and jobs folders
    under `folder` (a new temporary folder by default). Yields (base URL, process). The app counts as up
    when /api/status answers, with 200 or, when accounts exist, 401. `env` adds environment variables."""
    folder = folder or Path(tempfile.mkdtemp(prefix="vlm2vla-app-"))
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    full_env = dict(os.environ, VLM2VLA_RECORDINGS=str(folder / "recordings"),
                    VLM2VLA_ADAPTERS_DIR=str(folder / "adapters"), VLM2VLA_JOBS_DIR=str(folder / "jobs"),
                    GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", **(env or {}))
    log = open(folder / f"app-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), "--no-spacemouse", *extra],
        cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                urllib.request.urlopen(base + "/api/status", timeout=2)
                break
            except urllib.error.HTTPError as exc:
                if exc.code == 401:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"the app did not start; see {log.name}")
            time.sleep(0.3)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextmanager
def app_server(*extra: str):
    """The app without a model (benchmarks of the page and the loop); yields the base URL."""
    with app_process("--no-model", *extra) as (base, _):
        yield base


def post_json(url: str, payload: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


