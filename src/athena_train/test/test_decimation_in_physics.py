"""``decimation_in_physics``: the physics runs a policy step's substeps in one call, same motion.

Real Isaac Lab (Newton + MuJoCo-Warp on warp's CPU device). The same seeded env (2 robots,
flat ground, no noise or pushes) takes the same 12 seeded random actions twice, in two
processes (Isaac Lab holds one simulation per process): once with Isaac Lab's loop (one
``sim.step`` per substep) and once with the loop handed to Newton
(``tasks.physics.hand_decimation_to_physics``; on a GPU that loop is one CUDA-graph replay,
on the CPU it runs eagerly, through the same code path). The robots must end in the same
state, the substep velocity record must hold the same samples, and the feet's contact
sensor must still see the ground.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("isaaclab", reason="needs the training stack (requirements/train.txt)")

STEPS = 12


def _run(on: bool, out: Path) -> None:
    """One process: build the env, step it, write what it ended in to ``out``."""
    import torch
    from athena_description.policy_contract import ACTION_DIM

    from athena_train import train as trainer

    def edit(cfg: object) -> None:
        cfg.randomization.obs_noise = False
        cfg.randomization.pushes = False
        cfg.apply_randomization()
        cfg.decimation_in_physics = on

    env, _ = trainer.make_env_and_cfg("Athena-Velocity-Flat-v0", 2, "cpu", 3, edit_env_cfg=edit)
    uenv = env.unwrapped
    robot, term = uenv.scene["robot"], uenv.action_manager.get_term("joint_pos")
    feet = uenv.scene["contact_forces"].find_bodies(".*_ankle_roll_link")[0]
    gen = torch.Generator().manual_seed(5)
    resets = 0
    for _ in range(STEPS):
        env.step(torch.randn(2, ACTION_DIM, generator=gen) * 0.5)
        resets += int(uenv.reset_buf.sum())
    forces = uenv.scene["contact_forces"].data.net_forces_w.torch[:, feet]
    out.write_text(json.dumps({
        "handled": bool(uenv._physics_handles_decimation),
        "resets": resets,
        "root_pose": robot.data.root_pose_w.torch.tolist(),
        "joint_pos": robot.data.joint_pos.torch.tolist(),
        "substep_velocity": term.substep_velocity().tolist(),
        "feet_force_z": forces[..., 2].tolist(),
    }))
    env.close()


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, dict]:
    """The two runs' end states, keyed by decimation_in_physics."""
    d = tmp_path_factory.mktemp("decimation")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    results = {}
    for on in (False, True):
        out = d / f"{on}.json"
        proc = subprocess.run([sys.executable, __file__, "1" if on else "0", str(out)],
                              capture_output=True, text=True, timeout=900, env=env)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        results[on] = json.loads(out.read_text())
    return results


def test_the_physics_takes_the_loop_only_when_asked(both: dict[bool, dict]) -> None:
    assert both[True]["handled"] and not both[False]["handled"]
    assert both[True]["resets"] == both[False]["resets"] == 0  # nobody fell: comparable


def test_same_motion_and_same_substep_samples(both: dict[bool, dict]) -> None:
    import numpy as np

    for key in ("root_pose", "joint_pos", "substep_velocity"):
        np.testing.assert_allclose(np.array(both[True][key]), np.array(both[False][key]),
                                   atol=1e-4, rtol=1e-4, err_msg=key)
    sub = np.array(both[True]["substep_velocity"])
    assert sub.shape[0] == 4 and (np.diff(sub[..., 2], axis=0) != 0).all()  # 4 distinct samples


def test_contact_sensor_still_sees_the_feet(both: dict[bool, dict]) -> None:
    """Standing robots: each has a foot pressing on the ground at the end of the loop."""
    import numpy as np

    fz = np.array(both[True]["feet_force_z"])
    assert (fz.max(axis=1) > 10.0).all(), fz


if __name__ == "__main__":
    _run(sys.argv[1] == "1", Path(sys.argv[2]))
