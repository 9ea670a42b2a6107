"""terrain_eval policy: each family judged on its own tile, under the gates' push.

The real command on this CPU (a subprocess: this module's process may hold another Isaac Lab
env): rough5's committed ONNX under the robustness protocol, one robot on each family's
level-0 tile, 8 m tiles (the training's), so that robots walking 0.3-1.0 m/s straight ahead
leave their tile within the 20 s episode. An episode that leaves ends there, not as a fall,
and its time on the tile is what it is judged on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("isaaclab", reason="needs the training stack (requirements/train.txt)")

ROOT = Path(__file__).resolve().parents[3]
POLICY = ROOT / "benchmarks/results/rough5/policy.onnx"


def test_episodes_end_where_robots_leave_their_tile(tmp_path: Path) -> None:
    out_json = tmp_path / "eval.json"
    cmd = [sys.executable, "-m", "athena_train.terrain_eval", "policy", str(POLICY),
           "--device", "cpu", "--per_tile", "1", "--num_rows", "1", "--tile_m", "8",
           "--protocol", "robustness", "--out", str(out_json)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    (r,) = json.loads(out_json.read_text(encoding="utf-8"))
    assert r["tile_m"] == 8.0 and r["num_envs"] == 7
    fams = r["families"]
    assert len(fams) == 7
    for name, f in fams.items():
        assert f["episodes"] == 1, name
        assert f["falls"] + f["left_tile"] <= 1, (name, f)
        if f["left_tile"]:  # judged until it left: less than the episode
            assert f["mean_duration_s"] < 20.0 - 0.5, (name, f)
            # the last pose judged lies on the tile: within its half side (and the 0.5 m
            # start offset) of the centre
            assert f["max_displacement"] < 4.0 * 2 ** 0.5 + 0.6, (name, f)
    # 0.3-1.0 m/s for 20 s is 6-20 m: a robot that does not fall walks off a 4 m half tile
    assert r["all"]["left_tile"] >= 4, r["all"]
    assert r["all"]["left_tile"] + r["all"]["falls"] <= 7


def test_the_evaluation_tiles_hold_the_gate_s_run_of_terrain() -> None:
    """A 16 m tile's stair pyramid: 18 steps from platform to border, as the MuJoCo worlds."""
    from athena_train.tasks.terrains import rough_terrains_cfg
    from athena_train.terrain_eval import EVAL_TILE_M

    from athena_description import walking_gate as wg

    st = rough_terrains_cfg().sub_terrains["pyramid_stairs"]
    run = EVAL_TILE_M / 2 - st.platform_width / 2 - st.border_width
    assert int(run / st.step_width) == round(wg.TERRAIN_RUN_M / wg.STAIR_TREAD_M) == 18
