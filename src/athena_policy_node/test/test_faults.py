"""Each fault → safe mode, no target outside the limits, recovery only on request.

Over DDS: the node runs in-process with its real control thread; a feeder node publishes imu
and joint_states at 500 Hz and records every target the node publishes. These tests assert
what must hold on any machine, however loaded: the right fault, safe mode, targets inside the
limits. How many milliseconds a reaction takes under load is a benchmark's business; that the
first control tick which reads a bad input is the one that enters safe mode is asserted tick by
tick, without threads, at the end of this file.
"""

import time

import numpy as np
import pytest
from athena_policy_node.safety import Fault, State
from conftest import quat_about_x


def ticks_after(node, t0: float, t1: float) -> int:
    """Number of control ticks in (t0, t1]."""
    return sum(1 for t in list(node.tick_log) if t0 < t <= t1)


def assert_targets_within_limits(h) -> None:
    r = h.node.robot
    targets = np.array(h.feeder.targets)
    assert len(targets) > 0
    assert np.isfinite(targets).all()
    assert (targets >= r.lower_limits - 1e-9).all() and (targets <= r.upper_limits + 1e-9).all()


def run_fault(h, corrupt, expected: Fault) -> None:
    assert h.wait_state(State.RUNNING), h.node.sm.transitions
    time.sleep(0.2)
    corrupt()
    assert h.wait_state(State.SAFE, timeout=2.0), f"no safe mode; {h.node.sm.transitions}"
    assert h.node.sm.last_fault is expected, h.node.sm.transitions
    time.sleep(0.1)
    assert_targets_within_limits(h)


def test_nan_in_imu(harness):
    h = harness()
    run_fault(h, lambda: setattr(h.feeder, "gyro", (float("nan"), 0.0, 0.0)), Fault.NON_FINITE)


def test_inf_in_joint_positions(harness):
    h = harness()

    def corrupt():
        q = h.feeder.q.copy()
        q[3] = float("inf")
        h.feeder.q = q
    run_fault(h, corrupt, Fault.NON_FINITE)


def test_missing_joint(harness):
    h = harness()

    def drop(js):
        js.name, js.position, js.velocity = js.name[1:], js.position[1:], js.velocity[1:]
        return js
    run_fault(h, lambda: setattr(h.feeder, "joint_msg_hook", drop), Fault.MISSING_JOINTS)


def test_wrong_array_length(harness):
    h = harness()

    def short(js):
        js.velocity = js.velocity[:-2]
        return js
    run_fault(h, lambda: setattr(h.feeder, "joint_msg_hook", short), Fault.MISSING_JOINTS)


def test_excessive_tilt(harness):
    h = harness()
    run_fault(h, lambda: setattr(h.feeder, "quat", quat_about_x(1.2)), Fault.TILT)


def test_stale_imu(harness):
    h = harness()
    assert h.wait_state(State.RUNNING)
    time.sleep(0.2)
    h.feeder.publish_imu = False
    assert h.wait_state(State.SAFE, timeout=2.0)
    assert h.node.sm.last_fault is Fault.STALE_IMU
    # The last imu the node received, read once it is quiet: one already in flight when
    # publishing stopped still arrives after that moment.
    n = ticks_after(h.node, h.node._imu[2] + h.node.cfg.sensor_timeout_s, h.node.safe_since)
    assert n <= 3, f"stale imu detected {n} ticks after the timeout"
    assert_targets_within_limits(h)


def test_inference_error(harness):
    h = harness()
    assert h.wait_state(State.RUNNING)

    def broken(obs):  # failure injection: the accelerator/runtime raising mid-run
        raise RuntimeError("simulated inference failure")
    t0 = time.monotonic()
    h.node.backend.infer = broken
    assert h.wait_state(State.SAFE, timeout=2.0)
    assert h.node.sm.last_fault is Fault.INFERENCE_ERROR
    # the policy runs every 10th tick: the first call after the swap fails
    assert ticks_after(h.node, t0, h.node.safe_since) <= h.node.ticks_per_policy + 1
    assert_targets_within_limits(h)


def test_inference_overrun(harness):
    h = harness()
    assert h.wait_state(State.RUNNING)
    infer = h.node.backend.infer

    def slow(obs):  # failure injection: an inference slower than one policy period
        time.sleep(h.node.cfg.max_inference_s * 1.5)
        return infer(obs)
    h.node.backend.infer = slow
    assert h.wait_state(State.SAFE, timeout=2.0)
    assert h.node.sm.last_fault is Fault.INFERENCE_OVERRUN
    assert_targets_within_limits(h)


def test_recovery_only_on_request(harness):
    from std_srvs.srv import Trigger
    h = harness()
    run_fault(h, lambda: setattr(h.feeder, "quat", quat_about_x(1.2)), Fault.TILT)
    h.feeder.quat = (0.0, 0.0, 0.0, 1.0)  # fault gone ...
    time.sleep(0.5)
    assert h.node.sm.state is State.SAFE   # ... but no automatic recovery
    client = h.peer.create_client(Trigger, "/policy_node/enable")
    assert client.wait_for_service(timeout_sec=2.0)
    client.call_async(Trigger.Request())
    assert h.wait_state(State.RUNNING, timeout=3.0), h.node.sm.transitions
    stop = h.peer.create_client(Trigger, "/policy_node/stop")
    assert stop.wait_for_service(timeout_sec=2.0)
    stop.call_async(Trigger.Request())
    assert h.wait_state(State.SAFE, timeout=2.0)
    assert h.node.sm.last_fault is Fault.STOP_REQUEST
    assert_targets_within_limits(h)


