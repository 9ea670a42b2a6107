"""The policy node alone for a real robot; driver topics in config/robot_topics.yaml.

``ros2 launch athena_bringup robot.launch.py [model_path:=policy.onnx]``
"""

from athena_bringup.nodes import robot_nodes
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def _nodes(context, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    model = LaunchConfiguration("model_path").perform(context) or None
    return [Node(package=s.package, executable=s.executable, name=s.name, output="screen",
                 parameters=[*map(str, s.params_files), s.parameters],
                 remappings=s.remappings)
            for s in robot_nodes(model)]


def generate_launch_description() -> LaunchDescription:
    """Launch description (empty model_path = config/robot.yaml's)."""
    return LaunchDescription([
        DeclareLaunchArgument("model_path", default_value="",
                              description="exported policy; empty = config/robot.yaml"),
        OpaqueFunction(function=_nodes),
    ])
