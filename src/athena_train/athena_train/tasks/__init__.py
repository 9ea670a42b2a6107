"""athena's Isaac Lab tasks, registered with gymnasium on import.

``Athena-Velocity-Flat-v0``, ``Athena-Velocity-Rough-v0`` and their ``-Play`` variants
(``Athena-Velocity-Flat-Play-v0``, ``Athena-Velocity-Rough-Play-v0``).
"""

import gymnasium as gym

_CFG = "athena_train.tasks.velocity_env_cfg"
_AGENT = "athena_train.agents"

TASKS = {
    "Athena-Velocity-Flat-v0": (f"{_CFG}:AthenaFlatEnvCfg", f"{_AGENT}:AthenaFlatPPORunnerCfg"),
    "Athena-Velocity-Flat-Play-v0": (f"{_CFG}:AthenaFlatEnvCfg_PLAY",
                                     f"{_AGENT}:AthenaFlatPPORunnerCfg"),
    "Athena-Velocity-Rough-v0": (f"{_CFG}:AthenaRoughEnvCfg", f"{_AGENT}:AthenaRoughPPORunnerCfg"),
    "Athena-Velocity-Rough-Play-v0": (f"{_CFG}:AthenaRoughEnvCfg_PLAY",
                                      f"{_AGENT}:AthenaRoughPPORunnerCfg"),
}

for _task_id, (_env_cfg, _agent_cfg) in TASKS.items():
    if _task_id not in gym.registry:
        gym.register(
            id=_task_id,
            entry_point="isaaclab.envs:ManagerBasedRLEnv",
            disable_env_checker=True,
            kwargs={"env_cfg_entry_point": _env_cfg, "rsl_rl_cfg_entry_point": _agent_cfg,
                    "default_agent": "rsl_rl"},
        )
