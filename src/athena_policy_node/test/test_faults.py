"""Each fault over DDS: the mode it leads to, what the driver is sent, recovery only on request.

The node runs in-process with its real control loop; a feeder node publishes imu and
joint_states at 500 Hz and records every joint_command the node publishes. These tests assert
what must hold on any machine, however loaded: the right fault and mode, commands inside the
limits and, when limp, no stiffness. Every transition and fault is also tested tick by tick on
a fake clock (test_controller.py); the node's own message handling tick by tick, without
threads, at the end of this file.
"""

import time

import numpy as np
import pytest
from athena_policy_node.modes import Mode
from athena_policy_node.safety import Fault
from conftest import quat_about_x


def assert_commands_safe(h) -> None:
    r = h.node.robot
    targets = np.array(h.feeder.targets)
    assert len(targets) > 0
    assert np.isfinite(targets).all()
    assert (targets >= r.lower_limits - 1e-9).all() and (targets <= r.upper_limits + 1e-9).all()


def wait_limp(h) -> None:
    """The driver is being told: damping, no stiffness."""
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        last = h.feeder.commands[-1] if h.feeder.commands else None
        if last is not None and last.mode == Mode.DAMPING.code:
            assert not any(last.stiffness) and all(d > 0 for d in last.damping)
            return
        time.sleep(0.01)
    raise AssertionError("no DAMPING command reached the driver")


def run_fault(h, corrupt, expected: Fault) -> None:
    assert h.wait_mode(Mode.WALK), h.node.ctl.machine.transitions
    time.sleep(0.2)
    corrupt()
    assert h.wait_mode(Mode.DAMPING, timeout=2.0), f"no damping; {h.node.ctl.machine.transitions}"
    assert h.node.ctl.machine.last_fault is expected, h.node.ctl.machine.transitions
    wait_limp(h)
    assert_commands_safe(h)


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
    run_fault(h, lambda: setattr(h.feeder, "publish_imu", False), Fault.STALE_IMU)


def test_one_inference_error_walks_on_persistent_ones_stand(harness):
    h = harness()
    assert h.wait_mode(Mode.WALK)
    infer = h.node.backend.infer
    calls = {"n": 0}

    def flaky(obs):  # failure injection: the accelerator/runtime raising once, mid-run
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("simulated inference failure")
        return infer(obs)
    h.node.ctl._infer = flaky
    time.sleep(0.5)
    assert h.node.ctl.mode is Mode.WALK
    assert h.node.ctl.machine.faults[Fault.INFERENCE_ERROR] == 1

    def broken(obs):
        raise RuntimeError("simulated inference failure")
    h.node.ctl._infer = broken
    assert h.wait_mode(Mode.STAND, timeout=2.0), h.node.ctl.machine.transitions
    assert h.node.ctl.machine.last_fault is Fault.INFERENCE_ERROR
    assert_commands_safe(h)


def test_persistent_inference_overruns_stand(harness):
    h = harness()
    assert h.wait_mode(Mode.WALK)
    infer = h.node.ctl._infer

    def slow(obs):  # failure injection: inferences slower than one policy period
        time.sleep(h.node.ctl.safety.max_inference_s * 1.5)
        return infer(obs)
    h.node.ctl._infer = slow
    assert h.wait_mode(Mode.STAND, timeout=3.0), h.node.ctl.machine.transitions
    assert h.node.ctl.machine.faults[Fault.INFERENCE_OVERRUN] >= 3
    assert_commands_safe(h)


def _call(h, name: str):
    from std_srvs.srv import Trigger
    client = h.peer.create_client(Trigger, f"/policy_node/{name}")
    assert client.wait_for_service(timeout_sec=2.0)
    future = client.call_async(Trigger.Request())
    deadline = time.monotonic() + 3.0
    while not future.done() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert future.done(), f"/policy_node/{name} did not answer"
    return future.result()


def test_recovery_only_on_request_and_the_e_stop(harness):
    h = harness()
    run_fault(h, lambda: setattr(h.feeder, "quat", quat_about_x(1.2)), Fault.TILT)
    h.feeder.quat = (0.0, 0.0, 0.0, 1.0)  # fault gone ...
    time.sleep(0.5)
    assert h.node.ctl.mode is Mode.DAMPING   # ... but no automatic recovery
    refused = _call(h, "walk")
    assert not refused.success and "not a transition" in refused.message
    assert _call(h, "stand").success
    assert h.wait_mode(Mode.STAND, timeout=1.0)
    time.sleep(0.4)                          # stand_s 0.2 in the harness
    assert _call(h, "walk").success
    assert h.wait_mode(Mode.WALK, timeout=1.0), h.node.ctl.machine.transitions
    assert _call(h, "damp").success          # the e-stop
    assert h.wait_mode(Mode.DAMPING, timeout=1.0)
    wait_limp(h)
    assert_commands_safe(h)


