#!/usr/bin/env bash
# On the GPU machine (device tool): the env step against the physics-only ceiling, one card.
#   bash benchmarks/time_to_walk/gpu_ratio.sh DEADLINE_EPOCH
# In this order (most wanted first), each only if DEADLINE_EPOCH leaves it time: what the
# robot's self-collision cost (off since 2026-12-07, tasks/robot_cfg.py): the flat warp env
# step at 16384 envs and the rough torch env step at 8192, without and with
# (warp_managers_ab.py --self_collision); where the warp managers' env step goes, stage by
# stage, at 8192 and 16384 envs (Isaac Lab's stage timers, warp_managers_ab.py
# --stage_timers); the warp env step with the solver capped at
# SOLVER_CAP (5) iterations (solver_iterations.py: the slowest of 8192 worlds takes about 7);
# then what an H100 measured on 2026-12-07 (docs/profiling.md), for another card: the flat
# task's env step on Isaac Lab's torch and warp managers at 8192 envs (one process per mode);
# the rough task's env step with Isaac Lab's solver capacities (njmax 1000, nconmax 300) and
# with athena's (tasks/physics.py); the physics-only ceiling at 8192 and 16384 worlds
# (physics_ceiling.py); the flat A/B again with the decimation loop in the physics; the warp
# managers at 16384 envs. JSONs to $OUT.
set -uo pipefail
deadline="$1"
root="$(pwd)"
export PYTHONPATH="$HOME/site:$root/src/athena_description:$root/src/athena_train"
export PYTHONUNBUFFERED=1 WARP_CACHE_PATH="$HOME/warpcache"
left() { echo $(( deadline - $(date +%s) )); }
bench="benchmarks/time_to_walk"
# name, seconds it needs, command
step() {
  local name="$1" need="$2"; shift 2
  if [ "$(left)" -lt "$need" ]; then echo "[ratio] $name skipped: $(left) s left"; return; fi
  timeout $(( $(left) - 5 )) "$@" > "$HOME/$name.log" 2>&1
  echo "[ratio] $name rc=$? ($(left) s left)"; tail -1 "$HOME/$name.log" | cut -c1-400
}
nvidia-smi --query-gpu=name --format=csv,noheader
rough="--task Athena-Velocity-Rough-v0 --num_envs 8192 --modes torch --warmup 20 --steps 100"
# name, seconds each half needs, warp_managers_ab.py args: the env step without, then with
# the robot's self-collision
self_collision_ab() {
  local name="$1" need="$2"; shift 2
  step "self_collision_off_$name" "$need" python "$bench/warp_managers_ab.py" "$@" \
    --out "$OUT/self_collision_ab_${name}_off.json"
  step "self_collision_on_$name" "$need" python "$bench/warp_managers_ab.py" "$@" \
    --self_collision --out "$OUT/self_collision_ab_${name}_on.json"
}
self_collision_ab 16384 80 --num_envs 16384 --modes warp
# shellcheck disable=SC2086
self_collision_ab rough_8192 150 $rough
for n in 8192 16384; do
  step "stages_$n" 90 python "$bench/warp_managers_ab.py" --num_envs "$n" --modes warp \
    --steps 100 --stage_timers 50 --out "$OUT/warp_stage_timers_$n.json"
done
step ab_8192_cap 80 python "$bench/warp_managers_ab.py" --num_envs 8192 --modes warp \
  --solver iterations="${SOLVER_CAP:-5}" --out "$OUT/warp_managers_ab_8192_cap${SOLVER_CAP:-5}.json"
step ab_8192 150 python "$bench/warp_managers_ab.py" --num_envs 8192 --modes torch,warp \
  --out "$OUT/warp_managers_ab_8192.json"
# shellcheck disable=SC2086
step rough_capacity_isaaclab 150 python "$bench/warp_managers_ab.py" $rough \
  --solver njmax=1000 --solver nconmax=300 --out "$OUT/capacity_ab_rough_isaaclab_8192.json"
# (only as the other half of the pair: alone it compares with nothing)
# shellcheck disable=SC2086
[ -f "$OUT/capacity_ab_rough_isaaclab_8192.json" ] && step rough_capacity_athena 90 \
  python "$bench/warp_managers_ab.py" $rough --out "$OUT/capacity_ab_rough_athena_8192.json"
for n in 8192 16384; do
  step "ceiling_$n" 60 python "$bench/physics_ceiling.py" --num_envs "$n" --steps 1000 \
    --out "$OUT/ceiling_$n.json"
done
step ab_8192_dip 150 python "$bench/warp_managers_ab.py" --num_envs 8192 --modes torch,warp \
  --decimation_in_physics --out "$OUT/warp_managers_ab_8192_dip.json"
step ab_16384 80 python "$bench/warp_managers_ab.py" --num_envs 16384 --modes warp \
  --out "$OUT/warp_managers_ab_16384.json"
ls -la "$OUT"
