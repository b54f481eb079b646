#!/usr/bin/env bash
# Set everything up on a fresh Debian 12 machine (as root) and run the main job.
#   bash scripts/setup.sh            apt packages, .venv with wphw and its test tools, then `wphw demo`
#   WPHW_NO_DEMO=1 bash scripts/setup.sh   set up only
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium + chromium-driver: the controller's live view is tested in headless Chromium
APT_PACKAGES=(python3 python3-venv python3-dev gcc make iverilog yosys iproute2 tcpdump ethtool nftables curl iperf3 chromium chromium-driver)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
echo "setup: done (.venv ready; iverilog $(iverilog -V 2>/dev/null | head -1 | awk '{print $4}'))"

if [ -z "${WPHW_NO_DEMO:-}" ]; then
  .venv/bin/wphw demo --out out
fi
