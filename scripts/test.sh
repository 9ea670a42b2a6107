#!/usr/bin/env bash
# The test command (`make test`): colcon test over every package, then the workspace-level
# tests in tests/. Fails on any failure. Expects scripts/setup.sh to have run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
set +u  # colcon's and venv's activation scripts read unset variables
# shellcheck disable=SC1091
source .venv/bin/activate
# shellcheck disable=SC1091
source install/setup.bash
set -u
# Packages are tested one after another: several tests measure rates and latencies, and
# two packages testing at once on a 2-core machine would measure each other.
# Tests talk DDS on loopback only, in their own domain, so parallel runs on one machine
# (and other ROS graphs) do not cross.
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-42}"
export WARP_CACHE_PATH="${WARP_CACHE_PATH:-$HOME/.cache/athena/warp}"
export MUJOCO_GL="${MUJOCO_GL:-egl}"
status=0
colcon test --executor sequential --event-handlers console_direct+ --return-code-on-test-failure \
  --pytest-args -p no:cacheprovider || status=1
colcon test-result --verbose || status=1
echo "== workspace tests (tests/) =="
python -m pytest -p no:cacheprovider tests || status=1
if [ "$status" != 0 ]; then
  echo "TESTS FAILED" >&2
fi
exit "$status"
