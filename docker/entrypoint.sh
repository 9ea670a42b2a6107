#!/usr/bin/env bash
# athena robot container: source ROS 2 + the workspace, make sure a TensorRT engine for this
# policy, this TensorRT and this GPU exists (build it if missing or stale), then launch.
#
# Environment (see docker/README.md):
#   ATHENA_POLICY       exported policy .onnx (with contract metadata)  [/models/policy.onnx]
#   ATHENA_ENGINE_CACHE writable directory for engines + sidecars         [/var/cache/athena]
#   ATHENA_BACKEND      auto | tensorrt | onnxruntime-gpu | onnxruntime-cpu [auto]
#   ATHENA_RT_PRIORITY  SCHED_FIFO priority of the control thread, 0 = off [80]
#   ATHENA_CPUS         CPU list for the control thread, e.g. "3" or "2-3", "" = unpinned [""]
#   ATHENA_ROS_SETUP / ATHENA_WS_SETUP  setup scripts to source (image defaults; tests override)
# Extra arguments are passed to `ros2 launch` (e.g. use_sim:=false).
set -euo pipefail

log() { echo "[athena-entrypoint] $*" >&2; }

# ROS setup scripts read unset variables: relax -u while sourcing them.
set +u
# shellcheck disable=SC1091
source "${ATHENA_ROS_SETUP:-/opt/ros/${ROS_DISTRO:-humble}/setup.bash}"
# shellcheck disable=SC1091
source "${ATHENA_WS_SETUP:-/opt/athena/install/setup.bash}"
set -u

policy="${ATHENA_POLICY:-/models/policy.onnx}"
cache="${ATHENA_ENGINE_CACHE:-/var/cache/athena}"
backend="${ATHENA_BACKEND:-auto}"

if [[ ! -f "${policy}" ]]; then
  log "policy ${policy} not found: mount it (-v /path/policy.onnx:/models/policy.onnx:ro)"
  exit 1
fi

model="${policy}"
if [[ "${backend}" == "auto" || "${backend}" == "tensorrt" ]]; then
  mkdir -p "${cache}"
  stem="$(basename "${policy}" .onnx)"
  engine="${cache}/${stem}.engine"
  # The ONNX beside the engine lets the node fall back to ONNX Runtime from the engine path.
  ln -sf "${policy}" "${cache}/${stem}.onnx"
  if python3 -m athena_policy_node.engine_cache --onnx "${policy}" --engine "${engine}"; then
    model="${engine}"
  elif [[ "${backend}" == "tensorrt" ]]; then
    log "ATHENA_BACKEND=tensorrt but no engine could be provided; refusing to start"
    exit 1
  else
    log "no TensorRT engine; falling back to ONNX Runtime (GPU if present, else CPU)"
    backend="onnxruntime-gpu"
  fi
fi

log "policy=${model} backend=${backend} rt_priority=${ATHENA_RT_PRIORITY:-80} cpus=${ATHENA_CPUS:-}"
exec ros2 launch athena_bringup robot.launch.py \
  "model_path:=${model}" \
  "backend:=${backend}" \
  "rt_priority:=${ATHENA_RT_PRIORITY:-80}" \
  "cpu_affinity:=${ATHENA_CPUS:-}" \
  "$@"
