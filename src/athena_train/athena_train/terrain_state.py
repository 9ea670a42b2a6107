"""Terrain-curriculum levels in the checkpoint: saved with it, restored on ``--resume``.

rsl-rl's ``OnPolicyRunner.save(path, infos)`` stores ``infos`` in the checkpoint file and
``load`` returns it. ``train`` passes :func:`capture`'s dict there under :data:`KEY`, so the
levels are written by the same atomic save (tmp file + ``os.replace``) as the weights: a
checkpoint never holds weights from one moment and levels from another. Before this, every
resumed segment started the curriculum afresh (rough1: a jump of the mean level to ~2 at each
resume, ``docs/training.md``).

:func:`restore` puts the levels back (per env when the env count and the column assignment are
the same; otherwise each env draws a saved level of its own column, i.e. its terrain family)
and resets every env onto its tile *without* the curriculum term: the curriculum judges the
distance from the robot to its tile's origin, and robots standing on the old tiles would all
count as having walked far (promoted by one level).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

KEY = "terrain"


def _terrain(env: object) -> object | None:
    """The env's terrain importer when it runs a level curriculum, else None."""
    scene = getattr(getattr(env, "unwrapped", env), "scene", None)
    terrain = getattr(scene, "terrain", None)
    if terrain is None or getattr(terrain, "terrain_levels", None) is None:
        return None
    if getattr(terrain, "terrain_origins", None) is None:
        return None
    return terrain


def capture(env: object) -> dict | None:
    """Levels and columns of every env (CPU int16), and the grid; None without a curriculum."""
    import torch

    t = _terrain(env)
    if t is None:
        return None
    return {"levels": t.terrain_levels.detach().to("cpu", torch.int16).clone(),
            "types": t.terrain_types.detach().to("cpu", torch.int16).clone(),
            "grid": [int(t.terrain_origins.shape[0]), int(t.terrain_origins.shape[1])]}


@contextmanager
def curriculum_skipped(env: object) -> Iterator[None]:
    """Inside: the curriculum manager's ``compute`` does nothing (resets leave levels alone).

    Also used around the first reset of a new env (``train.make_env_and_cfg``): the robots are
    not on their tiles yet, and the distance rule promoted nearly every robot by one level
    (rough1: mean level 1.95 at the start with levels drawn from 0-2).
    """
    cm = env.unwrapped.curriculum_manager
    had_own = "compute" in vars(cm)
    own = vars(cm).get("compute")
    cm.compute = lambda env_ids=None: None
    try:
        yield
    finally:
        if had_own:
            cm.compute = own
        else:
            del cm.compute


def reset_without_curriculum(env: object) -> None:
    """``env.reset()`` with the curriculum manager's ``compute`` skipped for that one reset."""
    with curriculum_skipped(env):
        env.reset()


def restore(env: object, state: dict, seed: int = 0) -> str:
    """Put ``state`` (from :func:`capture`) back into ``env``; return what was done (one line).

    Nothing is changed (and the line says why) when the env has no curriculum or the saved
    grid (levels x columns) differs from the env's.
    """
    import torch

    t = _terrain(env)
    if t is None:
        return "terrain levels not restored: this env has no terrain curriculum"
    grid = [int(t.terrain_origins.shape[0]), int(t.terrain_origins.shape[1])]
    if list(state["grid"]) != grid:
        return (f"terrain levels not restored: saved grid {list(state['grid'])} "
                f"!= this env's {grid} (curriculum starts afresh)")
    # on the CPU, where the comparison below runs: a resume maps a checkpoint, these levels
    # with it, onto the run's device
    levels, types = state["levels"].long().cpu(), state["types"].long().cpu()
    cur_types = t.terrain_types.detach().cpu().long()
    n = cur_types.numel()
    if levels.numel() == n and torch.equal(types, cur_types):
        new, how = levels.clone(), "per env"
    else:  # another env count: each env draws a saved level of its own column (family)
        gen = torch.Generator().manual_seed(seed)
        new = torch.zeros(n, dtype=torch.long)
        for c in cur_types.unique():
            mask = cur_types == c
            pool = levels[types == c]
            pool = pool if pool.numel() else levels
            new[mask] = pool[torch.randint(pool.numel(), (int(mask.sum()),), generator=gen)]
        how = f"drawn per column from {levels.numel()} saved envs"
    new = new.clamp(0, grid[0] - 1)
    t.terrain_levels[:] = new.to(t.terrain_levels.device, t.terrain_levels.dtype)
    t.env_origins[:] = t.terrain_origins[t.terrain_levels, t.terrain_types]
    reset_without_curriculum(env)
    return (f"terrain levels restored ({how}): mean {new.float().mean().item():.2f}, "
            f"max {int(new.max().item())} of {grid[0] - 1}, {n} envs")
