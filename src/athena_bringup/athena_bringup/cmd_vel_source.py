"""A fixed velocity command from parameters, published on ``cmd_vel`` (geometry_msgs/Twist)."""

from __future__ import annotations

import signal

import rclpy
from geometry_msgs.msg import Twist
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

# Matches the policy node's cmd_vel subscription (reliable, depth 1).
CMD_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)


class CmdVelSource(Node):
    """Publishes (lin_vel_x, lin_vel_y, ang_vel_z) at ``rate_hz``; parameters can change live."""

    def __init__(self, **kwargs) -> None:
        super().__init__("cmd_vel_source", **kwargs)
        for name in ("lin_vel_x", "lin_vel_y", "ang_vel_z"):
            self.declare_parameter(name, 0.0)
        rate = float(self.declare_parameter("rate_hz", 10.0).value)
        self.pub = self.create_publisher(Twist, "cmd_vel", CMD_QOS)
        self.create_timer(1.0 / rate, self._tick)

    def _tick(self) -> None:
        msg = Twist()
        msg.linear.x = float(self.get_parameter("lin_vel_x").value)
        msg.linear.y = float(self.get_parameter("lin_vel_y").value)
        msg.angular.z = float(self.get_parameter("ang_vel_z").value)
        self.pub.publish(msg)


def spin(node: Node) -> None:
    """Spin ``node`` until Ctrl-C or shutdown, then clean up quietly."""
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        # Ctrl-C under `ros2 launch` arrives twice (the terminal's, then the one launch sends
        # each process): the second must not interrupt the clean-up (exit -2, a traceback).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        node.destroy_node()
        rclpy.try_shutdown()


def main(args: list[str] | None = None) -> None:
    """``ros2 run athena_bringup cmd_vel_source --ros-args -p lin_vel_x:=0.5``."""
    rclpy.init(args=args)
    spin(CmdVelSource())
