#!/usr/bin/env bash
# Set up everything the tests need (system packages, .venv with the dev and panel extras),
# check style, and run the whole test suite. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
.venv/bin/ruff check companion training tests benchmarks
.venv/bin/python -m pytest -q "$@"
