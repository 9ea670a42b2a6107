#!/usr/bin/env bash
# On the GPU machine (device tool): the flat task on Isaac Lab's warp managers (issue 16).
#   bash benchmarks/time_to_walk/gpu_warp_flat.sh DEADLINE_EPOCH [RUN] [train args...]
# A training segment with train --managers warp (every manager's step captured into a CUDA
# graph) from scratch or resumed (gpu_segment.sh) until EVAL_S (260: the ceiling and the
# gate) seconds before DEADLINE_EPOCH; if it dies before writing a checkpoint, the rest of
# the time with the warp kernels run eagerly (MANAGER_CALL_CONFIG default 1; run RUN_eager).
# Then the physics-only ceiling at the same world count (at most CEILING_S, 90 s: before the
# gate, which at 32768 envs left it no time when it came last), the walking gate in Isaac Lab
# (gpu_eval.sh, the torch managers) on every EVAL_EVERY-th (50) checkpoint from iteration
# EVAL_FROM (150), the first EVAL_MAX (12) of them (about 6 s each; 13 took about 150 s with
# the export), and the newest, and the ONNX export of the newest. What comes back ($OUT, at most
# 8 files): the segment's log and nvidia-smi samples and segment.txt in meta.tar, run_RUN.tar
# (params, TensorBoard events, newest checkpoint), gate_RUN.json, policy_RUN.onnx,
# ceiling.json, warpcache.tgz (pack_warpcache.sh, < 15 MiB).
set -uo pipefail
deadline="$1"; run="${2:-flatw}"; shift 2 || shift $#
left() { echo $(( deadline - ${EVAL_S:-260} - $(date +%s) )); }
run_dir="$HOME/athena_logs/athena_flat/$run"
# a segment of run $1 on the warp managers until the evaluation's reserve (newest checkpoint kept)
segment() { MODELS_EVERY=1000000 bash benchmarks/time_to_walk/gpu_segment.sh "$(left)" "$1" \
              --managers warp "${@:2}" >> "$OUT/segment.txt" 2>&1; }
segment "$run" "$@"
if ! ls "$run_dir"/model_*.pt > /dev/null 2>&1 && [ "$(left)" -gt 120 ]; then
  echo "[warp] no checkpoint from the captured run: the rest eagerly" | tee -a "$OUT/segment.txt"
  grep -h -B2 -A12 Traceback "$OUT"/train_"$run"_*.log | tail -30 >> "$OUT/segment.txt"
  run="${run}_eager"; run_dir="$HOME/athena_logs/athena_flat/$run"
  MANAGER_CALL_CONFIG='{"default": 1}' segment "$run" "$@"
fi
tail -25 "$OUT/segment.txt"
# the physics-only ceiling at the same world count, on the same GPU, before the gate
envs=$(grep -ho "envs=[0-9]*" "$OUT"/train_*.log | tail -1 | cut -d= -f2)
secs=$(( deadline - $(date +%s) - 25 )); [ "$secs" -gt "${CEILING_S:-90}" ] && secs="${CEILING_S:-90}"
if [ -n "$envs" ] && [ "$secs" -gt 45 ]; then
  PYTHONPATH="$HOME/site" WARP_CACHE_PATH="$HOME/warpcache" \
    timeout "$secs" python benchmarks/time_to_walk/physics_ceiling.py \
    --num_envs "$envs" --steps 1000 --out "$OUT/ceiling.json" > "$HOME/ceiling.log" 2>&1
  echo "[warp] ceiling rc=$?"; tail -2 "$HOME/ceiling.log"
fi
its=$(ls "$run_dir" | sed -n 's/^model_\([0-9]*\)\.pt$/\1/p' | sort -n | awk -v f="${EVAL_FROM:-150}" \
      -v e="${EVAL_EVERY:-50}" '$1 >= f && $1 % e == 0' | head -n "${EVAL_MAX:-12}")
# shellcheck disable=SC2086
bash benchmarks/time_to_walk/gpu_eval.sh "$run" "$run" $its
bash benchmarks/time_to_walk/pack_warpcache.sh "$OUT/warpcache.tgz"
shopt -s nullglob  # logs and samples in one file: at most 8 come back
cd "$OUT" && small=(*.log *.csv segment.txt) && tar -cf meta.tar "${small[@]}" && rm -f "${small[@]}"
ls -la "$OUT"
