"""Fixtures: a generated test policy, the node in-process, and a sensor feeder over real DDS."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest
import rclpy
from athena_policy_node.modes import Mode
from athena_policy_node.node import COMMAND_QOS, PolicyNode
from athena_policy_node.test_policy import make_test_policy
from geometry_msgs.msg import Twist
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Imu, JointState

from athena_description import load_robot_contract
from athena_msgs.msg import JointCommand


@pytest.fixture(scope="session")
def test_policy(tmp_path_factory):
    return make_test_policy(tmp_path_factory.mktemp("models") / "test_policy.onnx")


def quat_about_x(angle: float) -> tuple[float, float, float, float]:
    return (math.sin(angle / 2), 0.0, 0.0, math.cos(angle / 2))


class Feeder:
    """Publishes imu + joint_states at `rate_hz` and records every joint command received."""

    def __init__(self, node, rate_hz: float = 500.0) -> None:
        self.robot = load_robot_contract()
        self.node = node
        self.names = list(self.robot.joint_names)
        self.q = self.robot.default_positions.copy()
        self.qd = np.zeros(self.robot.num_joints)
        self.quat = (0.0, 0.0, 0.0, 1.0)
        self.gyro = (0.0, 0.0, 0.0)
        self.publish_imu = True
        self.publish_joints = True
        self.joint_msg_hook = None  # callable(JointState) -> JointState, to corrupt messages
        self.targets: list[np.ndarray] = []      # each command's position
        self.commands: list[JointCommand] = []
        self.pub_imu = node.create_publisher(Imu, "imu", qos_profile_sensor_data)
        self.pub_js = node.create_publisher(JointState, "joint_states", qos_profile_sensor_data)
        self.pub_cmd = node.create_publisher(
            Twist, "cmd_vel", QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        node.create_subscription(JointCommand, "joint_command", self._on_target, COMMAND_QOS)
        self.period = 1.0 / rate_hz
        self._run = True
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _on_target(self, msg: JointCommand) -> None:
        self.targets.append(np.array(msg.position))
        self.commands.append(msg)

    def _loop(self) -> None:
        nxt = time.monotonic()
        while self._run:
            stamp = self.node.get_clock().now().to_msg()
            if self.publish_imu:
                m = Imu()
                m.header.stamp = stamp
                m.orientation.x, m.orientation.y, m.orientation.z, m.orientation.w = self.quat
                m.angular_velocity.x, m.angular_velocity.y, m.angular_velocity.z = self.gyro
                self.pub_imu.publish(m)
            if self.publish_joints:
                js = JointState(name=self.names, position=self.q.tolist(),
                                velocity=self.qd.tolist())
                js.header.stamp = stamp
                if self.joint_msg_hook is not None:
                    js = self.joint_msg_hook(js)
                self.pub_js.publish(js)
            nxt += self.period
            time.sleep(max(0.0, nxt - time.monotonic()))

    def stop(self) -> None:
        self._run = False
        self._thread.join(timeout=1.0)


class Harness:
    """The policy node and a feeder node in one process, each spun by its own executor thread.

    (As in production, where they are separate processes, the node's executor serves only the
    node: one executor for both made the 500 Hz timer share its thread with the feeder's.)
    """

    def __init__(self, model, **params) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        # A staleness limit above the ~335 ms link stalls Fast DDS shows in a new graph's first
        # seconds (benchmarks/dds_stall.py) and above scheduling gaps on a loaded 2-core
        # machine: these tests are about what the node does, not how fast the machine is.
        overrides = [Parameter("model_path", value=str(model)),
                     Parameter("stand_s", value=0.2),
                     Parameter("auto_mode", value="walk"),
                     Parameter("sensor_timeout_s", value=0.5),
                     Parameter("sensor_lost_s", value=0.5), *[
                         Parameter(k, value=v) for k, v in params.items()]]
        self.node = PolicyNode(context=self.context, parameter_overrides=overrides)
        self.peer = rclpy.create_node("feeder", context=self.context)
        self.feeder = Feeder(self.peer)
        # a probe beside the node, dispatched by the node's executor: it sees a message when
        # the node does (fault-latency tests time the node's reaction from it)
        self.probe = rclpy.create_node("probe", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.executor.add_node(self.probe)
        self.peer_executor = SingleThreadedExecutor(context=self.context)
        self.peer_executor.add_node(self.peer)
        self._spinners = [threading.Thread(target=ex.spin, daemon=True)
                          for ex in (self.executor, self.peer_executor)]
        for t in self._spinners:
            t.start()
        self.node.start()

    def wait_mode(self, mode: Mode, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.node.ctl.mode is mode:
                return True
            time.sleep(0.002)
        return False

    def close(self) -> None:
        self.feeder.stop()
        self.node.shutdown()
        self.executor.shutdown(timeout_sec=1.0)
        self.peer_executor.shutdown(timeout_sec=1.0)
        for t in self._spinners:  # no callback may run while the nodes are destroyed
            t.join(timeout=2.0)
        self.node.destroy_node()
        self.probe.destroy_node()
        self.peer.destroy_node()
        rclpy.shutdown(context=self.context)


@pytest.fixture(params=["timer", "thread", "event"])
def harness(test_policy, request):
    """Makes a Harness; every test using it runs once per loop mode."""
    made = []

    def make(**params) -> Harness:
        params.setdefault("loop_mode", request.param)
        h = Harness(test_policy, **params)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()
