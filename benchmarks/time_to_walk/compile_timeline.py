"""What a cold start compiled, in order, from the kernel cache it left (issue 16).

``python benchmarks/time_to_walk/compile_timeline.py warpcache.tgz [--within S] [--out JSON]``

Warp writes each module's binary (``.cubin``, or ``.ptx``) into its kernel cache when the
module has compiled, and a process compiles one module at a time, when a kernel of it is
first launched. So in a cache that one cold run filled (``pack_warpcache.sh`` keeps the
files' times), the time between a binary and the one before it is that module's compile time
(plus whatever else the process did in between, so an upper bound). Modules are grouped into
families by name with the hashes taken out (``ccd_kernel_builder`` = MuJoCo-Warp's GJK/EPA
narrow phase, one module per geom-type pair and parameter set). A cache that several
processes filled one after another (training, then the gate's evaluation and the ceiling in
``gpu_warp_flat.sh``) holds their compiles too: ``--within S`` keeps the modules written in
the first S seconds (the training's start-up and first iteration).
"""

from __future__ import annotations

import argparse
import json
import re
import tarfile
from collections import defaultdict
from pathlib import Path

BINARY = re.compile(r"/(wp_[^/]+?)\.(?:sm\d+\.)?(cubin|ptx)$")


def family(module: str) -> str:
    """``wp__update_gradient_cholesky__locals__kernel_9294a632_13842bb`` -> its name sans hashes."""
    name = re.sub(r"_[0-9a-f]{7,8}(?=_|$)", "", module[3:])  # the kernel and module hashes
    return name.replace("__locals__", ".")


def timeline(tgz: Path, within_s: float | None = None) -> list[dict]:
    """The compiled modules in the cache, in the order they finished, with the gap before each.

    ``within_s``: only those written within that many seconds of the first.
    """
    with tarfile.open(tgz) as tar:
        found = [(m.mtime, m.size, BINARY.search(m.name)) for m in tar.getmembers() if m.isfile()]
    found = sorted((t, size, hit.group(1), hit.group(2)) for t, size, hit in found if hit)
    rows, prev = [], None
    for t, size, module, kind in found:
        if within_s is not None and t - found[0][0] > within_s:
            break
        rows.append({"t_s": t - found[0][0], "gap_s": 0 if prev is None else t - prev,
                     "module": module, "family": family(module), "format": kind,
                     "kib": round(size / 1024)})
        prev = t
    return rows


def main() -> int:
    """Print the families by total gap; with --out, write the timeline as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cache", type=Path, help="a packed warp kernel cache (pack_warpcache.sh)")
    ap.add_argument("--within", type=float, default=None, metavar="S",
                    help="only the modules written in the first S seconds")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    rows = timeline(args.cache, args.within)
    by_family: dict[str, dict] = defaultdict(lambda: {"modules": 0, "gap_s": 0})
    for r in rows:
        by_family[r["family"]]["modules"] += 1
        by_family[r["family"]]["gap_s"] += r["gap_s"]
    ranked = dict(sorted(by_family.items(), key=lambda kv: -kv[1]["gap_s"]))
    for name, f in list(ranked.items())[:15]:
        print(f"{f['gap_s']:5d} s  {f['modules']:3d} module(s)  {name}")
    if args.out:
        args.out.write_text(json.dumps({
            "cache": args.cache.name, "within_s": args.within, "modules": len(rows),
            "span_s": rows[-1]["t_s"] if rows else 0,
            "note": "gap_s: seconds since the previous module's binary was written (file times, "
                    "1 s resolution), an upper bound on the module's compile time",
            "families_by_gap": ranked, "timeline": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
