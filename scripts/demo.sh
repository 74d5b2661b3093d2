#!/usr/bin/env bash
# The main job on a fresh machine: set up, build the demo catalog index from
# ../shared/data/catalog (once), then look at a street photo against it.
#   scripts/demo.sh [IMAGE...]     default: a street photo from ../shared/data/street
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
data=../shared/data
# Builds only when index/demo is missing or was made from another feed or embedder.
.venv/bin/shop-the-look index build "$data/catalog/feed.tsv" \
  --split "$data/catalog/split.tsv" --out index/demo --if-stale
if [ $# -eq 0 ]; then
  set -- "$data/street/images/ccp_0003.jpg"
fi
.venv/bin/shop-the-look look "$@"
