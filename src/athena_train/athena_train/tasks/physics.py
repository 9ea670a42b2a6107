"""Physics presets: Newton / MuJoCo-Warp kit-less (default) and PhysX (needs Isaac Sim).

One task, both backends: the env config holds a concrete physics config, chosen by name
with :func:`physics_cfg`. PhysX is written for users with Isaac Sim installed; it cannot
run in this workspace (no Isaac Sim / Kit here) and is not tested here.
"""

from __future__ import annotations

from isaaclab_newton.physics import (
    MJWarpSolverCfg,
    NewtonCfg,
    NewtonShapeCfg,
)

PRESETS = ("newton", "physx")


def newton_cfg(device: str) -> NewtonCfg:
    """Newton with the MuJoCo-Warp solver; CUDA graphs only on a GPU.

    Contact budget per world is small: only the feet, knees, pelvis, torso and head collide
    (no self-collision), which keeps the GPU solver fast. 100/50 solver iterations were no
    slower than 20/10 on the CPU and avoid line-search warnings.
    """
    return NewtonCfg(
        solver_cfg=MJWarpSolverCfg(
            njmax=120, nconmax=24, cone="pyramidal", impratio=1.0, integrator="implicitfast",
            use_mujoco_contacts=True, iterations=100, ls_iterations=50,
        ),
        collision_cfg=None,
        num_substeps=1,
        use_cuda_graph=device.startswith("cuda"),
        default_shape_cfg=NewtonShapeCfg(margin=0.0, ke=160000.0, kd=1100.0),
    )


def physx_cfg() -> object:
    """PhysX through Isaac Sim (Kit). Imported lazily: isaaclab_physx needs Isaac Sim to run."""
    from isaaclab_physx.physics import PhysxCfg

    return PhysxCfg(gpu_max_rigid_patch_count=10 * 2**15)


def physics_cfg(name: str, device: str) -> object:
    """The physics config called ``name`` (one of :data:`PRESETS`)."""
    if name == "newton":
        return newton_cfg(device)
    if name == "physx":
        return physx_cfg()
    raise ValueError(f"unknown physics preset {name!r}; choose one of {PRESETS}")
