"""Physics presets: Newton / MuJoCo-Warp kit-less (flat and rough) and PhysX (needs Isaac Sim).

Each env config holds a concrete physics config, chosen by name with :func:`physics_cfg`:
``newton`` (flat ground: MuJoCo's own contacts against a plane), ``newton_rough`` (triangle-mesh
terrain: Newton's collision pipeline) and ``physx``. PhysX is written for users with Isaac Sim
installed; it cannot run in this workspace (no Isaac Sim / Kit here) and is not tested here.
"""

from __future__ import annotations

import math

from isaaclab_newton.physics import (
    MJWarpSolverCfg,
    NewtonCfg,
    NewtonCollisionPipelineCfg,
    NewtonShapeCfg,
)

PRESETS = ("newton", "newton_rough", "physx")

# Isaac Lab 3.0's rough preset (isaaclab_tasks.core.velocity.velocity_env_cfg.RoughPhysicsCfg
# .newton_mjwarp) sizes the narrow phase's triangle-pair buffer for its 4096 envs
ROUGH_TRIANGLE_PAIRS_PER_4096_ENVS = 2_500_000


def newton_cfg(device: str) -> NewtonCfg:
    """Newton with the MuJoCo-Warp solver; CUDA graphs only on a GPU.

    Contact budget per world is small: only the feet, knees, pelvis, torso and head collide
    (no self-collision), which keeps the GPU solver fast. 100/50 solver iterations were no
    slower than 20/10 on the CPU and avoid line-search warnings. Capacities: MuJoCo-Warp
    launches its constraint kernels over every world's ``njmax`` rows, used or not; the flat
    task's worlds used at most 32 rows and 12 contacts with random actions (robots falling) and
    24 rows walking (``benchmarks/time_to_walk/solver_iterations.py``, 64 worlds x 150 steps;
    expected maximum over 8192 worlds 32), so ``njmax`` is 64 (was 120: 4 % of a CPU env step).
    A world past a capacity loses constraints and MuJoCo-Warp prints "nefc overflow".
    """
    return NewtonCfg(
        solver_cfg=MJWarpSolverCfg(
            njmax=64, nconmax=24, cone="pyramidal", impratio=1.0, integrator="implicitfast",
            use_mujoco_contacts=True, iterations=100, ls_iterations=50,
        ),
        collision_cfg=None,
        num_substeps=1,
        use_cuda_graph=device.startswith("cuda"),
        default_shape_cfg=NewtonShapeCfg(margin=0.0, ke=160000.0, kd=1100.0),
    )


def newton_rough_cfg(device: str, num_envs: int | None = None) -> NewtonCfg:
    """Newton + MuJoCo-Warp for triangle-mesh terrain: Newton's own collision pipeline.

    With MuJoCo's contacts (``use_mujoco_contacts=True``, the flat preset) a mesh collides as
    its convex hull: on the generated terrain, robots standing still at a platform centre were
    thrown off (34-100 % of zero-action episodes ended on base contact within 10 steps). These
    are the settings of Isaac Lab 3.0's own rough preset (``RoughPhysicsCfg.newton_mjwarp``:
    Newton's collision pipeline with a 2.5 M triangle-pair budget, pyramidal cone,
    implicitfast) with athena's solver iterations, shape contact parameters and one substep per
    5 ms physics step (the flat preset's). The triangle-pair buffer grows with the number of
    worlds beyond 4096 (Newton prints "Triangle pair buffer overflowed" when it is too small).
    Capacities: Isaac Lab's preset allocates 1000 constraint rows and 300 contacts per world;
    athena's worlds on every level of every family used at most 112 rows and 35 contacts with
    random actions (robots falling onto stairs and boxes; expected maximum over 8192 worlds 103
    and 34) and 60 and 23 under the rough6 policy (``solver_iterations.py --task
    Athena-Velocity-Rough-v0 --max_level 9``, 64 worlds x 150 steps). MuJoCo-Warp launches its
    constraint kernels over every world's ``njmax`` rows, used or not: 256 and 64 took a CPU
    env step from 150 to 121 ms. A world past a capacity loses constraints and MuJoCo-Warp
    prints "nefc overflow".
    """
    pairs = ROUGH_TRIANGLE_PAIRS_PER_4096_ENVS * max(1, math.ceil((num_envs or 4096) / 4096))
    return NewtonCfg(
        solver_cfg=MJWarpSolverCfg(
            njmax=256, nconmax=64, cone="pyramidal", impratio=1.0, integrator="implicitfast",
            use_mujoco_contacts=False, iterations=100, ls_iterations=50,
        ),
        collision_cfg=NewtonCollisionPipelineCfg(max_triangle_pairs=pairs),
        num_substeps=1,
        use_cuda_graph=device.startswith("cuda"),
        default_shape_cfg=NewtonShapeCfg(margin=0.0, ke=160000.0, kd=1100.0),
    )


