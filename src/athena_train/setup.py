"""Install athena_train: tasks, train/export/evaluate commands, and the local ground USD."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "athena_train"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/config", sorted(glob("config/*"))),
        # trained policies: share/athena_train/policies/<run>/policy.onnx (+ report files)
        *[(f"share/{PACKAGE}/{d}", sorted(f for f in glob(f"{d}/*") if "." in f.rsplit("/", 1)[1]))
          for d in sorted(glob("policies/*"))],
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    extras_require={"test": ["pytest"]},
    maintainer="athena maintainers",
    maintainer_email="maintainers@athena-robotics.dev",
    description="Isaac Lab tasks, rsl-rl training and ONNX export for athena.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "train = athena_train.train:main",
            "export = athena_train.export:main",
            "engine = athena_train.export:engine_main",
            "evaluate = athena_train.evaluate:main",
            "play = athena_train.evaluate:main",
            "make_usd = athena_train.make_usd:main",
            "terrain_eval = athena_train.terrain_eval:main",
        ],
    },
)
