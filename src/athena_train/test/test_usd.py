"""The committed USD agrees with the robot contract (names, order, axes, limits, masses 1 %)."""

from __future__ import annotations

import pytest

pytest.importorskip("pxr", reason="needs USD python bindings (usd-exchange, in the training stack)")

from athena_description.usd_check import check_usd  # noqa: E402

from athena_description import paths  # noqa: E402


def test_usd_matches_contract() -> None:
    problems = check_usd(paths.usd_path())
    assert problems == [], "\n".join(problems)


def test_usd_is_floating_base_without_collision_groups() -> None:
    from pxr import Usd

    stage = Usd.Stage.Open(str(paths.usd_path()))
    types = [p.GetTypeName() for p in stage.Traverse()]
    assert "PhysicsCollisionGroup" not in types
    # the only fixed joint left is the head (torso child); none pins the pelvis to the world
    for prim in stage.Traverse():
        if prim.GetTypeName() == "PhysicsFixedJoint":
            body0 = prim.GetRelationship("physics:body0").GetTargets()
            assert body0 and stage.GetPrimAtPath(body0[0]).HasAPI("PhysicsRigidBodyAPI"), prim
