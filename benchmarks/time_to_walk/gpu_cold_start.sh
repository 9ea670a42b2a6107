#!/usr/bin/env bash
# On the GPU machine (device tool): what a cold warp kernel cache costs, then gpu_ratio.sh.
#   bash benchmarks/time_to_walk/gpu_cold_start.sh DEADLINE_EPOCH [RUN] [train args...]
# For issue 16's time to the flat gate with a cold cache on the same card as a warm run
# (gpu_warp_flat.sh): the same training started with an empty kernel cache for 3 iterations
# (RUN, default flatcold; train --managers warp as gpu_warp_flat.sh trains), so its start-up
# and first iteration (the kernel compilation) can replace the warm run's in report.py
# (--cold_start_run). The warm cache is set aside meanwhile and put back after. Then, until
# DEADLINE_EPOCH, gpu_ratio.sh. Everything comes back in $OUT/cold_start.tar (one file).
set -uo pipefail
deadline="$1"; run="${2:-flatcold}"; shift 2 || shift $#
[ -d "$HOME/warpcache" ] && mv "$HOME/warpcache" "$HOME/warpcache.warm"
mkdir -p "$HOME/warpcache"
MODELS_EVERY=1000000 bash benchmarks/time_to_walk/gpu_segment.sh \
  $(( deadline - $(date +%s) - 20 )) "$run" --managers warp --max_iterations 3 "$@" \
  > "$OUT/segment_${run}.txt" 2>&1
grep -h "start-up\|\[train\] it 0 " "$OUT"/train_"$run"_*.log
rm -f "$OUT/run_${run}.tar"  # checkpoints of 3 iterations: not needed
if [ -d "$HOME/warpcache.warm" ]; then
  rm -rf "$HOME/warpcache" && mv "$HOME/warpcache.warm" "$HOME/warpcache"
fi
bash benchmarks/time_to_walk/gpu_ratio.sh $(( deadline - 15 ))
cd "$OUT" && tar -cf cold_start.tar --exclude=cold_start.tar . && find . -type f \
  ! -name cold_start.tar -delete && ls -la "$OUT"
