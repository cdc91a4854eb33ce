#!/usr/bin/env bash
# LeRobot compatibility check: makes a Python 3.12 venv with lerobot[dataset,feetech]==0.6.1 OUTSIDE the
# repository (LeRobot 0.6.1 needs Python >= 3.12 and pins torch/pandas/numpy/av versions the project
# does not use), then runs bench/lerobot_compat.py in it. The project's own Python runs the store side.
# The test suite never needs this venv.
#
#   bash scripts/lerobot_venv.sh                 # make or reuse the venv, run the checks
#   bash scripts/lerobot_venv.sh --install-only  # only make the venv
#   bash scripts/lerobot_venv.sh --keep          # extra arguments go to bench/lerobot_compat.py
#
# Environment: VLM2VLA_LEROBOT_VENV (default ~/.cache/vlm2vla/lerobot-venv), VLM2VLA_PYTHON312 (a
# Python 3.12 to make the venv with; default: python3.12 on PATH, else pyenv's newest 3.12), and
# PROJECT_PYTHON (the project's Python, default python3). The first install downloads about 3 GB
# (torch from PyPI is a CUDA build).
set -euo pipefail
cd "$(dirname "$0")/.."

LEROBOT_VERSION=0.6.1
VENV="${VLM2VLA_LEROBOT_VENV:-$HOME/.cache/vlm2vla/lerobot-venv}"
PROJECT_PYTHON="${PROJECT_PYTHON:-python3}"

find_python312() {
    if [ -n "${VLM2VLA_PYTHON312:-}" ]; then echo "$VLM2VLA_PYTHON312"; return; fi
    if command -v python3.12 >/dev/null 2>&1; then command -v python3.12; return; fi
    local root
    root="$( (command -v pyenv >/dev/null 2>&1 && pyenv root) || echo "$HOME/.pyenv")"
    local found
    found="$(ls -d "$root"/versions/3.12.* 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -n "$found" ] && [ -x "$found/bin/python3" ]; then echo "$found/bin/python3"; return; fi
    echo "no Python 3.12 found: install one (e.g. pyenv install 3.12) or set VLM2VLA_PYTHON312" >&2
    exit 2
}

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then
    PY312="$(find_python312)"
    if [ -e "$VENV" ] && [ ! -f "$VENV/pyvenv.cfg" ]; then
        echo "$VENV exists and is not a venv: set VLM2VLA_LEROBOT_VENV to another folder" >&2
        exit 2
    fi
    echo "making the LeRobot venv at $VENV with $PY312"
    [ -f "$VENV/pyvenv.cfg" ] && rm -rf "$VENV"  # a venv of another Python version
    "$PY312" -m venv "$VENV"
fi
if ! "$VENV/bin/python" - "$LEROBOT_VERSION" <<'PY' 2>/dev/null
import importlib.metadata as m, importlib.util as u, sys
sys.exit(m.version("lerobot") != sys.argv[1] or u.find_spec("scservo_sdk") is None)  # feetech: SO101Follower's names
PY
then
    echo "installing lerobot[dataset,feetech]==$LEROBOT_VERSION into $VENV (about 3 GB the first time)"
    "$VENV/bin/python" -m pip install --quiet "lerobot[dataset,feetech]==$LEROBOT_VERSION"
fi
if [ "${1:-}" = "--install-only" ]; then
    "$VENV/bin/python" -c 'import lerobot; print("lerobot", lerobot.__version__, "ready")'
    exit 0
fi
exec "$VENV/bin/python" bench/lerobot_compat.py --project-python "$(command -v "$PROJECT_PYTHON")" "$@"
