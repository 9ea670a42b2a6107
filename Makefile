# athena: the two commands are `make sim` (the main job) and `make test`.
# Both set the workspace up first if needed (scripts/setup.sh is idempotent).
SHELL := /bin/bash
.DEFAULT_GOAL := help
SIM_ARGS ?=

.PHONY: help setup setup-train sim test train clean

help:
	@echo "make sim          set up if needed, run the sim-to-sim demo headless, print its summary"
	@echo "make test         set up everything the suite needs (training stack included), colcon test + workspace tests"
	@echo "make setup        base workspace only (.venv, ROS 2 core, MuJoCo, ONNX Runtime, colcon build)"
	@echo "make setup-train  ... plus the training stack (Isaac Lab 3.0, rsl-rl; ~8 GB)"
	@echo "make train        set up the training stack, then train Athena-Velocity-Flat-v0"

setup:
	@bash scripts/setup.sh

setup-train:
	@bash scripts/setup.sh --train

# the workspace's Python: .venv (ROS 2 wheels, MuJoCo, ONNX Runtime), then the colcon overlay
RUN := source .venv/bin/activate && source install/setup.bash &&

sim: setup
	@$(RUN) python -m athena_bringup.sim_demo $(SIM_ARGS)

# The full suite needs the training stack (Isaac Lab runs on the CPU in the tests): nothing in
# it is optional here, so `make test` sets it up too.
test: setup-train
	@bash scripts/test.sh

train: setup-train
	@$(RUN) python -m athena_train.train $(TRAIN_ARGS)

clean:
	rm -rf build install log
