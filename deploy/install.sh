#!/usr/bin/env bash
# Everything Tunesmith needs on a fresh Debian/Ubuntu machine: FluidSynth + a GM soundfont, and a venv.
# Idempotent: a second run only checks. Needs root (or sudo) for apt.
# --dev also installs what the tests need: Debian's chromium (driven by Playwright) and the dev tools.
set -euo pipefail
cd "$(dirname "$0")/.."
DEV=0
[ "${1:-}" = "--dev" ] && DEV=1

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
apt_packages="fluidsynth fluid-soundfont-gm python3-venv"
[ "$DEV" = 1 ] && apt_packages="$apt_packages chromium"
missing=""
for p in $apt_packages; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
extra=""
[ "$DEV" = 1 ] && extra="[dev]"
stamp=.venv/.installed-$DEV-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".$extra"
  touch "$stamp"
fi
