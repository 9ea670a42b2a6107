"""The athena link tree, shapes and mass properties, read from ``config/robot.yaml``.

Mass and inertia of each link are computed from its primitive shape and density, so the
URDF, the MJCF and the USD (all generated from here) carry the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import yaml

from athena_description import paths
from athena_description.robot_contract import ContractError


@dataclass(frozen=True)
class Shape:
    """A primitive shape in its link frame.

    kind: ``box`` (size = full extents x, y, z), ``sphere`` (size = (radius,)) or ``capsule``
    (size = (radius, length), axis from the link origin along -z, plus hemispherical caps).
    """

    kind: str
    size: tuple[float, ...]
    pos: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def center(self) -> np.ndarray:
        """Geometric centre (= centre of mass for uniform density) in the link frame."""
        c = np.array(self.pos, dtype=float)
        if self.kind == "capsule":
            c[2] -= self.size[1] / 2.0
        return c

    def volume(self) -> float:
        """Volume (m³)."""
        if self.kind == "box":
            return float(np.prod(self.size))
        if self.kind == "sphere":
            return 4.0 / 3.0 * math.pi * self.size[0] ** 3
        r, length = self.size
        return math.pi * r**2 * length + 4.0 / 3.0 * math.pi * r**3

    def inertia(self, density: float) -> np.ndarray:
        """Principal moments (Ixx, Iyy, Izz) about the centre of mass (kg·m²)."""
        m = density * self.volume()
        if self.kind == "box":
            x, y, z = self.size
            return m / 12.0 * np.array([y * y + z * z, x * x + z * z, x * x + y * y])
        if self.kind == "sphere":
            return np.full(3, 0.4 * m * self.size[0] ** 2)
        r, length = self.size
        m_cyl = density * math.pi * r**2 * length
        m_hemi = density * 2.0 / 3.0 * math.pi * r**3
        # Each cap: 83/320 m r² about its own COM, which sits 3r/8 beyond the cylinder end.
        d = length / 2.0 + 3.0 * r / 8.0
        i_axial = m_cyl * r**2 / 2.0 + 2.0 * m_hemi * 0.4 * r**2
        i_trans = m_cyl * (length**2 / 12.0 + r**2 / 4.0) + 2.0 * m_hemi * (
            83.0 / 320.0 * r**2 + d**2)
        return np.array([i_trans, i_trans, i_axial])


@dataclass(frozen=True)
class Link:
    """One link of the tree, with the joint that connects it to its parent."""

    name: str
    parent: str | None
    joint: str | None
    origin: tuple[float, float, float]
    shape: Shape | None
    density: float
    collide: bool

    @property
    def mass(self) -> float:
        """Mass (kg); 0 for frames without a shape."""
        return 0.0 if self.shape is None else self.density * self.shape.volume()

    @property
    def com(self) -> np.ndarray:
        """Centre of mass in the link frame."""
        return np.zeros(3) if self.shape is None else self.shape.center

    @property
    def inertia(self) -> np.ndarray:
        """Principal moments of inertia about the COM (axes = link frame axes)."""
        return np.zeros(3) if self.shape is None else self.shape.inertia(self.density)


@dataclass(frozen=True)
class RobotGeometry:
    """Links in tree order (parents before children), plus passive joint terms."""

    links: tuple[Link, ...]
    joint_damping: float
    joint_frictionloss: float
    foot_friction: float

    @property
    def total_mass(self) -> float:
        """Sum of link masses (kg)."""
        return sum(link.mass for link in self.links)

    def link(self, name: str) -> Link:
        """Return the link called ``name``."""
        for link in self.links:
            if link.name == name:
                return link
        raise ContractError(f"no link named {name!r}")

    def children(self, name: str) -> list[Link]:
        """Direct children of a link, in file order."""
        return [link for link in self.links if link.parent == name]


def _shape(spec: dict | None) -> Shape | None:
    if spec is None:
        return None
    pos = tuple(float(v) for v in spec.get("pos", (0, 0, 0)))
    if "box" in spec:
        return Shape("box", tuple(float(v) for v in spec["box"]), pos)
    if "sphere" in spec:
        return Shape("sphere", (float(spec["sphere"]),), pos)
    if "capsule" in spec:
        c = spec["capsule"]
        return Shape("capsule", (float(c["radius"]), float(c["length"])), pos)
    raise ContractError(f"unknown shape {spec}")


@lru_cache(maxsize=1)
def load_geometry() -> RobotGeometry:
    """Load the link tree from robot.yaml (cached)."""
    with open(paths.robot_yaml(), encoding="utf-8") as f:
        data = yaml.safe_load(f)
    links = tuple(
        Link(
            name=name,
            parent=spec["parent"],
            joint=spec.get("joint"),
            origin=tuple(float(v) for v in spec["origin"]),
            shape=_shape(spec.get("shape")),
            density=float(spec.get("density", 0.0)),
            collide=bool(spec.get("collide", False)),
        )
        for name, spec in data["links"].items()
    )
    seen: set[str] = set()
    for link in links:
        if link.parent is not None and link.parent not in seen:
            raise ContractError(f"link {link.name}: parent {link.parent} must come before it")
        seen.add(link.name)
    passive = data.get("joint_passive", {})
    return RobotGeometry(links, float(passive.get("damping", 0.0)),
                         float(passive.get("frictionloss", 0.0)),
                         float(data.get("foot_friction", 1.0)))
