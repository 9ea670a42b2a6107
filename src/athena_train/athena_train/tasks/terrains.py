"""athena's rough-terrain curriculum: Isaac Lab sub-terrains sized for a 0.75 m humanoid.

Isaac Lab's ``ROUGH_TERRAINS_CFG`` families and proportions, with heights and slopes a
humanoid of athena's size can take (its 5-23 cm stairs, 5-20 cm boxes and 0.4 slopes are
quadruped sizes), and flat ground. Seven families, one column group each (``num_cols``
columns split by ``proportion``, as Isaac Lab's generator assigns them), difficulty rising
linearly over the rows
(levels):

- ``pyramid_stairs`` (MeshPyramidStairsTerrainCfg): 5 -> 12 cm steps, 0.30 m treads; the
  robot starts on the top platform and walks down.
- ``pyramid_stairs_inv`` (MeshInvertedPyramidStairsTerrainCfg): the same steps; it walks up.
- ``boxes`` (MeshRandomGridTerrainCfg): 0.45 m cells at +-2 -> +-6 cm (neighbours differ by up
  to 12 cm).
- ``random_rough`` (HfRandomUniformTerrainCfg): +-3 cm in 1 cm steps on a 0.1 m grid (this
  sub-terrain ignores the difficulty: every level is the same).
- ``hf_pyramid_slope`` (HfPyramidSlopedTerrainCfg): 0 -> 0.21 rise/run (12 deg); it walks down.
- ``hf_pyramid_slope_inv`` (HfInvertedPyramidSlopedTerrainCfg): the same slopes; it walks up.
- ``flat`` (MeshPlaneTerrainCfg): a plane at every level, 2 of 20 columns. Without it
  (rough3) the policy never walked on flat ground and failed the flat walking gate
  (0.19 m/s velocity error against 0.15): the robot must still walk well where most
  floors are flat.

Every robot starts within 0.5 m of its tile's origin: the centre of a flat platform (3 m for
stairs, 2 m for slopes and boxes; random_rough has none, its origin is the highest point
within 1 m of the centre).

The sizes are the robustness gate's (``athena_description.walking_gate``: ``STEP_HEIGHT_M``,
``SLOPE``, ``ROUGH_M``, ``BOX_M``), which the MuJoCo sim's worlds build too.
"""

from __future__ import annotations

import copy

import numpy as np
from isaaclab import terrains as terrain_gen
from isaaclab.terrains import TerrainGeneratorCfg

from athena_description import walking_gate as wg

FAMILIES = ("pyramid_stairs", "pyramid_stairs_inv", "boxes", "random_rough", "hf_pyramid_slope",
            "hf_pyramid_slope_inv", "flat")


def rough_terrains_cfg(num_rows: int = wg.TERRAIN_LEVELS,
                       num_cols: int = 20) -> TerrainGeneratorCfg:
    """The curriculum grid: ``num_rows`` levels x ``num_cols`` columns of 8 m x 8 m tiles."""
    stairs = {"step_width": wg.STAIR_TREAD_M, "platform_width": 3.0, "border_width": 1.0,
              "holes": False, "step_height_range": wg.STEP_HEIGHT_M}
    return TerrainGeneratorCfg(
        size=(8.0, 8.0), border_width=20.0, num_rows=num_rows, num_cols=num_cols,
        horizontal_scale=0.1, vertical_scale=0.005, slope_threshold=0.75, use_cache=False,
        curriculum=True,
        sub_terrains={
            "pyramid_stairs": terrain_gen.MeshPyramidStairsTerrainCfg(proportion=0.2, **stairs),
            "pyramid_stairs_inv": terrain_gen.MeshInvertedPyramidStairsTerrainCfg(
                proportion=0.2, **stairs),
            "boxes": terrain_gen.MeshRandomGridTerrainCfg(
                proportion=0.15, grid_width=0.45, grid_height_range=wg.BOX_M,
                platform_width=2.0),
            "random_rough": terrain_gen.HfRandomUniformTerrainCfg(
                proportion=0.15, noise_range=(-wg.ROUGH_M, wg.ROUGH_M), noise_step=0.01,
                border_width=0.25),
            "hf_pyramid_slope": terrain_gen.HfPyramidSlopedTerrainCfg(
                proportion=0.1, slope_range=wg.SLOPE, platform_width=2.0, border_width=0.25),
            "hf_pyramid_slope_inv": terrain_gen.HfInvertedPyramidSlopedTerrainCfg(
                proportion=0.1, slope_range=wg.SLOPE, platform_width=2.0, border_width=0.25),
            "flat": terrain_gen.MeshPlaneTerrainCfg(proportion=0.1),
        },
    )


def one_column_per_family(cfg: TerrainGeneratorCfg, num_rows: int,
                          tile_m: float | None = None) -> TerrainGeneratorCfg:
    """A copy of ``cfg`` with equal proportions: column j is family j (tests, evaluation).

    ``tile_m``: square tiles of this side instead of ``cfg``'s (a larger tile holds more of
    its family: stairs and slopes run from the platform to the tile's border).
    """
    out = copy.deepcopy(cfg)
    out.num_rows, out.num_cols = num_rows, len(cfg.sub_terrains)
    if tile_m is not None:
        out.size = (float(tile_m), float(tile_m))
    for sub in out.sub_terrains.values():
        sub.proportion = 1.0
    return out


def column_families(cfg: TerrainGeneratorCfg) -> list[str]:
    """The family of each column, as Isaac Lab's curriculum generator assigns them.

    ``TerrainGenerator._generate_curriculum_terrains``: column j gets the first sub-terrain
    whose cumulative proportion exceeds j / num_cols + 0.001.
    """
    names = list(cfg.sub_terrains)
    props = np.array([s.proportion for s in cfg.sub_terrains.values()], dtype=float)
    cum = np.cumsum(props / props.sum())
    return [names[int(np.min(np.where(j / cfg.num_cols + 0.001 < cum)[0]))]
            for j in range(cfg.num_cols)]
