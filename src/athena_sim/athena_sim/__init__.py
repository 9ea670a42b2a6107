"""athena_sim: MuJoCo simulation of athena behind the same ROS interface as the robot."""