def test_safe_mode_holds_measured_pose(harness):
    h = harness()
    assert h.wait_state(State.RUNNING)
    h.feeder.q = h.feeder.q + 0.05
    time.sleep(0.1)
    held = h.feeder.q.copy()
    h.feeder.quat = quat_about_x(1.2)
    assert h.wait_state(State.SAFE)
    time.sleep(0.5)
    assert h.feeder.targets[-1] == pytest.approx(np.clip(held, h.node.robot.lower_limits,
                                                         h.node.robot.upper_limits), abs=1e-6)


# ------------------------------------------------------------------ tick by tick, no threads
@pytest.fixture
def still_node(test_policy):
    """A PolicyNode whose loop never runs by itself: the test calls its callbacks and _tick."""
    import rclpy
    from athena_policy_node.node import PolicyNode
    from rclpy.parameter import Parameter

    context = rclpy.Context()
    rclpy.init(context=context)
    # loop_mode thread without start(): no timer and no control thread. The staleness limit is
    # far above any stall, so the only thing that can change a tick's outcome is its input.
    node = PolicyNode(context=context, parameter_overrides=[
        Parameter("model_path", value=str(test_policy)), Parameter("loop_mode", value="thread"),
        Parameter("sensor_timeout_s", value=30.0), Parameter("sensors_ready_s", value=0.0),
        Parameter("soft_start_s", value=0.0)])
    yield node
    node.shutdown()
    node.destroy_node()
    rclpy.shutdown(context=context)


def _feed(node, q=None, quat=(0.0, 0.0, 0.0, 1.0), gyro=(0.0, 0.0, 0.0), drop_joint=False,
          no_orientation=False, duplicate_joint=False):
    from sensor_msgs.msg import Imu, JointState
    imu = Imu()
    if no_orientation:  # the sensor_msgs/Imu convention for "no orientation estimate"
        imu.orientation_covariance[0] = -1.0
    imu.orientation.x, imu.orientation.y, imu.orientation.z, imu.orientation.w = quat
    imu.angular_velocity.x, imu.angular_velocity.y, imu.angular_velocity.z = gyro
    names = list(node.robot.joint_names)
    pos = list(node.robot.default_positions if q is None else q)
    vel = [0.0] * len(names)
    if drop_joint:
        names, pos, vel = names[1:], pos[1:], vel[1:]
    if duplicate_joint:
        names, pos, vel = names + names[:1], pos + [0.3], vel + [0.0]
    node._on_imu(imu)
    node._on_joints(JointState(name=names, position=pos, velocity=vel))


def _running(node) -> None:
    for _ in range(5):
        _feed(node)
        node._tick()
    assert node.sm.state is State.RUNNING, node.sm.transitions


@pytest.mark.parametrize("bad, fault", [
    ({"gyro": (float("nan"), 0.0, 0.0)}, Fault.NON_FINITE),
    ({"q": [float("inf")] * 23}, Fault.NON_FINITE),
    ({"quat": quat_about_x(1.2)}, Fault.TILT),
    ({"drop_joint": True}, Fault.MISSING_JOINTS),
    ({"duplicate_joint": True}, Fault.MISSING_JOINTS),
    ({"quat": (0.0, 0.0, 0.0, 0.0)}, Fault.BAD_QUATERNION),
    ({"quat": (0.0, 0.0, 0.3, 0.5)}, Fault.BAD_QUATERNION),
    ({"no_orientation": True}, Fault.NO_ORIENTATION),
])
def test_first_tick_reading_a_bad_input_enters_safe_mode(still_node, bad, fault):
    node = still_node
    _running(node)
    before = len(node.tick_log)
    _feed(node, **bad)
    node._tick()
    assert len(node.tick_log) == before + 1
    assert node.sm.state is State.SAFE and node.sm.last_fault is fault, node.sm.transitions


def _cmd(node, vx: float, vy: float = 0.0, wz: float = 0.0) -> None:
    from geometry_msgs.msg import Twist
    msg = Twist()
    msg.linear.x, msg.linear.y, msg.angular.z = vx, vy, wz
    node._on_cmd(msg)


@pytest.mark.parametrize("bad", [(float("nan"), 0.0, 0.0), (0.0, 0.0, float("inf")),
                                 (1e4, 0.0, 0.0)])
def test_bad_command_keeps_walking_on_the_last_good_one(still_node, bad):
    node = still_node
    _running(node)
    _cmd(node, 0.5)
    _cmd(node, *bad)
    for _ in range(3 * node.ticks_per_policy):
        _feed(node)
        node._tick()
    assert node.sm.state is State.RUNNING, node.sm.transitions
    assert node._command(time.monotonic()) == pytest.approx([0.5, 0.0, 0.0])
    assert sum(node.cmd.rejected.values()) == 1


def test_lost_command_ramps_to_zero_and_an_old_one_never_comes_back(still_node):
    node = still_node
    _running(node)
    _cmd(node, 0.5, 0.0, 0.3)
    now = time.monotonic()
    ramp_end = now + node.cmd.cfg.timeout_s + node.cmd.cfg.ramp_s
    assert node._command(now) == pytest.approx([0.5, 0.0, 0.3])
    assert node._command(ramp_end + 0.01) == pytest.approx([0.0, 0.0, 0.0])
    # a fault and a re-enable: the command from before does not come back
    _cmd(node, 0.5)
    _feed(node, quat=quat_about_x(1.2))
    node._tick()
    assert node.sm.state is State.SAFE
    node._enable_requested = True
    _running(node)
    assert node._command(time.monotonic()) == pytest.approx([0.0, 0.0, 0.0])
