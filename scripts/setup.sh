#!/usr/bin/env bash
# One-command setup of the athena workspace (idempotent; `make setup` calls it).
#
#   bash scripts/setup.sh            # base workspace: ROS 2 core, MuJoCo, ONNX Runtime, colcon build
#   bash scripts/setup.sh --train    # ... plus the training stack (Isaac Lab 3.0, rsl-rl; ~8 GB)
#
# Without a sourced ROS 2: creates .venv on Python 3.12 (from PATH or pyenv) and installs the
# ROS 2 Kilted core from PyPI wheels (requirements/ros.txt). With a sourced ROS 2 (Humble,
# Jazzy, Kilted from apt): creates .venv on that distribution's Python with system site
# packages, so rclpy and the messages come from ROS, and installs only what is missing.
# Then `colcon build --symlink-install`; afterwards `source install/setup.bash`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="$root/.venv"
want_train=0
for arg in "$@"; do
  case "$arg" in
    --train) want_train=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }
export PIP_DISABLE_PIP_VERSION_CHECK=1

find_python312() {
  local c
  for c in python3.12 "$(command -v pyenv >/dev/null 2>&1 && pyenv prefix 3.12.1 2>/dev/null)/bin/python3.12"; do
    if [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys, venv; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    for c in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.[0-9]+)?$' | sort -rV); do
      [ -x "$(pyenv prefix "$c")/bin/python3.12" ] && { echo "$(pyenv prefix "$c")/bin/python3.12"; return 0; }
    done
  fi
  return 1
}

# --- 1. the virtual environment ------------------------------------------------------------
if [ -n "${ROS_DISTRO:-}" ] && python3 -c 'import rclpy' 2>/dev/null; then
  mode="ros-$ROS_DISTRO"
  py="$(command -v python3)"
  venv_args=(--system-site-packages)
else
  mode="pip-kilted"
  py="$(find_python312)" || die "Python 3.12 not found. Install it (Debian/Ubuntu: 'apt install python3.12 python3.12-venv'; pyenv: 'pyenv install 3.12'), or source a ROS 2 distribution first."
  venv_args=()
fi
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.athena-mode" 2>/dev/null)" != "$mode" ]; then
  log "creating .venv with $py ($mode)"
  rm -rf "$venv"
  "$py" -m venv "${venv_args[@]}" "$venv"
  echo "$mode" > "$venv/.athena-mode"
fi
vpy="$venv/bin/python"

# --- 2. packages (skipped when the pinned lists have not changed) --------------------------
reqs=(requirements/base.txt)
[ "$mode" = "pip-kilted" ] && reqs+=(requirements/ros.txt)
[ "$want_train" = 1 ] && reqs+=(requirements/train.txt)
stamp="$venv/.athena-reqs"
want_hash="$(cat "${reqs[@]}" | sha256sum | cut -d' ' -f1)"
# A venv set up with --train (by `make test`) already holds everything a base setup (`make
# sim`) needs: accept it as up to date rather than re-resolving the base lists over it.
train_hash="$(cat "${reqs[@]}" $([ "$want_train" = 1 ] || echo requirements/train.txt) | sha256sum | cut -d' ' -f1)"
have_hash="$(cat "$stamp" 2>/dev/null || true)"
if [ "$have_hash" != "$want_hash" ] && [ "$have_hash" != "$train_hash" ]; then
  req_args=()
  for r in "${reqs[@]}"; do req_args+=(-r "$r"); done
  # With ROS from apt, requirements/ros.txt (rclpy, messages, colcon, numpy, yaml) is left
  # out: the distribution's own builds are used, and pip adds only what they lack.
  [ "$mode" = "pip-kilted" ] || log "ROS 2 $ROS_DISTRO is sourced: installing only what it lacks"
  log "installing ${reqs[*]} (pip cache: ${PIP_CACHE_DIR:-default})"
  # (the filter drops one harmless warning some machines' pip configuration prints per package)
  "$vpy" -m pip install -q "${req_args[@]}" 2> >(grep -v 'is ignored: it is neither' >&2)
  echo "$want_hash" > "$stamp"
else
  log "packages up to date"
fi

# --- 3. system libraries for offscreen rendering (MuJoCo EGL/OSMesa) -----------------------
missing_apt=()
while read -r pkg; do
  [ -z "$pkg" ] || dpkg -s "$pkg" >/dev/null 2>&1 || missing_apt+=("$pkg")
done < <(grep -vE '^\s*(#|$)' requirements/apt.txt)
if [ "${#missing_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "apt-get install ${missing_apt[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_apt[@]}" >/dev/null \
      || die "apt-get install ${missing_apt[*]} failed"
  else
    log "warning: offscreen rendering needs: sudo apt-get install ${missing_apt[*]} (videos/images are skipped without it)"
  fi
fi

# --- 4. build ------------------------------------------------------------------------------
log "colcon build --symlink-install"
# A file deleted from src/ leaves a dangling symlink in build/ that makes setuptools fail
# ("can't copy ... doesn't exist") on the next symlink build: drop those first.
[ -d build ] && find build -xtype l -delete
# shellcheck disable=SC1091
source "$venv/bin/activate"
# The interface package (athena_msgs, ament_cmake) finds ament and rosidl where the wheels put
# their CMake files: the venv's share/ (a sourced ROS 2 distribution has them on its own path).
if [ "$mode" = "pip-kilted" ]; then
  export CMAKE_PREFIX_PATH="$venv${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export AMENT_PREFIX_PATH="$venv${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
fi
colcon build --symlink-install --event-handlers console_direct- || die "colcon build failed (see log/latest_build)"
[ -f install/setup.bash ] || die "colcon build left no install/setup.bash"
log "done: source install/setup.bash (python: $vpy)"
