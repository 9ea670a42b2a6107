"""MuJoCo sim + policy node + fixed cmd_vel, the node set of athena_bringup.nodes.sim_nodes.

``ros2 launch athena_bringup sim.launch.py [model_path:=policy.onnx] [world:=stairs_up]``
(worlds: athena_sim.worlds.WORLDS, optionally @D: world:=stairs_up@1.0 at difficulty 1)
"""

from athena_bringup.nodes import configured_model_path, sim_nodes
from athena_sim.worlds import WORLDS
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def _nodes(context, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    model = LaunchConfiguration("model_path").perform(context)
    world = LaunchConfiguration("world").perform(context)
    return [Node(package=s.package, executable=s.executable, name=s.name, output="screen",
                 parameters=[*map(str, s.params_files), s.parameters],
                 remappings=s.remappings)
            for s in sim_nodes(model, {"world": world})]


def generate_launch_description() -> LaunchDescription:
    """Launch description (model_path defaults to config/sim.yaml's)."""
    return LaunchDescription([
        DeclareLaunchArgument("model_path", default_value=configured_model_path(),
                              description="exported policy (.onnx / .engine)"),
        DeclareLaunchArgument("world", default_value="flat",
                              description="terrain: " + ", ".join(WORLDS)
                              + "; NAME@D at difficulty D (0-1)"),
        OpaqueFunction(function=_nodes),
    ])
