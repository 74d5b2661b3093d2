#!/usr/bin/env bash
# Build a retailer's branded installer (see docs/packaging.md):
#   scripts/package.sh brands/<name> [--out DIR] [--index DIR] [--no-archive]
# writes dist/<name>/ (app/, extension/, install.sh, uninstall.sh) and, on Linux,
# dist/<name>-linux-<arch>.tar.gz. Needs the panel and package extras:
#   .venv/bin/pip install -e '.[panel,package]'
# PYTHON picks another interpreter (CI on Windows and macOS sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
if ! "$python" -c "import PyInstaller, webview" 2>/dev/null; then
  echo "error: PyInstaller or pywebview missing: $python -m pip install -e '.[panel,package]'" >&2
  exit 2
fi
exec "$python" -m packager "$@"
