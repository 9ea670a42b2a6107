#!/usr/bin/env bash
# One training segment on the GPU machine (device tool), resumable across <=10-min commands.
#   bash benchmarks/time_to_walk/gpu_segment.sh SECONDS RUN_NAME [train args...]
# Trains the task of the train args' --task (default Athena-Velocity-Flat-v0) with --resume
# for at most SECONDS (then SIGKILL: checkpoints are atomic, the next segment resumes from the
# newest), logs GPU memory, and copies the run's params, TensorBoard events and checkpoints
# (every 250 its + newest) to $OUT: all in run_RUN.tar, or with MODELS_APART=1 the checkpoints
# as separate files model_RUN_<it>.pt beside a run_RUN.tar without them (a few MB each: the
# device tool brings back files of at most 16 MiB; MODELS_FROM=K leaves out those before K;
# MODELS_EVERY=N: every N its instead of 250).
set -uo pipefail
secs="$1"; run="$2"; shift 2
root="$(pwd)"
export PYTHONPATH="$HOME/site:$root/src/athena_description:$root/src/athena_train"
export PYTHONUNBUFFERED=1 WARP_CACHE_PATH="$HOME/warpcache"
task=Athena-Velocity-Flat-v0; prev=""
for a in "$@"; do
  case "$a" in --task=*) task="${a#--task=}";; esac
  [ "$prev" = "--task" ] && task="$a"; prev="$a"
done
case "$task" in Athena-Velocity-Rough*) exp=athena_rough;; *) exp=athena_flat;; esac
logs="$HOME/athena_logs"; run_dir="$logs/$exp/$run"
nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv -l 5 \
  > "$OUT/gpu_${run}_$(date +%s).csv" 2>&1 &
smi=$!
t0=$(date +%s.%N)
log="$OUT/train_${run}_$(date +%s).log"
echo "[gpu] $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)" > "$log"
timeout --signal=KILL "$secs" python -m athena_train.train --device cuda:0 --run_name "$run" \
  --resume --log_root "$logs" --save_interval 25 "$@" >> "$log" 2>&1
rc=$?
echo "segment rc=$rc wall=$(awk "BEGIN {print $(date +%s.%N) - $t0}")s"  # (no bc there)
kill $smi 2>/dev/null
grep -h "\[train\]" "$OUT"/train_"${run}"_*.log | grep -v "^\[train\] it" | tail -5
grep -h "^\[train\] it" "$OUT"/train_"${run}"_*.log | awk 'NR%20==1' | tail -40
ls "$run_dir" | tail -3
newest=$(ls "$run_dir"/model_*.pt | sed 's/.*model_\([0-9]*\)\.pt/\1/' | sort -n | tail -1)
# MODELS_FROM=K: only checkpoints of iteration >= K (e.g. those a resumed segment wrote)
models=$(cd "$run_dir" && { ls model_*.pt | awk -F'[_.]' -v k="${MODELS_FROM:-0}" \
  -v e="${MODELS_EVERY:-250}" '$2 % e == 0 && $2 >= k'; echo "model_${newest}.pt"; } | sort -u)
if [ "${MODELS_APART:-0}" = 1 ]; then
  (cd "$run_dir" && tar -cf "$OUT/run_${run}.tar" params git.txt events.out.tfevents*)
  for m in $models; do cp "$run_dir/$m" "$OUT/${m/model_/model_${run}_}"; done
else
  # shellcheck disable=SC2086
  (cd "$run_dir" && tar -cf "$OUT/run_${run}.tar" params git.txt events.out.tfevents* $models)
fi
ls -la "$OUT"
