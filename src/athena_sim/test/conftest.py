"""Test setup: choose MuJoCo's offscreen GL backend before any test module imports mujoco."""

import os

# mujoco picks its GL platform at import time; EGL (headless, Mesa) unless the caller chose.
os.environ.setdefault("MUJOCO_GL", "egl")
