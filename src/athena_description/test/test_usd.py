"""The committed USD agrees with the robot contract; the checker catches disagreements."""

import math

import pytest
from athena_description.usd_check import check_usd

from athena_description import load_robot_contract, paths

pxr = pytest.importorskip("pxr.UsdPhysics", reason="pxr (usd-core / usd-exchange) not installed")


def test_committed_usd_agrees_with_contract() -> None:
    try:
        usd = paths.usd_path()
    except FileNotFoundError as exc:
        pytest.skip(f"no USD yet (athena_train produces it): {exc}")
    assert check_usd(usd) == []


def test_checker_reports_a_wrong_usd(tmp_path) -> None:
    """A hand-built stage with one wrong joint, no masses and a collision group."""
    from pxr import Gf, Usd, UsdGeom, UsdPhysics

    robot = load_robot_contract()
    stage = Usd.Stage.CreateNew(str(tmp_path / "bad.usda"))
    root = UsdGeom.Xform.Define(stage, "/athena").GetPrim()
    UsdPhysics.ArticulationRootAPI.Apply(root)
    spec = robot.joints[0]  # left_hip_pitch, about +y: author it about x, limits right
    joint = UsdPhysics.RevoluteJoint.Define(stage, f"/athena/{spec.name}")
    joint.CreateAxisAttr("X")
    joint.CreateLocalRot0Attr(Gf.Quatf(1.0))
    joint.CreateLowerLimitAttr(math.degrees(spec.lower))
    joint.CreateUpperLimitAttr(math.degrees(spec.upper))
    UsdPhysics.CollisionGroup.Define(stage, "/athena/group")
    stage.Save()

    problems = "\n".join(check_usd(tmp_path / "bad.usda"))
    assert f"{spec.name}: axis" in problems
    assert f"{spec.name}: limits" not in problems
    assert "differ from the contract" in problems
    assert "total mass" in problems
    assert "collision groups present" in problems
    assert f"{robot.foot_links[0]} has no collision shape" in problems
