"""Install athena_description: the Python API plus the robot files under share/."""

import os
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "athena_description"


def share(folder: str, pattern: str = "*") -> tuple[str, list[str]]:
    """Install every file of ``folder`` matching ``pattern`` into share/<package>/folder."""
    return (f"share/{PACKAGE}/{folder}", sorted(f for f in glob(f"{folder}/{pattern}")
                                                if os.path.isfile(f)))


def share_tree(folder: str) -> list[tuple[str, list[str]]]:
    """Install ``folder`` with its subfolders (USD converters write a Payload/ folder)."""
    return [share(root) for root, _, _ in sorted(os.walk(folder))]


setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        share("config", "*.yaml"),
        share("urdf"),
        share("mjcf"),
        *share_tree("usd"),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    extras_require={"test": ["pytest"]},
    maintainer="athena maintainers",
    maintainer_email="maintainers@athena-robotics.dev",
    description="The athena humanoid and its robot and policy contracts.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "generate = athena_description.generate:main",
        ],
    },
)
