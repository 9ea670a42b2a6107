"""MuJoCo renders athena offscreen (EGL or OSMesa): the picture in docs/ comes from here."""

import pytest
from athena_description.render import render_standing


def test_render_standing(tmp_path) -> None:
    try:
        out = render_standing(tmp_path / "athena.png", width=320, height=240)
    except Exception as exc:  # no GL library on this machine
        pytest.skip(f"offscreen rendering unavailable ({exc}); see requirements/apt.txt")
    import imageio.v3 as iio

    img = iio.imread(out)
    assert img.shape == (240, 320, 3)
    assert img.std() > 10, "image is blank"
