"""The sim node over real DDS: messages, the commanded motor law, its watchdog, closed loop.

Valid messages at ~500 Hz; the gains applied are the command's; the closed loop with the policy
node.
"""

import os
import time

import numpy as np
import pytest
import rclpy
from athena_sim.sim_node import SimNode
from nav_msgs.msg import Odometry
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Imu, JointState

from athena_msgs.msg import JointCommand

os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")


@pytest.fixture()
def ros():
    rclpy.init()
    yield
    rclpy.shutdown()


def _spin_for(executor, seconds: float, every=None, until=None) -> None:
    """Spin for ``seconds`` (or until ``until()``); call ``every()`` at 100 Hz meanwhile.

    (A command per spin would be thousands a second: their callbacks, in this thread, would
    starve the sim's stepping thread of the GIL.)
    """
    end = time.monotonic() + seconds
    next_call = 0.0
    while time.monotonic() < end and not (until is not None and until()):
        executor.spin_once(timeout_sec=0.01)
        if every is not None and time.monotonic() >= next_call:
            next_call = time.monotonic() + 0.01
            every()


def _sim_time_reaches(sim: SimNode, t: float):
    """``until`` for _spin_for: the simulation has advanced to ``t`` (however slow the CPU)."""
    return lambda: sim.data.time >= t


def command(sim: SimNode, kp_scale: float = 1.0, kd_scale: float = 1.0,
            mode: int = JointCommand.MODE_STAND, position=None) -> JointCommand:
    """Hold ``position`` (default pose) with the contract's gains scaled."""
    r = sim.robot
    n = r.num_joints
    return JointCommand(
        mode=mode, name=list(r.joint_names),
        position=(r.default_positions if position is None else position).tolist(),
        velocity=[0.0] * n, stiffness=(kp_scale * r.stiffness).tolist(),
        damping=(kd_scale * r.damping).tolist(), effort=[0.0] * n)


def commander(probe: Node):
    return probe.create_publisher(JointCommand, "joint_command",
                                  QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))


def test_publishes_valid_messages_at_500hz(ros) -> None:
    # physics running, a command holding the default pose, sensors at 500 Hz
    # ... and ground-truth odom every 5th tick
    sim = SimNode(parameter_overrides=[
        rclpy.parameter.Parameter("start_on_stand", value=False),
        rclpy.parameter.Parameter("odom_every_ticks", value=5)])
    probe = Node("probe")
    pub = commander(probe)
    hold = command(sim)
    got = {"js": [], "imu": [], "odom": []}
    probe.create_subscription(JointState, "joint_states", lambda m: got["js"].append(m),
                              qos_profile_sensor_data)
    probe.create_subscription(Imu, "imu", lambda m: got["imu"].append(m), qos_profile_sensor_data)
    probe.create_subscription(Odometry, "odom", lambda m: got["odom"].append(m), 100)
    # (rclpy's MultiThreadedExecutor starves the sim's stepping thread of the GIL here:
    # 6-36 Hz instead of 500; the single-threaded one, as the nodes' own main() use, does not)
    ex = SingleThreadedExecutor()
    ex.add_node(sim)
    ex.add_node(probe)
    _spin_for(ex, 1.0, lambda: pub.publish(hold))
    n0, t0 = len(got["js"]), time.monotonic()
    _spin_for(ex, 2.0, lambda: pub.publish(hold))
    rate = (len(got["js"]) - n0) / (time.monotonic() - t0)
    sim.destroy_node()
    probe.destroy_node()
    js, imu = got["js"][-1], got["imu"][-1]
    assert len(js.name) == 23 and len(js.position) == 23
    assert all(np.isfinite(js.position))
    q = imu.orientation
    assert abs(q.w ** 2 + q.x ** 2 + q.y ** 2 + q.z ** 2 - 1.0) < 1e-6
    assert 9.0 < imu.linear_acceleration.z < 10.6   # standing: specific force ≈ +g
    # Sensors flow continuously. How close to 500 Hz a loaded 2-core machine keeps them is
    # measured, not asserted: the evaluation records the sim's real-time factor per episode
    # (athena_bringup.evaluate), benchmarks/policy_node_rate.py the node's rate.
    assert rate > 100, f"joint_states received at {rate:.0f} Hz"
    assert sim.rate_measured > 100, f"sim loop at {sim.rate_measured:.0f} Hz"
    # stamps are sim time: odom comes every 10 ms of simulated time
    t_odom = [m.header.stamp.sec + 1e-9 * m.header.stamp.nanosec for m in got["odom"][-50:]]
    assert np.allclose(np.diff(t_odom), 0.01, atol=1e-6), np.diff(t_odom)


def driven(sim: SimNode):
    """The sim, a probe node commanding it, and one executor spinning both."""
    probe = Node("probe")
    ex = SingleThreadedExecutor()
    ex.add_node(sim)
    ex.add_node(probe)
    return probe, commander(probe), ex


def test_physics_waits_for_a_command_with_stiffness(ros) -> None:
    sim = SimNode()
    probe, pub, ex = driven(sim)
    got = []
    probe.create_subscription(JointState, "joint_states", got.append, qos_profile_sensor_data)
    passive = command(sim, kp_scale=0.0, mode=JointCommand.MODE_PASSIVE)
    _spin_for(ex, 1.0, lambda: pub.publish(passive))
    held_t, n_held = sim.data.time, len(got)
    stand = command(sim)
    _spin_for(ex, 20.0, lambda: pub.publish(stand), until=_sim_time_reaches(sim, 0.6))
    sim_t = sim.data.time
    sim.destroy_node()
    probe.destroy_node()
    assert held_t == 0.0 and n_held > 100, (held_t, n_held)  # paused, sensors still flowing
    assert sim_t > 0.5, sim_t                                # stepping once STAND came


