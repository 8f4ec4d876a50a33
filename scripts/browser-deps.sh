#!/usr/bin/env bash
# Installs what the dashboard's browser tests (tests/tests/dashboard.rs) need: Debian's `chromium`
# and `chromium-driver` (/usr/bin/chromium, /usr/bin/chromedriver). Idempotent: does nothing when
# both are there. Never downloads a browser build of its own. Needs root (or sudo) for apt-get.
set -euo pipefail

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
  echo "browser-deps: $(/usr/bin/chromedriver --version 2>/dev/null | head -n1 || echo chromedriver) already installed"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "browser-deps: need root or sudo to apt-get install chromium" >&2; exit 1; }
  sudo=(sudo)
fi

echo "browser-deps: installing chromium and chromium-driver with apt-get"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null

for bin in /usr/bin/chromium /usr/bin/chromedriver; do
  [[ -x $bin ]] || { echo "browser-deps: $bin still missing after apt-get install" >&2; exit 1; }
done
echo "browser-deps: $(/usr/bin/chromedriver --version | head -n1)"
