"""Terrain worlds for the MuJoCo sim: the scene of athena_description plus ground ahead.

``build(spec)`` → (MjModel, World). Each world puts one terrain family of the training
curriculum (athena_train/tasks/terrains.py) on a 20 m wide strip that begins ``START_X`` ahead of
the robot, which starts at the origin facing +x (REP-103: x forward) and walks onto it:

  flat         the scene as it is
  stairs_up    ``steps`` steps of ``step_m`` up, ``tread_m`` treads, then a long landing
  stairs_down  the robot starts on a landing ``steps × step_m`` high and walks down
  slope_up     a ramp rising ``slope`` (rise/run) over ``ramp_m``, then a landing
  slope_down   the robot starts on a landing and walks down the same ramp
  rough        a heightfield of ±``rough_m`` on a 0.1 m grid (eased in and out over 0.5 m)
  boxes        0.45 m cells at ±``box_m``

A spec is a world's name, built with ``WorldParams``' defaults, or ``NAME@D``: the family at
difficulty D (0 to 1) of the robustness gate's ranges (``athena_description.walking_gate``:
steps 5 → 12 cm, slopes 0 → 0.21, boxes ±2 → ±6 cm, rough ±3 cm at any D; 18 steps, a 5.4 m
ramp, 5.4 m of rough ground or boxes: ``TERRAIN_RUN_M``), which the
training's curriculum spans over its 10 levels (level L: D from L/10 to (L+1)/10);
``stairs_up@1`` has the tallest steps the gate asks for.

Everything is built from boxes and one heightfield: MuJoCo collides a triangle mesh as its
convex hull, which would turn stairs into a ramp. ``World.height(x, y)`` is the ground height
under a point (the fall check measures the base above it; a test checks it against MuJoCo's
own ray cast).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import mujoco
import numpy as np
from athena_description.paths import mjcf_scene_path

from athena_description import walking_gate as wg

WORLDS = ("flat", "stairs_up", "stairs_down", "slope_up", "slope_down", "rough", "boxes")
START_X = 1.0      # m: where the terrain begins, ahead of the robot at the origin
# m: the strip's width (y from -10 to 10). Pushes turn a robot that has no heading command:
# on a 4 m strip, rough5 fell off the side of the stairs_up landing in 3 of 10 robustness
# episodes (docs/sim.md); Isaac Lab's terrain has no such edge
WIDTH_M = 20.0
LANDING_M = 10.0   # m: the landing the "down" worlds start on (room to drift backwards too)
TOP_M = 20.0       # m: the landing after stairs and ramps up: a 20 s episode ends on it
RGBA = (0.55, 0.55, 0.6, 1.0)
BOX_CELL_M = 0.45  # the boxes' cells, as the training's (athena_train.tasks.terrains)
START_Z_NUMERIC = "athena_world_start_z"


@dataclass(frozen=True)
class WorldParams:
    """Sizes of the terrain (the hardest level of the training curriculum by default)."""

    steps: int = 6
    step_m: float = 0.10          # stairs: 5-12 cm in training
    tread_m: float = 0.30
    slope: float = 0.21           # rise/run: 12 degrees, the curriculum's steepest
    ramp_m: float = 3.0
    rough_m: float = 0.03         # random rough: ±3 cm
    rough_len_m: float = 6.0
    box_m: float = 0.06           # boxes: ±2-6 cm
    box_rows: int = 12
    seed: int = 0

    @classmethod
    def at_difficulty(cls, difficulty: float) -> WorldParams:
        """The gate's sizes at ``difficulty`` (0..1), as the training's generator makes them.

        As long a run of the family as the Isaac Lab evaluation's tiles hold
        (``walking_gate.TERRAIN_RUN_M``: 18 steps, a 5.4 m ramp, 5.4 m of rough ground or
        boxes).
        """
        run = wg.TERRAIN_RUN_M
        return cls(steps=round(run / wg.STAIR_TREAD_M),
                   step_m=wg.at_difficulty(wg.STEP_HEIGHT_M, difficulty),
                   tread_m=wg.STAIR_TREAD_M, slope=wg.at_difficulty(wg.SLOPE, difficulty),
                   ramp_m=run, rough_m=wg.ROUGH_M, rough_len_m=run,
                   box_m=wg.at_difficulty(wg.BOX_M, difficulty),
                   box_rows=round(run / BOX_CELL_M))


@dataclass(frozen=True)
class World:
    """A built world: its name, where the robot starts (z offset) and the ground height."""

    name: str
    start_z: float                                   # the ground under the robot's start
    height: Callable[[float, float], float]          # ground height (m) at (x, y)


def parse(spec: str) -> tuple[str, WorldParams]:
    """``NAME`` or ``NAME@D`` → (name, sizes); a clear ValueError for anything else."""
    name, _, level = spec.partition("@")
    if name not in WORLDS:
        raise ValueError(f"unknown world {name!r}: one of {', '.join(WORLDS)} "
                         "(optionally @D, a difficulty from 0 to 1)")
    if not level:
        return name, WorldParams()
    try:
        d = float(level)
    except ValueError:
        raise ValueError(f"world {spec!r}: the difficulty after '@' must be a number from 0 "
                         "to 1") from None
    if not 0.0 <= d <= 1.0:
        raise ValueError(f"world {spec!r}: the difficulty after '@' must be from 0 to 1")
    return name, WorldParams.at_difficulty(d)


def build(spec: str = "flat", params: WorldParams | None = None) -> tuple[mujoco.MjModel, World]:
    """Compile the scene with world ``spec`` (or its name and ``params``); model and World."""
    name, p = parse(spec)
    mj = mujoco.MjSpec.from_file(str(mjcf_scene_path()))
    height = _BUILDERS[name](mj, params or p)
    start_z = height(0.0, 0.0)
    # the model carries its start height: a reset puts the robot on the ground it stands on
    mj.add_numeric(name=START_Z_NUMERIC, data=[start_z])
    return mj.compile(), World(name, start_z, height)


def start_z(model: mujoco.MjModel) -> float:
    """The ground height under the robot's start in a model built here (0 for any other)."""
    i = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_NUMERIC, START_Z_NUMERIC)
    return float(model.numeric_data[model.numeric_adr[i]]) if i >= 0 else 0.0


