#!/usr/bin/env bash
# Debian's chromium for the dashboard's browser tests (driven by Playwright; never `playwright install`).
# Installed when this user can (root, or passwordless sudo); otherwise says how, and exits 0 so the
# rest of the setup goes on (the browser tests then fail with the same instruction).
set -u
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "warning: /usr/bin/chromium is missing and this is not a Debian/Ubuntu machine: install chromium so that" \
       "/usr/bin/chromium exists, or the dashboard browser tests will fail." >&2
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo -n"
else
  echo "warning: /usr/bin/chromium is missing and this user cannot install packages. Run:" \
       "sudo apt-get install -y chromium chromium-driver   (the dashboard browser tests need it)." >&2
  exit 0
fi
echo "installing Debian's chromium for the browser tests (apt-get) ..."
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq && $sudo apt-get install -y -qq chromium chromium-driver >/dev/null \
  || { echo "warning: apt-get could not install chromium; the dashboard browser tests will fail." >&2; exit 0; }
/usr/bin/chromium --version
