"""Install athena_bringup: launch files, parameter files and the demo/evaluation commands."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "athena_bringup"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/config", sorted(glob("config/*.yaml"))),
        (f"share/{PACKAGE}/launch", sorted(glob("launch/*.launch.py"))),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    extras_require={"test": ["pytest"]},
    maintainer="athena maintainers",
    maintainer_email="maintainers@athena-robotics.dev",
    description="athena launch files, sim demo and MuJoCo evaluation.",
    license="Apache-2.0",
    entry_points={"console_scripts": [
        "cmd_vel_source = athena_bringup.cmd_vel_source:main",
        "joy_teleop = athena_bringup.teleop:joy_main",
        "keyboard_teleop = athena_bringup.teleop:keyboard_main",
        "sim_demo = athena_bringup.sim_demo:main",
        "evaluate = athena_bringup.evaluate:main",
    ]},
)
