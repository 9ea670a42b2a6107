"""URDF and MJCF agree with the robot contract; the generated files are up to date."""

import filecmp
import xml.etree.ElementTree as ET

import mujoco
import numpy as np
import pytest
from athena_description.generate import SENSOR_ACC, SENSOR_GYRO, SENSOR_QUAT, generate
from athena_description.geometry import load_geometry

from athena_description import load_robot_contract, paths


def test_committed_files_equal_a_fresh_generation(tmp_path) -> None:
    for fresh in generate(tmp_path):
        committed = paths.share_dir() / fresh.relative_to(tmp_path)
        assert filecmp.cmp(fresh, committed, shallow=False), (
            f"{committed} is stale: run `python -m athena_description.generate`")


def test_size_class() -> None:
    geo, robot = load_geometry(), load_robot_contract()
    assert 30.0 <= geo.total_mass <= 40.0
    m = mujoco.MjModel.from_xml_path(str(paths.mjcf_scene_path()))
    d = mujoco.MjData(m)
    mujoco.mj_resetDataKeyframe(m, d, m.key("stand").id)
    mujoco.mj_forward(m, d)
    top = max(d.geom_xpos[i][2] + m.geom_rbound[i] for i in range(m.ngeom) if m.geom_bodyid[i])
    assert 1.2 <= top <= 1.45, top
    assert robot.standing_base_height == pytest.approx(0.75, abs=0.03)
    soles = [d.geom_xpos[m.geom(f"{f}_collision").id][2] - m.geom(f"{f}_collision").size[2]
             for f in robot.foot_links]
    assert soles == pytest.approx([0.0, 0.0], abs=0.003), "feet must rest on the floor"


def test_urdf_matches_contract() -> None:
    robot, geo = load_robot_contract(), load_geometry()
    root = ET.parse(paths.urdf_path()).getroot()
    joints = [j for j in root.findall("joint") if j.get("type") == "revolute"]
    assert [j.get("name") for j in joints] == robot.joint_names
    for el, spec in zip(joints, robot.joints):
        assert [float(v) for v in el.find("axis").get("xyz").split()] == list(spec.axis)
        lim = el.find("limit")
        assert float(lim.get("lower")) == pytest.approx(spec.lower)
        assert float(lim.get("upper")) == pytest.approx(spec.upper)
        assert float(lim.get("effort")) == pytest.approx(spec.effort)
        assert float(lim.get("velocity")) == pytest.approx(spec.velocity)
    masses = {el.get("name"): float(el.find("inertial/mass").get("value"))
              for el in root.findall("link") if el.find("inertial") is not None}
    for link in geo.links:
        if link.mass:
            assert masses[link.name] == pytest.approx(link.mass, rel=0.01)
    assert sum(masses.values()) == pytest.approx(geo.total_mass, rel=0.01)
    assert root.find(f"link[@name='{robot.imu_link}']") is not None


def test_urdf_and_mjcf_share_kinematics_and_inertia() -> None:
    """Same joint origins, parents and inertias in both files (MJCF is the one simulated)."""
    robot = load_robot_contract()
    root = ET.parse(paths.urdf_path()).getroot()
    m = mujoco.MjModel.from_xml_path(str(paths.mjcf_path()))
    for el in root.findall("joint"):
        child, parent = el.find("child").get("link"), el.find("parent").get("link")
        xyz = [float(v) for v in el.find("origin").get("xyz").split()]
        if child == robot.imu_link:  # a site in the MJCF
            assert m.site("imu").pos == pytest.approx(xyz)
            assert m.body(int(m.site("imu").bodyid[0])).name == parent
            continue
        body = m.body(child)
        assert m.body(int(body.parentid[0])).name == parent
        assert body.pos == pytest.approx(xyz)
        inertia = root.find(f"link[@name='{child}']/inertial/inertia")
        assert body.inertia == pytest.approx(
            [float(inertia.get(k)) for k in ("ixx", "iyy", "izz")], rel=1e-4)


def test_mjcf_matches_contract() -> None:
    robot, geo = load_robot_contract(), load_geometry()
    m = mujoco.MjModel.from_xml_path(str(paths.mjcf_path()))
    assert m.nu == robot.num_joints
    for i, spec in enumerate(robot.joints):
        act = m.actuator(i)
        jnt = m.joint(int(act.trnid[0]))
        assert jnt.name == spec.name, "actuator i must drive contract joint i"
        assert list(jnt.axis) == list(spec.axis)
        assert list(jnt.range) == pytest.approx([spec.lower, spec.upper])
        assert jnt.armature[0] == pytest.approx(spec.armature)
        assert act.gainprm[0] == pytest.approx(spec.stiffness)
        assert act.biasprm[1:3] == pytest.approx([-spec.stiffness, -spec.damping])
        assert list(act.forcerange) == pytest.approx([-spec.effort, spec.effort])
    for link in geo.links:
        if link.mass:
            assert m.body(link.name).mass[0] == pytest.approx(link.mass, rel=0.01)
    assert m.body(robot.base_link).subtreemass[0] == pytest.approx(geo.total_mass, rel=0.01)
    for name in (SENSOR_GYRO, SENSOR_ACC, SENSOR_QUAT):
        assert m.sensor(name).dim[0] in (3, 4)
    assert m.opt.timestep == pytest.approx(0.005)


def test_mujoco_applies_the_contract_pd_law() -> None:
    robot = load_robot_contract()
    m = mujoco.MjModel.from_xml_path(str(paths.mjcf_scene_path()))
    d = mujoco.MjData(m)
    rng = np.random.default_rng(0)
    for _ in range(20):
        mujoco.mj_resetDataKeyframe(m, d, m.key("stand").id)
        q = rng.uniform(robot.lower_limits, robot.upper_limits)
        qd = rng.normal(0.0, 3.0, robot.num_joints)
        target = rng.uniform(robot.lower_limits, robot.upper_limits)
        d.qpos[7:], d.qvel[6:], d.ctrl[:] = q, qd, target
        mujoco.mj_forward(m, d)
        assert d.actuator_force == pytest.approx(robot.pd_torque(target, q, qd), abs=1e-6)
