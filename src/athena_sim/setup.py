"""Install athena_sim: the MuJoCo simulation node and its parameters."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "athena_sim"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/config", sorted(glob("config/*.yaml"))),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    extras_require={"test": ["pytest"]},
    maintainer="athena maintainers",
    maintainer_email="maintainers@athena-robotics.dev",
    description="MuJoCo simulation node for athena.",
    license="Apache-2.0",
    entry_points={"console_scripts": ["sim_node = athena_sim.sim_node:main"]},
)
