"""Check a robot USD (converted from the URDF or MJCF) against the robot contract.

Run it after every conversion::

    python -m athena_description.usd_check path/to/athena.usda

Checks what the simulators take from the USD: the 23 revolute joints (names, axes in the parent
frame, limits), link masses (within 1 %) and total mass, collision shapes on the feet and the
termination links, an articulation root, and no ``PhysicsCollisionGroup`` (after Newton's MuJoCo
export, collision groups can leave shapes without contacts). Needs ``pxr`` (usd-core or
usd-exchange).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from athena_description.geometry import RobotGeometry, load_geometry
from athena_description.robot_contract import RobotContract, load_robot_contract

_AXES = {"X": (1.0, 0.0, 0.0), "Y": (0.0, 1.0, 0.0), "Z": (0.0, 0.0, 1.0)}


def _joint_axis_in_parent(joint) -> np.ndarray:  # noqa: ANN001 (pxr type, imported lazily)
    """The joint axis in body0's frame: the axis token rotated by localRot0."""
    from pxr import Gf

    rot = joint.GetLocalRot0Attr().Get() or Gf.Quatf(1.0)
    axis = Gf.Vec3d(*_AXES[str(joint.GetAxisAttr().Get())])
    return np.array(Gf.Rotation(Gf.Quatd(rot)).TransformDir(axis))


def check_usd(path: Path, robot: RobotContract | None = None,
              geo: RobotGeometry | None = None) -> list[str]:
    """Return the ways the USD at ``path`` disagrees with the contract (empty = agrees)."""
    from pxr import Usd, UsdPhysics

    robot = robot or load_robot_contract()
    geo = geo or load_geometry()
    stage = Usd.Stage.Open(str(path))
    if stage is None:
        return [f"cannot open {path}"]
    prims = list(stage.Traverse(Usd.TraverseInstanceProxies()))
    problems: list[str] = []

    joints = {p.GetName(): UsdPhysics.RevoluteJoint(p) for p in prims
              if p.IsA(UsdPhysics.RevoluteJoint)}
    if set(joints) != set(robot.joint_names):
        problems.append(f"revolute joints {sorted(set(joints) ^ set(robot.joint_names))} "
                        "differ from the contract")
    for spec in robot.joints:
        joint = joints.get(spec.name)
        if joint is None:
            continue
        axis = _joint_axis_in_parent(joint)
        if not np.allclose(axis, spec.axis, atol=1e-4):
            problems.append(f"{spec.name}: axis {axis.round(4).tolist()} != {list(spec.axis)}")
        limits = (joint.GetLowerLimitAttr().Get(), joint.GetUpperLimitAttr().Get())
        expected = (math.degrees(spec.lower), math.degrees(spec.upper))
        if None in limits or not np.allclose(limits, expected, atol=0.01):
            problems.append(f"{spec.name}: limits {limits} deg != {expected}")

    masses = {p.GetName(): UsdPhysics.MassAPI(p).GetMassAttr().Get() for p in prims
              if p.HasAPI(UsdPhysics.MassAPI) and p.HasAPI(UsdPhysics.RigidBodyAPI)}
    for link in geo.links:
        if not link.mass:
            continue
        mass = masses.get(link.name)
        if mass is None or not math.isclose(mass, link.mass, rel_tol=0.01):
            problems.append(f"{link.name}: mass {mass} != {link.mass:.4f} kg")
    total = sum(m for m in masses.values() if m)
    if not math.isclose(total, geo.total_mass, rel_tol=0.01):
        problems.append(f"total mass {total:.3f} != {geo.total_mass:.3f} kg")

    colliding = {p.GetParent().GetName() for p in prims if p.HasAPI(UsdPhysics.CollisionAPI)}
    for name in (*robot.foot_links, *robot.termination_contact_links):
        if name not in colliding:
            problems.append(f"{name} has no collision shape")
    if not any(p.HasAPI(UsdPhysics.ArticulationRootAPI) for p in prims):
        problems.append("no articulation root")
    groups = [str(p.GetPath()) for p in prims if p.IsA(UsdPhysics.CollisionGroup)]
    if groups:
        problems.append(f"collision groups present (contacts may vanish in Newton): {groups}")
    return problems


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: exit 1 and list the problems if the USD disagrees."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("usd", type=Path)
    args = parser.parse_args(argv)
    problems = check_usd(args.usd)
    for problem in problems:
        print(f"MISMATCH: {problem}", file=sys.stderr)
    print(f"{args.usd}: {'agrees with' if not problems else 'DISAGREES with'} the robot contract")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
