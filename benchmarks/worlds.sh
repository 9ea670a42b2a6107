#!/usr/bin/env bash
# Policies on the MuJoCo sim's terrain worlds, through the ROS nodes (athena_bringup.evaluate
# --world: straight-ahead commands; the walking gate's pushes, friction and masses, or with
# PROTOCOL=robustness the robustness gate's: 1.0 m/s pushes, friction 0.3-1.5, payload, weaker
# motors, athena_description.walking_gate).
#   [PROTOCOL=robustness] [LEVELS=1] [WORLDS="stairs_up ..."] bash benchmarks/worlds.sh \
#     [EPISODES] [POLICY.onnx ...]
# One JSON per policy and world: benchmarks/results/worlds/<policy dir>_<world>.json
# (robustness: benchmarks/results/robustness/<policy dir>_<world>.json). LEVELS=1: the
# episodes spread over the family's 10 levels (evaluate --levels; the Isaac Lab evaluation's
# span: steps 5-12 cm, slopes to 0.21, boxes +-2-6 cm), JSON names end in _levels; otherwise
# every episode on the world's demo sizes (10 cm steps, 0.21 slopes, +-6 cm boxes).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
episodes="${1:-4}"; shift || true
policies=("$@")
[ ${#policies[@]} -gt 0 ] || policies=(src/athena_train/policies/flat2/policy.onnx)
set +u; source .venv/bin/activate; source install/setup.bash; set -u
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-44}"
protocol="${PROTOCOL:-walking}"
out_dir=benchmarks/results/worlds; [ "$protocol" = walking ] || out_dir="benchmarks/results/$protocol"
mkdir -p "$out_dir"
levels=(); suffix=""
[ "${LEVELS:-0}" = 1 ] && levels=(--levels) && suffix=_levels
for policy in "${policies[@]}"; do
  tag="$(basename "$(dirname "$policy")")"
  for world in ${WORLDS:-stairs_up stairs_down slope_up slope_down rough boxes}; do
    python -m athena_bringup.evaluate --world "$world" --episodes "$episodes" --model "$policy" \
      --protocol "$protocol" "${levels[@]}" --out "$out_dir/${tag}_${world}${suffix}.json" \
      | grep -E '^\{"episode"' | cut -c1-120 \
      || true   # evaluate exits 3 when the gate fails: a result, not an error
  done
done
