#!/usr/bin/env bash
# On the GPU machine (device tool): the rough task's two device calls (issue 17).
#   bash benchmarks/rough/gpu_rough.sh first  DEADLINE_EPOCH [RUN]
#   bash benchmarks/rough/gpu_rough.sh second DEADLINE_EPOCH [RUN]
# first: the zero-action standing check per terrain family (terrain_eval stand, 240 envs, in
# the background: it compiles the same warp kernels as the training, on other cores) and a
# training segment of Athena-Velocity-Rough-v0 from scratch (gpu_segment.sh) until ~45 s
# before DEADLINE_EPOCH. second: the segment resumed, then the per-family walking-gate
# evaluation (terrain_eval policy) of the first segment's newest checkpoint and the new
# newest and the ONNX export of the newest. Both: the warp kernel cache if it packs under 15 MiB;
# with PROBE_ENVS=N first PROBE_S (75) seconds of a throwaway run at N envs (throughput only).
# INIT_FROM=PATH: the run is a warm start from PATH (train --init_from: a .pt checkpoint or an
# exported .onnx with params/ beside it, e.g. src/athena_train/policies/flat2/policy.onnx;
# passed in both phases, train applies it only while the run has no checkpoint of its own);
# INIT_STD, CRITIC_WARMUP: its --init_std and --critic_warmup. STAND=0: no standing check.
# MAX_ITERATIONS: the run's total iterations (below).
# RESUME_FROM=DIR: continue a run kept from an earlier session (below).
# AB_S=N (first phase): issue 16's A/B on one machine and one run: the first N seconds of the
# segment as configured, the rest with the train args AB_ARGS (default
# --decimation_in_physics, the physics runs the substeps in one CUDA graph; or --managers warp,
# Isaac Lab's warp managers); if that part fails (a traceback in its log), the rest without.
# AB_FIRST_ARGS: train args for the first N seconds only, e.g. the configuration before issue
# 16's changes: "--managers torch --solver njmax=1000 --solver nconmax=300" (Isaac Lab's stock
# managers, train's default on a GPU before 2026-12-07, and its solver capacities).
# EVAL_EXTRA="P ...": more policies for the second phase's evaluation (.pt or .onnx, e.g.
# flat2's ONNX as a baseline); EVAL_PER_TILE: episodes per tile (default 5: 50 per family);
# EVAL_PROTOCOL: walking (default) or robustness (athena_description.walking_gate).
# What comes back ($OUT, at most 8 files): meta_PHASE.tar (logs, nvidia-smi, JSON, run tar
# with params and TensorBoard events), model_RUN_<it>.pt (every 250 its + newest, new ones
# only), policy_RUN.onnx, warpcache.tgz.
set -uo pipefail
phase="$1"; deadline="$2"; run="${3:-rough1}"
warm=()
[ -n "${INIT_FROM:-}" ] && warm+=(--init_from "$INIT_FROM")
[ -n "${INIT_STD:-}" ] && warm+=(--init_std "$INIT_STD")
[ -n "${CRITIC_WARMUP:-}" ] && warm+=(--critic_warmup "$CRITIC_WARMUP")
# MAX_ITERATIONS=N: train's --max_iterations (the run's total; the task's agent config says
# 3000, which a run continued across sessions, like rough4 -> rough5 -> rough6, reaches)
[ -n "${MAX_ITERATIONS:-}" ] && warm+=(--max_iterations "$MAX_ITERATIONS")
# DECIMATION_IN_PHYSICS=1: train --decimation_in_physics in every segment (not with AB_S)
[ "${DECIMATION_IN_PHYSICS:-0}" = 1 ] && warm+=(--decimation_in_physics)
# MANAGERS=torch|warp: train --managers in every segment (default: train's, warp on the GPU)
[ -n "${MANAGERS:-}" ] && warm+=(--managers "$MANAGERS")
# TRAIN_ARGS="...": more train args in every segment, e.g. "--set
# env.rewards.swing_apex.weight=-0.3" (a config change for a resumed run)
# shellcheck disable=SC2206
[ -n "${TRAIN_ARGS:-}" ] && warm+=(${TRAIN_ARGS})
root="$(pwd)"
export PYTHONPATH="$HOME/site:$root/src/athena_description:$root/src/athena_train"
export PYTHONUNBUFFERED=1 WARP_CACHE_PATH="$HOME/warpcache"
task=Athena-Velocity-Rough-v0
run_dir="$HOME/athena_logs/athena_rough/$run"
left() { echo $(( deadline - $(date +%s) )); }
newest() { ls "$run_dir"/model_*.pt 2>/dev/null | sed 's/.*model_\([0-9]*\)\.pt/\1/' | sort -n | tail -1; }
# a kernel cache brought back earlier (warpcache.tgz of an earlier run, carried as
# .warpcache/warpcache.tgz, ignored by git) replaces the cold compile on a fresh machine. With
# the last wheel chunk it would pass the 64 MiB a call carries: carry it in a call of its own
# before, `tar -xzf .warpcache/warpcache.tgz -C ~` (it stays on the machine while it is warm)
if [ -f .warpcache/warpcache.tgz ] && [ ! -d "$WARP_CACHE_PATH" ]; then
  tar -xzf .warpcache/warpcache.tgz -C "$HOME" && echo "[rough] warp cache unpacked from .warpcache"
