#!/usr/bin/env bash
# Installs what the app and the tests need on a fresh Debian machine (idempotent, non-interactive).
set -euo pipefail
cd "$(dirname "$0")/.."
DEB_PACKAGES="chromium libhidapi-hidraw0 postgresql libegl1 libegl-mesa0 libgl1-mesa-dri libgl1"
missing=""
for p in $DEB_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing Debian packages:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
python3 -m pip install -q -r requirements-dev.txt
# the project itself, editable: `python bench/perf/recording.py` (and every other script) imports core, recipes
# and the bench helpers from this checkout without touching sys.path
installed=$(cd / && python3 -c "import os, recipes; print(os.path.dirname(os.path.dirname(os.path.realpath(recipes.__file__))))" 2>/dev/null || true)
if [ "$installed" != "$(pwd -P)" ]; then
  python3 -m pip install -q --no-deps -e .
fi