def _box(spec: mujoco.MjSpec, x0: float, x1: float, top: float, *, y0: float = -WIDTH_M / 2,
         y1: float = WIDTH_M / 2, quat: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0),
         center: tuple[float, float, float] | None = None,
         half: tuple[float, float, float] | None = None) -> None:
    """A box from the floor (z = 0) up to ``top`` over [x0, x1] × [y0, y1]; or one given as is."""
    g = spec.worldbody.add_geom()
    g.type = mujoco.mjtGeom.mjGEOM_BOX
    g.size = half or ((x1 - x0) / 2, (y1 - y0) / 2, top / 2)
    g.pos = center or ((x0 + x1) / 2, (y0 + y1) / 2, top / 2)
    g.quat = quat
    g.rgba = RGBA


def _inside(y: float) -> bool:
    return abs(y) <= WIDTH_M / 2


def _flat(spec: mujoco.MjSpec, p: WorldParams) -> Callable[[float, float], float]:
    return lambda x, y: 0.0


def _stairs(up: bool) -> Callable[[mujoco.MjSpec, WorldParams], Callable[[float, float], float]]:
    def make(spec: mujoco.MjSpec, p: WorldParams) -> Callable[[float, float], float]:
        n, h, t = p.steps, p.step_m, p.tread_m
        top = n * h
        x_end = START_X + n * t
        if up:   # step i rises from START_X + i·t to the landing's end
            for i in range(n):
                _box(spec, START_X + i * t, x_end + TOP_M, (i + 1) * h)
        else:    # a landing under the start, then steps down to the floor
            _box(spec, START_X - LANDING_M, START_X, top)
            for i in range(n - 1):
                _box(spec, START_X + i * t, START_X + (i + 1) * t, (n - 1 - i) * h)

        def height(x: float, y: float) -> float:
            if not _inside(y):
                return 0.0
            if up:
                if x < START_X or x > x_end + TOP_M:
                    return 0.0
                return min(n, math.floor((x - START_X) / t) + 1) * h
            if START_X - LANDING_M <= x < START_X:
                return top
            if START_X <= x < START_X + (n - 1) * t:
                return (n - 1 - math.floor((x - START_X) / t)) * h
            return 0.0
        return height
    return make


