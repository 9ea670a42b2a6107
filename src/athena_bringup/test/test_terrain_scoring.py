"""Scoring on the sim's terrain worlds: a fall is measured from the ground under the base."""

import numpy as np
from athena_bringup.evaluate import sample_episode
from athena_bringup.sim_demo import FALL_HEIGHT_M, base_height

from athena_description import walking_gate as wg


def test_base_height_is_measured_from_the_ground_under_the_base() -> None:
    # on stairs_up's landing (60 cm) a base at 1.35 m stands 0.75 m high; at 1.0 m it is down
    pose = np.array([[0.0, 0.0, 0.75], [6.0, 0.0, 1.35], [6.0, 0.0, 1.0]])
    h = base_height(pose, "stairs_up")
    assert np.allclose(h, [0.75, 0.75, 0.40])
    assert (h < FALL_HEIGHT_M).tolist() == [False, False, True]
    assert np.array_equal(base_height(pose, "flat"), pose[:, 2])


def test_terrain_episodes_walk_straight_ahead() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        vx, vy, yaw = sample_episode(rng, wg.TERRAIN_COMMAND_RANGES)["cmd"]
        assert 0.3 <= vx <= 1.0 and vy == 0.0 and yaw == 0.0


def test_robustness_episodes_draw_payload_and_weaker_motors() -> None:
    """The robustness protocol's ranges; the walking protocol draws what it always drew."""
    rng = np.random.default_rng(1)
    p = wg.ROBUSTNESS
    for _ in range(50):
        ep = sample_episode(rng, None, p)
        assert p.friction_range[0] <= ep["friction_scale"] <= p.friction_range[1]
        assert p.payload_kg[0] <= ep["payload_kg"] <= p.payload_kg[1]
        assert p.motor_strength[0] <= ep["motor_strength"] <= p.motor_strength[1]
        assert ep["cmd"][1:] == (0.0, 0.0)
    walking = sample_episode(np.random.default_rng(7))
    assert set(walking) == {"cmd", "friction_scale", "mass_scale", "seed"}
    # the first walking-gate episode of seed 7, as committed gate runs drew it
    assert walking["cmd"][0] == np.random.default_rng(7).uniform(*wg.COMMAND_RANGES["lin_vel_x"])


def test_levels_spread_episodes_over_the_curriculum_levels() -> None:
    """--levels: episode i on level i mod 10, its difficulty inside that level, fixed by seed."""
    from athena_bringup.evaluate import episode_difficulty, falls_by_level, world_spec

    got = [episode_difficulty(i, seed=100 + i) for i in range(20)]
    assert [lv for lv, _ in got] == list(range(10)) * 2
    assert all(lv / 10 <= d < (lv + 1) / 10 for lv, d in got)
    assert episode_difficulty(3, 7) == episode_difficulty(3, 7)
    # a fall on stairs at difficulty 1 is judged on the 12 cm steps' landing (18 x 12 cm)
    pose = np.array([[8.0, 0.0, 2.16 + 0.75], [8.0, 0.0, 2.16 + 0.40]])
    assert np.allclose(base_height(pose, "stairs_up@1"), [0.75, 0.40])
    eps = [{"level": 0, "fell": False, "lin_vel_error": 0.1, "yaw_rate_error": 0.1},
           {"level": 0, "fell": True, "lin_vel_error": 0.3, "yaw_rate_error": 0.1},
           {"level": 9, "fell": True, "lin_vel_error": 0.5, "yaw_rate_error": 0.1}]
    by = falls_by_level(eps)
    assert by["0"]["falls"] == 1 and by["0"]["episodes"] == 2 and by["9"]["falls"] == 1
    assert world_spec("boxes@0.25") == "boxes@0.25"