def test_commands_carry_the_trained_gains(harness):
    h = harness()
    assert h.wait_mode(Mode.WALK)
    time.sleep(0.1)
    last = h.feeder.commands[-1]
    assert last.mode == Mode.WALK.code and list(last.name) == h.node.robot.joint_names
    assert np.allclose(last.stiffness, h.node.contract.stiffness)
    assert np.allclose(last.damping, h.node.contract.damping)
    assert not any(last.velocity) and not any(last.effort)


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
        Parameter("sensor_timeout_s", value=30.0), Parameter("sensor_lost_s", value=30.0),
        Parameter("sensors_ready_s", value=0.0),
        Parameter("stand_s", value=0.0), Parameter("auto_mode", value="walk")])
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


def _walking(node) -> None:
    for _ in range(5):
        _feed(node)
        node._tick()
    assert node.ctl.mode is Mode.WALK, node.ctl.machine.transitions


@pytest.mark.parametrize("bad, fault", [
    ({"gyro": (float("nan"), 0.0, 0.0)}, Fault.NON_FINITE),
    ({"q": [float("inf")] * 23}, Fault.NON_FINITE),
    ({"quat": quat_about_x(1.2)}, Fault.TILT),
    ({"drop_joint": True}, Fault.MISSING_JOINTS),
    ({"duplicate_joint": True}, Fault.MISSING_JOINTS),
])
def test_first_tick_reading_a_bad_message_damps(still_node, bad, fault):
    node = still_node
    _walking(node)
    before = len(node.tick_log)
    _feed(node, **bad)
    node._tick()
    assert len(node.tick_log) == before + 1
    ctl = node.ctl
    assert ctl.mode is Mode.DAMPING and ctl.machine.last_fault is fault, ctl.machine.transitions


@pytest.mark.parametrize("bad, fault", [
    ({"quat": (0.0, 0.0, 0.0, 0.0)}, Fault.BAD_QUATERNION),
    ({"quat": (0.0, 0.0, 0.3, 0.5)}, Fault.BAD_QUATERNION),
    ({"no_orientation": True}, Fault.NO_ORIENTATION),
])
def test_first_tick_reading_a_lost_orientation_rides_it_out(still_node, bad, fault):
    node = still_node
    _walking(node)
    _feed(node, **bad)
    node._tick()
    assert node.ctl.mode is Mode.WALK and node.ctl.degraded is fault


def _cmd(node, vx: float, vy: float = 0.0, wz: float = 0.0) -> None:
    from geometry_msgs.msg import Twist
    msg = Twist()
    msg.linear.x, msg.linear.y, msg.angular.z = vx, vy, wz
    node._on_cmd(msg)


@pytest.mark.parametrize("bad", [(float("nan"), 0.0, 0.0), (0.0, 0.0, float("inf")),
                                 (1e4, 0.0, 0.0)])
def test_bad_cmd_vel_message_keeps_walking_on_the_last_good_one(still_node, bad):
    node = still_node
    _walking(node)
    _cmd(node, 0.5)
    _feed(node)
    node._tick()
    _cmd(node, *bad)
    for _ in range(3 * node.ctl.ticks_per_policy):
        _feed(node)
        node._tick()
    assert node.ctl.mode is Mode.WALK, node.ctl.machine.transitions
    assert node.ctl.cmd.value(time.monotonic()) == pytest.approx([0.5, 0.0, 0.0])
    assert sum(node.ctl.cmd.rejected.values()) == 1


def test_a_driver_with_default_or_sensor_data_qos_connects(harness):
    """A driver with rclpy's default QoS (reliable) and one with sensor-data QoS both connect."""
    from rclpy.qos import qos_profile_sensor_data

    from athena_msgs.msg import JointCommand
    h = harness(loop_mode="timer")
    got = {"default": 0, "sensor_data": 0}
    h.peer.create_subscription(JointCommand, "joint_command",
                               lambda m: got.__setitem__("default", got["default"] + 1), 10)
    h.peer.create_subscription(JointCommand, "joint_command",
                               lambda m: got.__setitem__("sensor_data", got["sensor_data"] + 1),
                               qos_profile_sensor_data)
    assert h.wait_mode(Mode.WALK)
    deadline = time.monotonic() + 3.0
    while min(got.values()) < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert min(got.values()) >= 50, got
