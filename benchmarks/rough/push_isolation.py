"""How much of a policy's robustness-gate falls the pushes cause: the protocol without them.

``python benchmarks/rough/push_isolation.py POLICY [--with PUSHED.json] [--per_tile 5]
[--device cpu] --out OUT.json``

Runs ``terrain_eval``'s evaluation (every family on its own 16 m tile, levels 0-9) under the
robustness protocol with one change, ``push_speed`` 0 (friction, masses, payload, weaker
motors and commands as the gate draws them), and writes, per family, falls and velocity error
beside those of the same policy under the full protocol (``--with``: that evaluation's JSON,
e.g. ``benchmarks/results/rough6/isaaclab_robustness_tile16_cpu.json``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from athena_description import walking_gate as gate

NO_PUSH = "robustness_no_push"


def main() -> int:
    """Evaluate, compare, write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("policy", type=Path)
    ap.add_argument("--with", dest="pushed", type=Path, default=None)
    ap.add_argument("--per_tile", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    # the gate's protocol with its pushes off, under a name of its own
    no_push = dataclasses.replace(gate.ROBUSTNESS, name=NO_PUSH, push_speed=0.0,
                                  push_period_s=0.0)
    from athena_train.terrain_eval import evaluate_families

    run = evaluate_families([args.policy], per_tile=args.per_tile, device=args.device,
                            protocol=no_push)[0]
    pushed = json.loads(args.pushed.read_text())[0] if args.pushed else None
    keys = ("episodes", "falls", "mean_lin_vel_error", "left_tile")
    table = {f: {"no_pushes": {k: v.get(k) for k in keys},
                 **({"pushed": {k: pushed["families"][f].get(k) for k in keys}}
                    if pushed else {})}
             for f, v in run["families"].items()}
    out = {"policy": str(args.policy), "protocol": dataclasses.asdict(no_push),
           "pushed_source": str(args.pushed) if args.pushed else None,
           "per_family": table, "no_pushes_evaluation": run}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    for f, row in table.items():
        print(f, json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