fi
# RESUME_FROM=DIR: a run directory kept from an earlier session (model_<it>.pt, params/,
# git.txt; e.g. benchmarks/results/rough4), copied in on a machine holding no
# checkpoint of RUN, so that a fresh machine continues that run instead of starting over
if [ -n "${RESUME_FROM:-}" ] && [ -z "$(newest)" ]; then
  mkdir -p "$run_dir" && cp -r "$RESUME_FROM"/. "$run_dir"/ \
    && echo "[rough] run $run seeded from $RESUME_FROM (model_$(newest))"
fi
echo "[rough] phase $phase: $(left) s left; warp cache $(du -sh "$WARP_CACHE_PATH" 2>/dev/null | cut -f1)"
if [ "$phase" = first ]; then
  stand=""
  if [ "${STAND:-1}" = 1 ]; then
    ( timeout 420 python -m athena_train.terrain_eval stand --device cuda:0 --per_tile 4 \
        --steps 50 --out "$OUT/stand_gpu.json" > "$OUT/stand_gpu.log" 2>&1
      echo "[rough] stand rc=$?" >> "$OUT/stand_gpu.log" ) &
    stand=$!
  fi
  # the segment until ~45 s before the deadline (extra train args after it)
  rest() { MODELS_APART=1 MODELS_FROM=1 bash benchmarks/time_to_walk/gpu_segment.sh \
             $(( $(left) - 45 )) "$run" --task "$task" --seed 42 "${warm[@]}" "$@"; }
  if [ "${AB_S:-0}" -gt 0 ]; then
    # shellcheck disable=SC2086
    bash benchmarks/time_to_walk/gpu_segment.sh "$AB_S" "$run" --task "$task" --seed 42 \
      "${warm[@]}" ${AB_FIRST_ARGS:-} > "$OUT/ab_loop.log" 2>&1
    # shellcheck disable=SC2086
    rest ${AB_ARGS:---decimation_in_physics}
    if grep -q "Traceback" "$(ls -t "$OUT"/train_"$run"_*.log | head -1)" \
        && [ "$(left)" -gt 150 ]; then
      echo "[rough] ${AB_ARGS:---decimation_in_physics} failed: the rest without"
      rest
    fi
  else
    rest
  fi
  grep -h "warm start\|contract:\|critic warm-up\|terrain levels" "$OUT"/train_"$run"_*.log
  if [ -n "$stand" ]; then
    wait "$stand"
    grep -h '^{"all"' "$OUT/stand_gpu.log" | cut -c1-600; grep -h "^\[rough\]\|Error" "$OUT/stand_gpu.log" | tail -5
  fi
else
  if [ "${PROBE_ENVS:-0}" -gt 0 ]; then  # throughput at another env count, a throwaway run
    timeout --signal=KILL "${PROBE_S:-75}" python -m athena_train.train --device cuda:0 \
      --task "$task" --num_envs "$PROBE_ENVS" --run_name "probe$PROBE_ENVS" --seed 1 \
      --log_root "$HOME/probe_logs" --save_interval 100000 --max_iterations 100000 \
      > "$OUT/train_probe${PROBE_ENVS}_$(date +%s).log" 2>&1
    grep -h "start-up\|^\[train\] it" "$OUT"/train_probe*.log | awk 'NR%10==1' | cut -c1-160
  fi
  prev=$(newest); echo "[rough] resuming after model_$prev"
  MODELS_APART=1 MODELS_FROM=$(( prev + 1 )) bash benchmarks/time_to_walk/gpu_segment.sh \
    $(( $(left) - ${EVAL_RESERVE_S:-150} )) "$run" --task "$task" --seed 42 "${warm[@]}"
  grep -h "terrain levels\|holds no terrain" "$OUT"/train_"$run"_*.log
  last=$(newest)
  if [ "$(left)" -gt 70 ]; then
    # shellcheck disable=SC2086
    timeout $(( $(left) - 40 )) python -m athena_train.terrain_eval policy \
      "$run_dir/model_$prev.pt" "$run_dir/model_$last.pt" ${EVAL_EXTRA:-} \
      --per_tile "${EVAL_PER_TILE:-5}" --protocol "${EVAL_PROTOCOL:-walking}" --device cuda:0 \
      --out "$OUT/eval_families.json" > "$OUT/eval_families.log" 2>&1
    echo "[rough] eval rc=$?"; grep -h '^{"checkpoint"' "$OUT/eval_families.log" | cut -c1-400
  fi
  [ "$(left)" -gt 25 ] && timeout $(( $(left) - 20 )) python -m athena_train.export \
    "$run_dir/model_$last.pt" --out "$OUT/policy_${run}.onnx" > "$OUT/export.log" 2>&1
  tail -2 "$OUT/export.log" 2>/dev/null
fi
# the kernel cache, in either phase (a session may get one call only): the next fresh machine
# skips most of the cold start-up and first iteration (rough6's cold ones: 71 s and 62 s)
bash benchmarks/time_to_walk/pack_warpcache.sh "$OUT/warpcache.tgz"
echo "[rough] 'overflowed' warnings per log:"; grep -c "overflowed" "$OUT"/*.log
shopt -s nullglob
cd "$OUT" && small=(*.log *.csv *.json run_*.tar) && tar -cf "meta_$phase.tar" "${small[@]}" \
  && rm -f "${small[@]}"
ls -la "$OUT"; echo "[rough] done, $(left) s left"
