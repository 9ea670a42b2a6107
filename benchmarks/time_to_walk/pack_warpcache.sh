#!/usr/bin/env bash
# On the GPU machine: pack warp's kernel cache ($HOME/warpcache) for the next fresh machine.
#   bash benchmarks/time_to_walk/pack_warpcache.sh OUT.tgz
# Warp loads a cached module from its binary (.cubin, .ptx, .lto) and its .meta only, so the
# generated .cu sources stay behind (most of the cache's size). A pack the device tool cannot
# bring back (over 15 MiB) is removed; the size is printed either way.
set -uo pipefail
out="$1"
tar -czf "$out" -C "$HOME" --exclude='*.cu' warpcache 2>/dev/null
sz=$(stat -c %s "$out" 2>/dev/null || echo 0)
echo "[cache] $(du -sh "$HOME/warpcache" 2>/dev/null | cut -f1) packed into $sz bytes"
[ "$sz" -lt 15728640 ] || { rm -f "$out"; echo "[cache] over 15 MiB: not brought back"; }
