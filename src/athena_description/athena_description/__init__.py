"""athena_description: the athena humanoid and its contracts (one source of truth).

Public API::

    from athena_description import load_robot_contract, default_policy_contract, paths
"""

from athena_description import paths
from athena_description.policy_contract import (
    ACTION_DIM,
    ObservationTerm,
    PolicyContract,
    Rates,
    default_policy_contract,
)
from athena_description.robot_contract import (
    ContractError,
    Joint,
    RobotContract,
    load_robot_contract,
)

__all__ = [
    "ACTION_DIM",
    "ContractError",
    "Joint",
    "ObservationTerm",
    "PolicyContract",
    "Rates",
    "RobotContract",
    "default_policy_contract",
    "load_robot_contract",
    "paths",
]