def _slope(up: bool) -> Callable[[mujoco.MjSpec, WorldParams], Callable[[float, float], float]]:
    def make(spec: mujoco.MjSpec, p: WorldParams) -> Callable[[float, float], float]:
        theta = math.atan(p.slope)
        rise = p.ramp_m * p.slope
        x_lo, x_hi = START_X, START_X + p.ramp_m              # the ramp, rising or falling
        if up:
            _box(spec, x_hi, x_hi + TOP_M, rise)
        else:
            _box(spec, START_X - LANDING_M, START_X, rise)
        # the ramp: a thin box whose top face runs from (x_lo, z_lo) to (x_hi, z_hi)
        sign = 1.0 if up else -1.0
        z_lo, z_hi = (0.0, rise) if up else (rise, 0.0)
        thick = 0.1
        normal = np.array([-sign * math.sin(theta), 0.0, math.cos(theta)])
        top_mid = np.array([(x_lo + x_hi) / 2, 0.0, (z_lo + z_hi) / 2])
        center = top_mid - thick / 2 * normal
        phi = -sign * theta     # rotation about y taking the box's x axis along the ramp
        _box(spec, 0, 0, 0, center=tuple(center),
             half=(p.ramp_m / (2 * math.cos(theta)), WIDTH_M / 2, thick / 2),
             quat=(math.cos(phi / 2), 0.0, math.sin(phi / 2), 0.0))

        def height(x: float, y: float) -> float:
            if not _inside(y):
                return 0.0
            if x_lo <= x <= x_hi:
                return z_lo + (x - x_lo) * (z_hi - z_lo) / p.ramp_m
            if up and x_hi < x <= x_hi + TOP_M:
                return rise
            if not up and START_X - LANDING_M <= x < x_lo:
                return rise
            return 0.0
        return height
    return make


def _rough(spec: mujoco.MjSpec, p: WorldParams) -> Callable[[float, float], float]:
    # ±rough_m uniform in 1 cm steps on a 0.1 m grid, as the training's random_rough; lifted by
    # rough_m so that nothing lies below the floor plane, and eased in and out over 0.5 m so
    # that the robot steps onto it and off it rather than into a 6 cm edge
    rng = np.random.default_rng(p.seed)
    cell = 0.1
    ncol, nrow = int(round(p.rough_len_m / cell)) + 1, int(round(WIDTH_M / cell)) + 1
    z = p.rough_m + np.round(rng.uniform(-p.rough_m, p.rough_m, (nrow, ncol)) / 0.01) * 0.01
    xs = np.arange(ncol) * cell
    z *= np.clip(np.minimum(xs, xs[-1] - xs) / 0.5, 0.0, 1.0)[None, :]
    top = 2 * p.rough_m
    hf = spec.add_hfield()
    hf.name = "rough"
    hf.size = (p.rough_len_m / 2, WIDTH_M / 2, top, 0.05)
    hf.nrow, hf.ncol = nrow, ncol
    hf.userdata = (z / top).ravel().tolist()
    g = spec.worldbody.add_geom()
    g.type = mujoco.mjtGeom.mjGEOM_HFIELD
    g.hfieldname = "rough"
    g.pos = (START_X + p.rough_len_m / 2, 0.0, 0.0)
    g.rgba = RGBA

    def height(x: float, y: float) -> float:
        # MuJoCo's heightfield is two triangles per cell, split along the diagonal from
        # (x, y) to (x + cell, y + cell): linear on each (checked against its ray cast)
        u, v = (x - START_X) / cell, (y + WIDTH_M / 2) / cell
        if not (0 <= u <= ncol - 1 and 0 <= v <= nrow - 1):
            return 0.0
        i, j = min(int(v), nrow - 2), min(int(u), ncol - 2)
        a, b = v - i, u - j
        z00, z01, z10, z11 = z[i, j], z[i, j + 1], z[i + 1, j], z[i + 1, j + 1]
        if b >= a:
            return float(z00 + b * (z01 - z00) + a * (z11 - z01))
        return float(z00 + a * (z10 - z00) + b * (z11 - z10))
    return height


def _boxes(spec: mujoco.MjSpec, p: WorldParams) -> Callable[[float, float], float]:
    # 0.45 m cells at ±box_m around box_m (all above the floor), as the training's boxes
    rng = np.random.default_rng(p.seed)
    cell = BOX_CELL_M
    ny = int(round(WIDTH_M / cell))
    tops = p.box_m + rng.uniform(-p.box_m, p.box_m, (p.box_rows, ny))
    y0 = -ny * cell / 2
    for r in range(p.box_rows):
        for c in range(ny):
            _box(spec, START_X + r * cell, START_X + (r + 1) * cell, float(tops[r, c]),
                 y0=y0 + c * cell, y1=y0 + (c + 1) * cell)

    def height(x: float, y: float) -> float:
        r, c = math.floor((x - START_X) / cell), math.floor((y - y0) / cell)
        return float(tops[r, c]) if 0 <= r < p.box_rows and 0 <= c < ny else 0.0
    return height


_BUILDERS = {"flat": _flat, "stairs_up": _stairs(True), "stairs_down": _stairs(False),
             "slope_up": _slope(True), "slope_down": _slope(False), "rough": _rough,
             "boxes": _boxes}
