#!/usr/bin/env bash
# Set up everything the tests need (system packages, .venv with the dev, panel and train extras),
# check style, and run the whole test suite. CI runs exactly this (.ci/run).
# Any skipped test fails the run here (tests/support/strict_skips.py): a skip means a missing
# browser, package or data folder, and CI must not pass without what it claims to test.
# For a quicker local run: .venv/bin/python -m pytest tests/unit -q (seconds), or -m "not e2e".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
.venv/bin/ruff check companion training tests benchmarks packager
SHOP_THE_LOOK_STRICT_SKIPS=1 .venv/bin/python -m pytest -q -rs "$@"