@pytest.mark.parametrize("kp_scale, stands", [(1.0, True), (0.0, False)])
def test_the_sim_applies_the_commanded_gains(ros, kp_scale: float, stands: bool) -> None:
    """The robot holds its pose with the commanded stiffness and sinks without it.

    The gains come from the command, not from the simulator's model.
    """
    sim = SimNode(parameter_overrides=[
        rclpy.parameter.Parameter("start_on_stand", value=False)])
    probe, pub, ex = driven(sim)
    cmd = command(sim, kp_scale=kp_scale, kd_scale=2.0)
    _spin_for(ex, 30.0, lambda: pub.publish(cmd), until=_sim_time_reaches(sim, 1.5))
    height, sim_t = float(sim.data.qpos[2]), sim.data.time
    applied_kp = sim.model.actuator_gainprm[sim.act, 0].copy()
    sim.destroy_node()
    probe.destroy_node()
    assert sim_t > 0.5, sim_t
    assert np.allclose(applied_kp, kp_scale * sim.robot.stiffness)
    if stands:
        assert height > 0.7, height
    else:
        assert height < 0.6, height  # limp: the robot sinks to the ground


def test_the_watchdog_goes_limp_when_commands_stop(ros) -> None:
    sim = SimNode()
    probe, pub, ex = driven(sim)
    stand = command(sim)
    _spin_for(ex, 0.5, lambda: pub.publish(stand))
    assert sim.watchdog_trips == 0
    _spin_for(ex, 1.5)                                       # the controller went away
    trips, kp = sim.watchdog_trips, sim.model.actuator_gainprm[sim.act, 0].copy()
    sim.destroy_node()
    probe.destroy_node()
    assert trips == 1 and not kp.any(), (trips, kp)


def test_a_malformed_command_is_ignored(ros) -> None:
    sim = SimNode()
    probe, pub, ex = driven(sim)
    bad = [command(sim), command(sim), command(sim), command(sim)]
    bad[0].position = bad[0].position[:-1]                   # lengths differ
    bad[1].name = bad[1].name[1:] + bad[1].name[:0]          # ... and a joint missing
    bad[1].position, bad[1].velocity = bad[1].position[1:], bad[1].velocity[1:]
    bad[1].stiffness, bad[1].damping = bad[1].stiffness[1:], bad[1].damping[1:]
    bad[1].effort = bad[1].effort[1:]
    bad[2].position[0] = float("nan")
    bad[3].damping[0] = -1.0
    for m in bad:
        pub.publish(m)
        _spin_for(ex, 0.1)
    rejected, stepping = sim.rejected, sim._stepping
    sim.destroy_node()
    probe.destroy_node()
    assert rejected == 4 and not stepping, (rejected, stepping)


def test_closed_loop_with_policy_node(ros, tmp_path) -> None:
    from athena_policy_node.modes import Mode
    from athena_policy_node.node import COMMAND_QOS, PolicyNode
    from athena_policy_node.safety import Fault
    from athena_policy_node.test_policy import make_test_policy

    onnx = tmp_path / "test_policy.onnx"
    make_test_policy(onnx)
    sim = SimNode()
    # Not the robot's 20 ms staleness limit, nor the simulated stack's 50 ms (athena_bringup
    # config/sim.yaml): here the sim steps MuJoCo in the same Python thread as the node, on a
    # loaded 2-core machine, and this test is about the hand-over, not the machine's speed
    # (a 24 ms gap once stopped it in CI). 0.5 s is above the ~335 ms link stalls Fast DDS
    # shows in a new graph's first seconds (benchmarks/dds_stall.py).
    policy = PolicyNode(parameter_overrides=[
        rclpy.parameter.Parameter("model_path", value=str(onnx)),
        rclpy.parameter.Parameter("sensor_timeout_s", value=0.5),
        rclpy.parameter.Parameter("sensor_lost_s", value=0.5),
        rclpy.parameter.Parameter("auto_mode", value="walk")])
    targets = []
    probe = Node("probe")
    probe.create_subscription(JointCommand, "joint_command", lambda m: targets.append(m),
                              COMMAND_QOS)
    ex = SingleThreadedExecutor()
    for n in (sim, policy, probe):
        ex.add_node(n)
    policy.start()
    # until 5 s of sim time and 1000 commands, not a fixed 10 s: the sim's stepping thread
    # shares the GIL with three nodes' callbacks, and on a loaded 2-core machine it once
    # advanced only 3.5 s in 10 s of wall time (make test in a fresh clone)
    t0 = time.monotonic()
    _spin_for(ex, 40.0, until=lambda: sim.data.time > 5.0 and len(targets) > 1000)
    wall = time.monotonic() - t0
    policy.shutdown()
    sim_t = sim.data.time
    reached = [t.new for t in policy.ctl.machine.transitions]
    faults = policy.ctl.machine.faults
    sensor_faults = {f.name: faults[f] for f in (Fault.STALE_IMU, Fault.STALE_JOINTS)}
    for n in (policy, sim, probe):
        n.destroy_node()
    assert sim_t > 5.0, f"sim advanced {sim_t:.2f} s in {wall:.1f} s"
    assert len(targets) > 1000, f"only {len(targets)} joint_command in {wall:.1f} s"
    assert all(np.isfinite(targets[-1].position))
    # the hand-over worked: STAND completed and the policy ran on live sim data
    assert Mode.WALK in reached, policy.ctl.machine.transitions
    assert not any(sensor_faults.values()), sensor_faults
