#!/usr/bin/env bash
# Docker HEALTHCHECK: healthy while the policy node publishes /diagnostics below ERROR.
set -eo pipefail
# shellcheck disable=SC1091
source "/opt/ros/${ROS_DISTRO:-humble}/setup.bash"
# shellcheck disable=SC1091
source /opt/athena/install/setup.bash
exec python3 /opt/athena/bin/healthcheck.py --timeout "${ATHENA_HEALTH_TIMEOUT:-5}"
