"""Install athena_policy_node."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "athena_policy_node"

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
    maintainer="athena maintainers",
    maintainer_email="maintainers@athena-robotics.dev",
    description="The athena 500 Hz policy node with a safe fallback.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={
        "console_scripts": [
            "policy_node = athena_policy_node.node:main",
            "self_check = athena_policy_node.self_check:main",
            "make_test_policy = athena_policy_node.test_policy:main",
        ],
    },
)
