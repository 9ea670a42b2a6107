"""A real rclpy publish/subscribe round trip over DDS, with the QoS the contract uses."""

import time

import rclpy
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import JointState


def test_joint_state_round_trip() -> None:
    rclpy.init()
    try:
        node = rclpy.create_node("athena_roundtrip_test")
        received: list[JointState] = []
        node.create_subscription(JointState, "roundtrip_joint_states", received.append,
                                 qos_profile_sensor_data)
        pub = node.create_publisher(JointState, "roundtrip_joint_states", qos_profile_sensor_data)
        msg = JointState(name=["left_knee_joint"], position=[0.42], velocity=[0.0])
        deadline = time.monotonic() + 10.0
        while not received and time.monotonic() < deadline:
            msg.header.stamp = node.get_clock().now().to_msg()
            pub.publish(msg)
            rclpy.spin_once(node, timeout_sec=0.05)
        assert received, "no message came back over DDS within 10 s"
        assert received[0].name == ["left_knee_joint"]
        assert received[0].position[0] == 0.42
        node.destroy_node()
    finally:
        rclpy.shutdown()