def physx_cfg() -> object:
    """PhysX through Isaac Sim (Kit). Imported lazily: isaaclab_physx needs Isaac Sim to run."""
    from isaaclab_physx.physics import PhysxCfg

    return PhysxCfg(gpu_max_rigid_patch_count=10 * 2**15)


def hand_decimation_to_physics(env: object, env_ids: object) -> None:
    """Startup event: with ``cfg.decimation_in_physics``, Newton runs the decimation loop.

    Isaac Lab lets the physics run all ``decimation`` substeps of a policy step in one
    ``sim.step`` (on a GPU one CUDA-graph replay) when every actuator is graph-safe, but takes
    that path only for Newton's own actuator models. athena's are implicit PD, which the
    MuJoCo-Warp solver integrates inside its step and which are graph-safe as they are: this
    opts them in. The physics is unchanged (the same targets over the loop, the same solver
    steps); what changes is that the env's action, scene-write and scene-update calls run once
    per policy step instead of once per substep, so contact sensors and ``joint_acc`` see the
    end of the loop only. The substep velocity record still sees every substep (it runs in
    the loop: :class:`athena_train.tasks.mdp.SubstepVelocityRecorder`).
    """
    if not getattr(env.cfg, "decimation_in_physics", False):
        return
    manager = env.sim.physics_manager
    if not callable(getattr(manager, "activate_newton_actuator_path", None)):
        raise RuntimeError(f"decimation_in_physics needs Newton physics, not {manager}")
    manager.activate_newton_actuator_path()
    if not manager.handles_decimation():
        raise RuntimeError("decimation_in_physics: an actuator is not CUDA-graph-safe (only "
                           "implicit PD and Newton's graph-safe actuators are)")
    manager.set_decimation(env.cfg.decimation)  # recaptures the graph on the next step
    env._physics_handles_decimation = True  # what ManagerBasedEnv sets from handles_decimation()


def physics_cfg(name: str, device: str, num_envs: int | None = None) -> object:
    """The physics config called ``name`` (one of :data:`PRESETS`) for ``num_envs`` worlds."""
    if name == "newton":
        return newton_cfg(device)
    if name == "newton_rough":
        return newton_rough_cfg(device, num_envs)
    if name == "physx":
        return physx_cfg()
    raise ValueError(f"unknown physics preset {name!r}; choose one of {PRESETS}")


def override_solver(physics: object, pairs: list[str]) -> dict[str, object]:
    """Set fields of ``physics.solver_cfg`` from ``KEY=VALUE`` strings; return what was set.

    For the command lines (``train --solver njmax=512``, the benchmarks): each value takes the
    type of the field's default (:func:`athena_train.overrides.typed_value`; an int where the
    default is None). An unknown field or a value of the wrong type is refused with a
    ValueError naming it.
    """
    from athena_train import overrides

    solver, done = physics.solver_cfg, {}
    for pair in pairs:
        path, raw = overrides.split(pair, "--solver")
        if len(path) != 1 or not hasattr(solver, path[0]):
            raise overrides.OverrideError(f"--solver {pair!r}: expected KEY=VALUE with KEY a "
                                          f"field of {type(solver).__name__}")
        current = getattr(solver, path[0])  # a capacity left to MuJoCo-Warp (None) takes an int
        value = overrides.typed_value(raw, 0 if current is None else current, f"--solver {pair!r}")
        setattr(solver, path[0], value)
        done[path[0]] = value
    return done
