#!/usr/bin/env bash
# Starts VLM2VLA Studio on http://127.0.0.1:7860 (installs what it needs first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec python3 app.py "$@"
