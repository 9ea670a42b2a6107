"""The policy node alone for a real robot; driver topics in config/robot_topics.yaml.

``ros2 launch athena_bringup robot.launch.py [model_path:=policy.engine] [backend:=tensorrt]
[rt_priority:=80] [cpu_affinity:=3]``. An argument left empty keeps config/robot.yaml's value.
"""

from athena_bringup.nodes import robot_nodes
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

# launch argument -> (policy_node parameter type, description)
ARGS = {
    "model_path": (str, "exported policy (.onnx / .engine); empty = config/robot.yaml's"),
    "backend": (str, "auto | tensorrt | onnxruntime-gpu | onnxruntime-cpu"),
    "rt_priority": (int, "control thread SCHED_FIFO priority 1..99 (0 = default scheduler)"),
    "cpu_affinity": (str, "control thread CPUs, e.g. 3 or 2-3"),
}


def _nodes(context, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    given = {k: LaunchConfiguration(k).perform(context) for k in ARGS}
    overrides = {k: ARGS[k][0](v) for k, v in given.items() if v != "" and k != "model_path"}
    return [Node(package=s.package, executable=s.executable, name=s.name, output="screen",
                 parameters=[*map(str, s.params_files), s.parameters],
                 remappings=s.remappings)
            for s in robot_nodes(given["model_path"] or None, overrides)]


def generate_launch_description() -> LaunchDescription:
    """Launch description: every argument defaults to empty = keep config/robot.yaml."""
    return LaunchDescription([
        *[DeclareLaunchArgument(k, default_value="", description=d) for k, (_, d) in ARGS.items()],
        OpaqueFunction(function=_nodes),
    ])
