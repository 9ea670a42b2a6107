"""The controller core on a fake clock: every mode transition, every fault, what is sent.

No ROS, no threads, no wall clock: ``now`` is a number the test advances by one tick.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from athena_policy_node.command import CommandConfig
from athena_policy_node.controller import (
    CmdSample,
    Controller,
    ControllerConfig,
    ImuSample,
    JointSample,
)
from athena_policy_node.modes import TRANSITIONS, Mode, Refused
from athena_policy_node.safety import Fault, SafetyConfig

from athena_description import default_policy_contract, load_robot_contract

ROBOT = load_robot_contract()
CONTRACT = default_policy_contract()
TICK = 1.0 / CONTRACT.rates.node_rate_hz
UPRIGHT = np.array([0.0, 0.0, 0.0, 1.0])


class Policy:
    """A stand-in policy: returns ``action`` (or raises / returns NaN on demand); counts calls."""

    def __init__(self) -> None:
        self.action = np.zeros(ROBOT.num_joints)
        self.fail: Exception | None = None
        self.calls = 0
        self.last_obs: np.ndarray | None = None

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.last_obs = obs.copy()
        if self.fail is not None:
            raise self.fail
        return self.action[None, :]


class Rig:
    """A controller with live inputs on a fake clock."""

    def __init__(self, **cfg) -> None:
        self.t = 100.0
        self.policy = Policy()
        self.clock = [0.0]                 # the inference timer: advanced by ``infer_s``
        self.infer_s = 0.0001
        self.logs: list[tuple[str, str]] = []
        cfg = {"stand_s": 0.2, "sensors_ready_s": 0.0, "stop_s": 0.1, **cfg}

        def timer() -> float:
            self.clock[0] += self.infer_s / 2   # called twice per inference
            return self.clock[0]

        self.ctl = Controller(ROBOT, CONTRACT, self.policy, SafetyConfig(), CommandConfig(),
                              ControllerConfig(**cfg), log=lambda lv, s: self.logs.append((lv, s)),
                              timer=timer)
        self.q = ROBOT.default_positions.copy() + 0.05   # not quite the default pose
        self.qd = np.zeros(ROBOT.num_joints)
        self.quat = UPRIGHT.copy()
        self.gyro = np.zeros(3)
        self.orientation_valid = True
        self.joint_error: str | None = None
        self.imu_fresh = self.joints_fresh = True
        self.cmd: CmdSample | None = None
        self._imu = self._joints = None

    def command(self, vx: float, vy: float = 0.0, yaw: float = 0.0) -> None:
        self.cmd = CmdSample((vx, vy, yaw), self.t)

    def tick(self, n: int = 1):
        out = None
        for _ in range(n):
            self.t += TICK
            if self.imu_fresh or self._imu is None:
                self._imu = ImuSample(self.quat.copy(), self.gyro.copy(), self.t,
                                      self.orientation_valid)
            if self.joints_fresh or self._joints is None:
                self._joints = JointSample(self.q.copy(), self.qd.copy(), self.t, None,
                                           self.joint_error)
            out = self.ctl.step(self.t, self._imu, self._joints, self.cmd)
        return out

    def seconds(self, s: float):
        return self.tick(int(round(s / TICK)))

    def request(self, mode: Mode) -> str:
        return self.ctl.request(mode, "test", self.t)

    def walking(self) -> Rig:
        self.tick(5)
        self.request(Mode.STAND)
        self.seconds(0.25)
        self.request(Mode.WALK)
        self.command(0.5)
        self.tick(20)
        assert self.ctl.mode is Mode.WALK
        return self

    def held(self, mode: Mode) -> Rig:
        """Standing (just entered) or walking: the modes that hold the robot."""
        if mode is Mode.WALK:
            return self.walking()
        self.tick(5)
        self.request(Mode.STAND)
        self.tick(3)
        return self


# ------------------------------------------------------------------------ start-up, PASSIVE
def test_nothing_is_sent_before_both_sensors_arrive() -> None:
    r = Rig()
    assert r.ctl.step(r.t, None, None, None) is None
    assert r.ctl.step(r.t, ImuSample(UPRIGHT, np.zeros(3), r.t), None, None) is None
    assert r.ctl.mode is Mode.PASSIVE


def test_passive_sends_damping_only_and_waits_for_the_operator() -> None:
    r = Rig()
    out = r.seconds(2.0)
    assert r.ctl.mode is Mode.PASSIVE and out.mode is Mode.PASSIVE
    assert (out.stiffness == 0).all() and np.allclose(out.damping, CONTRACT.damping)
    assert np.allclose(out.position, r.q) and (out.effort == 0).all()
    assert r.policy.calls == 0


def test_stand_is_refused_while_an_input_is_invalid_and_says_why() -> None:
    r = Rig()
    r.quat = np.array([0.0, 0.0, 0.0, 0.0])   # the all-zero quaternion of "no orientation"
    r.tick(5)
    with pytest.raises(Refused, match="not a unit quaternion"):
        r.request(Mode.STAND)
    assert r.ctl.mode is Mode.PASSIVE
    assert r.ctl.machine.faults[Fault.BAD_QUATERNION] == 0   # nothing is held: not a fault


def test_walk_straight_from_passive_is_refused() -> None:
    r = Rig()
    r.tick(5)
    with pytest.raises(Refused, match="stand first"):
        r.request(Mode.WALK)


# ------------------------------------------------------------------------ STAND, WALK
def test_stand_interpolates_from_the_measured_pose_to_the_default_with_trained_gains() -> None:
    r = Rig()
    r.tick(5)
    assert r.request(Mode.STAND) == "passive -> stand"
    first = r.tick()
    assert first.mode is Mode.STAND
    assert np.allclose(first.stiffness, CONTRACT.stiffness)
    assert np.allclose(first.damping, CONTRACT.damping)
    assert np.abs(first.position - r.q).max() < 0.01          # starts where the robot is
    half = r.seconds(0.1 - TICK)
    mid = r.q + 0.5 * (ROBOT.default_positions - r.q)
    assert np.abs(half.position - mid).max() < 0.01
    end = r.seconds(0.15)
    assert np.allclose(end.position, ROBOT.default_positions)  # then holds the default pose
    with pytest.raises(Refused):
        Rig().request(Mode.STAND)                              # no sensor data yet


def test_walk_only_once_standing_then_the_policy_runs_at_its_rate() -> None:
    r = Rig()
    r.tick(5)
    r.request(Mode.STAND)
    r.tick(10)
    with pytest.raises(Refused, match="stand first"):
        r.request(Mode.WALK)
    r.seconds(0.25)
    assert r.request(Mode.WALK) == "stand -> walk"
    r.policy.action = np.full(ROBOT.num_joints, 0.5)
    out = r.tick(100)
    assert out.mode is Mode.WALK and r.policy.calls == 10     # every 10th tick (50 Hz)
    want = CONTRACT.actions_to_targets(r.policy.action, ROBOT)
    assert np.allclose(out.position, want)
    assert np.allclose(out.stiffness, CONTRACT.stiffness)
    assert ((out.position >= ROBOT.lower_limits) & (out.position <= ROBOT.upper_limits)).all()


def test_stand_waits_until_the_sensors_have_been_valid_long_enough() -> None:
    r = Rig(sensors_ready_s=0.5)
    r.seconds(0.3)
    with pytest.raises(Refused, match="valid for 0.30 s of the 0.50 s required"):
        r.request(Mode.STAND)
    r.seconds(0.1)
    r.q[0] = math.nan                                          # a break restarts the count
    r.tick()
    r.q[0] = ROBOT.default_positions[0]
    r.seconds(0.3)
    with pytest.raises(Refused):
        r.request(Mode.STAND)
    r.seconds(0.25)
    assert r.request(Mode.STAND) == "passive -> stand"


def test_auto_walk_stands_then_walks_by_itself() -> None:
    r = Rig(auto_walk=True, sensors_ready_s=0.05)
    r.tick(10)
    assert r.ctl.mode is Mode.PASSIVE                          # sensors not ready long enough
    r.seconds(0.06)
    assert r.ctl.mode is Mode.STAND
    r.seconds(0.25)
    assert r.ctl.mode is Mode.WALK
    reasons = [t.why for t in r.ctl.machine.transitions]
    assert reasons == ["auto: sensors ready", "auto: standing"]


def test_auto_walk_waits_while_an_input_is_invalid() -> None:
    r = Rig(auto_walk=True)
    r.orientation_valid = False
    r.seconds(0.5)
    assert r.ctl.mode is Mode.PASSIVE
    r.orientation_valid = True
    r.seconds(0.5)
    assert r.ctl.mode is Mode.WALK


# ------------------------------------------------------------------------ state faults → DAMPING
STATE_FAULTS = {
    "nan imu": (lambda r: setattr(r, "gyro", np.array([math.nan, 0, 0])), Fault.NON_FINITE),
    "inf joints": (lambda r: r.q.__setitem__(3, math.inf), Fault.NON_FINITE),
    "tilt": (lambda r: setattr(r, "quat", np.array([math.sin(0.6), 0, 0, math.cos(0.6)])),
             Fault.TILT),
    "missing joints": (lambda r: setattr(r, "joint_error", "lacks 1 joint"),
                       Fault.MISSING_JOINTS),
}


@pytest.mark.parametrize("mode", [Mode.STAND, Mode.WALK])
@pytest.mark.parametrize("name", list(STATE_FAULTS))
def test_a_state_fault_goes_to_damping_on_the_first_tick(name: str, mode: Mode) -> None:
    r = Rig().held(mode)
    corrupt, fault = STATE_FAULTS[name]
    corrupt(r)
    out = r.tick()
    assert r.ctl.mode is Mode.DAMPING and out.mode is Mode.DAMPING, r.ctl.machine.transitions
    assert r.ctl.machine.last_fault is fault and r.ctl.machine.faults[fault] == 1
    assert (out.stiffness == 0).all() and np.allclose(out.damping, CONTRACT.damping)
    assert np.isfinite(out.position).all()                     # the last good pose, never NaN
    r.tick(50)
    assert r.ctl.machine.faults[fault] == 1                    # counted once, where it began


# -------------------------------------------------------------------- the IMU's orientation lost
@pytest.mark.parametrize("lose", ["covariance flag", "zero quaternion"])
def test_a_lost_imu_orientation_walks_to_a_stop_on_the_gyro_then_stands(lose: str) -> None:
    r = Rig(stop_s=0.5).walking()
    good = r.quat.copy()
    if lose == "covariance flag":
        r.orientation_valid = False
    else:
        r.quat = np.zeros(4)
    r.tick()
    ctl = r.ctl
    want = Fault.NO_ORIENTATION if lose == "covariance flag" else Fault.BAD_QUATERNION
    assert ctl.mode is Mode.WALK and ctl.degraded is want and ctl.machine.faults[want] == 1
    with pytest.raises(Refused, match="stopping"):
        r.request(Mode.WALK)                                   # no cancelling this stop
    r.tick(10)
    grav = CONTRACT.newest("projected_gravity")
    assert np.allclose(r.policy.last_obs[0, grav], [0, 0, -1], atol=1e-3)  # carried on, upright
    cmd = CONTRACT.slices()["velocity_command"]
    assert np.allclose(r.policy.last_obs[0, cmd], 0.0)         # ... with a zero command
    r.seconds(0.5)
    assert ctl.mode is Mode.STAND                              # stopped, then stood
    out = r.seconds(2.0)
    assert ctl.mode is Mode.STAND and np.allclose(out.position, ROBOT.default_positions)
    with pytest.raises(Refused, match=want.value):
        r.request(Mode.WALK)
    assert ctl.machine.faults[want] == 1                       # counted once
    r.orientation_valid, r.quat = True, good
    r.tick()
    assert ctl.degraded is None and any("valid again" in s for _, s in r.logs)
    assert r.request(Mode.WALK) == "stand -> walk"


def test_a_fall_while_the_orientation_is_lost_still_damps() -> None:
    r = Rig().walking()
    r.orientation_valid = False
    r.tick()
    r.gyro = np.array([3.0, 0.0, 0.0])                         # the gyro says: tipping over
    r.seconds(0.5)
    assert r.ctl.mode is Mode.DAMPING and r.ctl.machine.last_fault is Fault.TILT


def test_integrate_gyro_turns_the_orientation() -> None:
    from athena_policy_node.observation import integrate_gyro, projected_gravity
    q = UPRIGHT.copy()
    for _ in range(500):                                       # 1 s at 0.5 rad/s about x
        q = integrate_gyro(q, np.array([0.5, 0.0, 0.0]), 0.002)
    assert q == pytest.approx([math.sin(0.25), 0.0, 0.0, math.cos(0.25)], abs=1e-9)
    g = projected_gravity(q)
    assert g == pytest.approx([0.0, -math.sin(0.5), -math.cos(0.5)], abs=1e-9)


# ------------------------------------------------------------------------ sensor gaps
@pytest.mark.parametrize("mode", [Mode.STAND, Mode.WALK])
@pytest.mark.parametrize("which", ["imu", "joints"])
def test_a_sensor_gap_holds_the_last_command_and_is_ridden_out(which: str, mode: Mode) -> None:
    r = Rig().held(mode)
    setattr(r, f"{which}_fresh", False)
    r.seconds(SafetyConfig.sensor_timeout_s)                   # within the limit: as before
    r.policy.action[:] = 0.3                                   # (it would move, were it asked)
    calls, held = r.policy.calls, r.tick().position.copy()     # the first stale tick
    for _ in range(int(0.07 / TICK)):                          # stale, not yet lost (0.1 s)
        out = r.tick()
        assert r.ctl.mode is mode and out.mode is mode
        assert (out.stiffness > 0).all()                       # held, with the trained gains
        assert np.array_equal(out.position, held)              # ... the last targets
    assert r.ctl.input_fault in (Fault.STALE_IMU, Fault.STALE_JOINTS)
    assert r.policy.calls == calls                             # nothing from a stale sample
    setattr(r, f"{which}_fresh", True)
    r.seconds(0.1)
    assert r.ctl.mode is mode and sum(r.ctl.machine.faults.values()) == 0   # no fault
    assert r.ctl.gap.count == 1 and 0.08 < r.ctl.gap.longest_s < 0.1
    assert r.ctl.input_fault is None
    assert any("fresh again after" in text and "ridden out" in text for _, text in r.logs)
    if mode is Mode.WALK:   # the policy runs again on fresh samples
        assert r.policy.calls > calls


@pytest.mark.parametrize("which", ["imu", "joints"])
def test_a_sensor_lost_for_longer_damps_and_says_how_old(which: str) -> None:
    r = Rig().walking()
    setattr(r, f"{which}_fresh", False)
    r.seconds(SafetyConfig.sensor_lost_s)                      # the gap: ridden out
    assert r.ctl.mode is Mode.WALK
    r.tick(2)
    want = Fault.STALE_IMU if which == "imu" else Fault.STALE_JOINTS
    assert r.ctl.mode is Mode.DAMPING and r.ctl.machine.last_fault is want
    why = r.ctl.last_transition.why
    assert why.startswith(want.value) and "ms old" in why and "lost after 100 ms" in why
    setattr(r, f"{which}_fresh", True)
    r.seconds(0.1)
    assert r.ctl.mode is Mode.DAMPING                          # left only on request


def test_a_gap_while_standing_lets_auto_walk_go_on_once_fresh() -> None:
    # the sensors_ready wait qualifies the sensors before the robot is held; a gap while it
    # stands is ridden out and walking follows once they are fresh (no new wait, no log spam)
    r = Rig(auto_walk=True, sensors_ready_s=0.5, stand_s=0.4)
    r.seconds(0.6)
    assert r.ctl.mode is Mode.STAND
    r.joints_fresh = False
    r.seconds(0.09)
    r.joints_fresh = True
    r.seconds(0.4)
    assert r.ctl.mode is Mode.WALK
    assert not [t for lv, t in r.logs if "refused" in t]


def test_a_stale_tick_still_checks_values() -> None:
    r = Rig().walking()
    r.imu_fresh = False
    r.seconds(SafetyConfig.sensor_timeout_s)
    r.tick()                                                   # stale, ridden out
    r.q[0] = math.nan                                          # ... and NaN in the same tick
    r.tick()
    assert r.ctl.machine.last_fault is Fault.NON_FINITE


def test_damping_scale_sets_the_damping_of_damping_mode() -> None:
    r = Rig(damping_scale=3.0, passive_damping_scale=0.5)
    assert np.allclose(r.seconds(0.1).damping, 0.5 * np.asarray(CONTRACT.damping))
    r.request(Mode.DAMPING)
    assert np.allclose(r.tick().damping, 3.0 * np.asarray(CONTRACT.damping))


def test_damping_is_left_only_on_request_and_only_with_valid_inputs() -> None:
    r = Rig().walking()
    r.gyro = np.array([math.nan, 0.0, 0.0])
    r.tick()
    r.gyro = np.zeros(3)
    r.seconds(1.0)
    assert r.ctl.mode is Mode.DAMPING                          # no recovery by itself
    r.orientation_valid = False
    r.tick()
    with pytest.raises(Refused, match="no orientation"):
        r.request(Mode.STAND)
    r.orientation_valid = True
    r.tick()
    assert r.request(Mode.STAND) == "damping -> stand"
    r.seconds(0.3)
    assert r.request(Mode.WALK) == "stand -> walk"


def test_damping_to_passive_and_stand_to_passive() -> None:
    r = Rig()
    r.tick(5)
    r.request(Mode.DAMPING)
    assert r.request(Mode.PASSIVE) == "damping -> passive"
    r.request(Mode.STAND)
    assert r.request(Mode.PASSIVE) == "stand -> passive"


def test_a_walking_robot_is_never_dropped_limp() -> None:
    r = Rig().walking()
    with pytest.raises(Refused, match="never dropped limp"):
        r.request(Mode.PASSIVE)


def test_e_stop_damps_at_once_from_every_mode() -> None:
    for setup in (lambda r: r.tick(5), lambda r: (r.tick(5), r.request(Mode.STAND)),
                  lambda r: r.walking()):
        r = Rig()
        setup(r)
        r.request(Mode.DAMPING)
        assert r.ctl.mode is Mode.DAMPING and r.tick().mode is Mode.DAMPING


def test_every_transition_in_the_table_is_reachable() -> None:
    # (from, to) pairs exercised above and here, so none of the table is untested
    seen = set()
    for a, b in TRANSITIONS:
        r = Rig()
        r.tick(5)
        if a is Mode.STAND:
            r.request(Mode.STAND)
            r.seconds(0.3)
        elif a is Mode.WALK:
            r.walking()
        elif a is Mode.DAMPING:
            r.request(Mode.DAMPING)
        assert r.ctl.mode is a
        r.request(b)
        if (a, b) == (Mode.WALK, Mode.STAND):
            r.seconds(0.15)                                    # stops walking first
        assert r.ctl.mode is b, (a, b)
        seen.add((a, b))
    assert seen == set(TRANSITIONS)


# ------------------------------------------------------------------------ WALK → STAND
def test_stand_while_walking_first_walks_in_place_with_a_zero_command() -> None:
    r = Rig().walking()
    r.request(Mode.STAND)
    r.tick(10)
    assert r.ctl.mode is Mode.WALK
    cmd_slice = CONTRACT.slices()["velocity_command"]
    assert np.allclose(r.policy.last_obs[0, cmd_slice], 0.0)   # the policy sees a zero command
    r.seconds(0.1)
    assert r.ctl.mode is Mode.STAND
    assert r.ctl.machine.transitions[-1].why == "operator: stand (stopped walking)"


def test_stand_from_walk_is_bumpless_and_about_a_step_long() -> None:
    r = Rig(stand_from_walk_s=0.3)
    r.walking()
    r.policy.action = np.full(ROBOT.num_joints, 1.0)       # targets far from the pose
    r.request(Mode.STAND)
    r.seconds(0.1 - TICK)
    last = r.tick()                                            # the last tick walking
    first = r.tick()                                           # the first standing
    assert first.mode is Mode.STAND
    assert np.abs(first.position - last.position).max() < 0.05  # no jump to the measured pose
    assert not np.allclose(first.position, r.q, atol=0.05)
    done = r.seconds(0.3)
    assert np.allclose(done.position, ROBOT.default_positions)


def test_walk_cancels_a_pending_stop() -> None:
    r = Rig().walking()
    r.request(Mode.STAND)
    r.tick(10)
    assert r.request(Mode.WALK) == "walking on (stop cancelled)"
    r.seconds(0.5)
    assert r.ctl.mode is Mode.WALK


# ------------------------------------------------------------------------ policy faults
def test_one_inference_error_walks_on_three_in_a_row_stand() -> None:
    r = Rig().walking()
    r.policy.fail = RuntimeError("CUDA lost")
    r.tick(10)                                                 # one policy step
    assert r.ctl.mode is Mode.WALK
    assert r.ctl.machine.faults[Fault.INFERENCE_ERROR] == 1
    r.policy.fail = None
    r.tick(10)                                                 # a success resets the count
    r.policy.fail = RuntimeError("CUDA lost")
    r.tick(20)
    assert r.ctl.mode is Mode.WALK
    r.tick(10)
    assert r.ctl.mode is Mode.STAND and r.ctl.machine.faults[Fault.INFERENCE_ERROR] == 4
    assert r.ctl.machine.transitions[-1].why == Fault.INFERENCE_ERROR.value


def test_an_overrun_is_counted_and_its_action_used() -> None:
    r = Rig().walking()
    r.infer_s = 0.05                                           # > max_inference_s (20 ms)
    r.policy.action = np.full(ROBOT.num_joints, 0.2)
    out = r.tick(10)
    assert r.ctl.mode is Mode.WALK and r.ctl.machine.faults[Fault.INFERENCE_OVERRUN] == 1
    assert np.allclose(out.position, CONTRACT.actions_to_targets(r.policy.action, ROBOT),
                       atol=0.2)  # (moving towards it at the limiter's rate)
    r.tick(20)
    assert r.ctl.mode is Mode.STAND                            # three in a row


def test_a_nan_action_is_never_sent() -> None:
    r = Rig().walking()
    before = r.tick()
    r.policy.action = np.full(ROBOT.num_joints, math.nan)
    out = r.tick(10)
    assert np.isfinite(out.position).all() and np.abs(out.position - before.position).max() < 0.5
    assert r.ctl.machine.faults[Fault.NON_FINITE_ACTION] == 1 and r.ctl.mode is Mode.WALK


# ------------------------------------------------------------------------ the command
def test_bad_commands_are_rejected_counted_and_the_robot_walks_on() -> None:
    r = Rig().walking()
    r.command(math.nan)
    r.tick(10)
    r.command(1e4)
    r.tick(10)
    assert r.ctl.mode is Mode.WALK
    assert r.ctl.cmd.rejected == {"non-finite": 1, "absurd": 1}  # each message once
    cmd_slice = CONTRACT.slices()["velocity_command"]
    scale = CONTRACT.observation[[t.name for t in CONTRACT.observation].index(
        "velocity_command")].scale
    assert r.policy.last_obs[0, cmd_slice][0] == pytest.approx(0.5 * scale)


def test_a_lost_command_ramps_to_zero_and_an_old_one_never_comes_back() -> None:
    r = Rig().walking()
    cmd_slice = CONTRACT.slices()["velocity_command"]
    r.seconds(CommandConfig.timeout_s + CommandConfig.ramp_s + 0.1)
    assert np.allclose(r.policy.last_obs[0, cmd_slice], 0.0) and r.ctl.mode is Mode.WALK
    assert any("no valid cmd_vel" in s for _, s in r.logs)
    r.request(Mode.DAMPING)
    r.tick()
    r.request(Mode.STAND)
    r.seconds(0.3)
    r.request(Mode.WALK)
    r.tick(20)                                                 # the same old message is there
    assert np.allclose(r.policy.last_obs[0, cmd_slice], 0.0)


def test_walking_begins_without_a_lost_command_warning() -> None:
    r = Rig().walking()
    assert not any("no valid cmd_vel" in s for _, s in r.logs), r.logs


def test_shutdown_sends_damping() -> None:
    r = Rig().walking()
    out = r.ctl.shutdown_command()
    assert out.mode is Mode.DAMPING and (out.stiffness == 0).all()
    assert r.ctl.machine.transitions[-1].why == "shutdown"
