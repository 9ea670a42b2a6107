"""Isaac Lab's warp-managers env, with the decimation loop in the physics when asked for.

Isaac Lab 3.0's torch env (``ManagerBasedRLEnv.step``) calls the action's ``apply``, the
scene's write, ``sim.step`` and the scene's update ``decimation // steps_per_call`` times, where
``steps_per_call`` is the decimation when the physics runs the whole loop in one ``sim.step``
(``_physics_handles_decimation``: athena's ``decimation_in_physics``,
:func:`athena_train.tasks.physics.hand_decimation_to_physics`), and then updates the scene by the
policy step. Its warp twin (``ManagerBasedRLEnvWarp.step``) always loops ``cfg.decimation``
times by ``physics_dt``. :class:`AthenaWarpEnv` makes the warp env take the torch env's path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from isaaclab_experimental.envs import ManagerBasedRLEnvWarp


@contextmanager
def one_physics_call(cfg: object) -> Iterator[None]:
    """While inside: the env config reads as one physics call per policy step.

    ``decimation`` 1 and ``sim.dt`` the policy step, so that the warp env's step loops once
    and updates the scene by the policy step, while its ``step_dt`` (their product: rewards,
    commands, interval events, episode length) is unchanged. Newton keeps the substep it
    read at start-up and runs ``decimation`` of them per ``sim.step``. The env's substep
    counter then counts policy steps, which is what the reset events read it for
    (``_sim_step_counter // cfg.decimation``).
    """
    decimation, dt = cfg.decimation, cfg.sim.dt
    cfg.decimation, cfg.sim.dt = 1, dt * decimation
    try:
        yield
    finally:
        cfg.decimation, cfg.sim.dt = decimation, dt


class AthenaWarpEnv(ManagerBasedRLEnvWarp):
    """``ManagerBasedRLEnvWarp`` whose physics may run each policy step's substeps in one call."""

    def step(self, action: object) -> tuple:
        """Isaac Lab's warp step; with the loop in the physics, one physics call per step."""
        if not getattr(self, "_physics_handles_decimation", False):
            return super().step(action)
        with one_physics_call(self.cfg):
            return super().step(action)
