#!/usr/bin/env bash
# Set up a fresh machine for Shop the Look. Idempotent: rerunning only installs what is missing.
#   scripts/setup.sh          the companion in .venv (Python ≥ 3.11)
#   scripts/setup.sh --test   also what the tests need: Debian's chromium and firefox-esr, Xvfb, Qt's
#                             libraries, Node.js (apt-get, as root or with sudo), the panel,
#                             dev, train and package extras
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$python" -m venv .venv
fi

if [ "$want_test" = 1 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  packages=(chromium firefox-esr xvfb xauth libgl1 libegl1 libgl1-mesa-dri libgbm1 libnss3 libnspr4
    libasound2 libdbus-1-3 libfontconfig1 fonts-dejavu-core libxkbcommon0 libxkbcommon-x11-0
    libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
    libxcb-shape0 libxcb-xkb1 libxcb-xfixes0 libxcb-glx0 libxcb-dri3-0 libx11-xcb1 libxcomposite1
    libxdamage1 libxrandr2 libxtst6 libxkbfile1 libxshmfence1 libglib2.0-0 strace x11-utils)
  command -v npx >/dev/null 2>&1 || packages+=(nodejs npm)  # web-ext lint runs through npx
  missing=()
  for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> apt-get install ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  # The training smoke tests need torch; torch and torchvision first, from the local disk
  # (see the train extra in pyproject.toml for why these versions).
  echo "==> pip install torch==2.14.1 torchvision==0.29.1, then -e .[dev,panel,train,package]"
  .venv/bin/pip install -q torch==2.14.1 torchvision==0.29.1
  .venv/bin/pip install -q -e ".[dev,panel,train,package]"
else
  echo "==> pip install -e ."
  .venv/bin/pip install -q -e .
fi
