#!/usr/bin/env bash
# On the GPU machine: evaluate checkpoints of a run against the walking gate in Isaac Lab
# and export the newest to ONNX.  bash benchmarks/time_to_walk/gpu_eval.sh RUN_NAME TAG ITS...
set -uo pipefail
run="$1"; tag="$2"; shift 2
root="$(pwd)"
export PYTHONPATH="$HOME/site:$root/src/athena_description:$root/src/athena_train"
export PYTHONUNBUFFERED=1 WARP_CACHE_PATH="$HOME/warpcache"
run_dir="$HOME/athena_logs/athena_flat/$run"
newest=$(ls "$run_dir"/model_*.pt | sed 's/.*model_\([0-9]*\)\.pt/\1/' | sort -n | tail -1)
ckpts=""  # each once: the newest may also be among the ITS asked for
for it in $(printf '%s\n' "$@" "$newest" | sort -nu); do
  [ -f "$run_dir/model_$it.pt" ] && ckpts="$ckpts $run_dir/model_$it.pt"
done
python -m athena_train.evaluate $ckpts --episodes 50 --device cuda:0 \
  --out "$OUT/gate_${tag}.json" > "$HOME/eval_${tag}.log" 2>&1
echo "evaluate rc=$?"; grep '^{"episodes"' "$HOME/eval_${tag}.log" | cut -c1-330; tail -3 "$HOME/eval_${tag}.log" | cut -c1-300
python -m athena_train.export "$run_dir/model_$newest.pt" --out "$OUT/policy_${tag}.onnx" 2>&1 | tail -2
[ "${COPY_MODEL:-0}" = 1 ] && cp "$run_dir/model_$newest.pt" "$OUT/model_${tag}.pt"
