"""athena_policy_node: the 500 Hz walking-policy node with a safe fallback.

Modules: observation (the observation builder), safety (checks, state machine, target
limiter), inference (backends), node (the ROS node), test_policy, self_check.
"""
