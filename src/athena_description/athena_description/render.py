"""Render athena standing (MuJoCo offscreen: set MUJOCO_GL=egl or osmesa)."""

from __future__ import annotations

import argparse
from pathlib import Path

import mujoco

from athena_description import paths


def render_standing(out: Path, width: int = 960, height: int = 720) -> Path:
    """Render the stand keyframe from a front 3/4 view into a PNG and return its path."""
    import imageio.v3 as iio

    m = mujoco.MjModel.from_xml_path(str(paths.mjcf_scene_path()))
    d = mujoco.MjData(m)
    mujoco.mj_resetDataKeyframe(m, d, m.key("stand").id)
    mujoco.mj_forward(m, d)
    cam = mujoco.MjvCamera()
    cam.lookat[:] = (0.0, 0.0, 0.68)
    cam.distance, cam.azimuth, cam.elevation = 2.3, 145.0, -12.0
    renderer = mujoco.Renderer(m, height, width)
    try:
        renderer.update_scene(d, camera=cam)
        image = renderer.render()
    finally:
        renderer.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(out, image)
    return out


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: ``python -m athena_description.render OUT.png``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    print(render_standing(args.out))


if __name__ == "__main__":
    main()
