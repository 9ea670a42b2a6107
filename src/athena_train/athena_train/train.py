"""Train an athena task with rsl-rl PPO.

``python -m athena_train.train`` or ``ros2 run athena_train train``.

The run directory (``logs/athena_train/<experiment>/<run>``) holds the config dump
(``params/env.yaml``, ``params/agent.yaml``), ``git.txt`` (commit and dirty state),
TensorBoard events and checkpoints ``model_<it>.pt``, each written atomically (tmp file +
``os.replace``) so a kill -9 never leaves a half-written checkpoint. ``--resume`` continues
from the newest checkpoint of the run (iteration counter, optimizer and normalizer included).

``--distributed`` runs one process per GPU (torchrun; rsl-rl's data-parallel PPO, see
``athena_train.distributed``); ``--num_envs`` is per process.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from athena_train import overrides as cli_overrides
from athena_train import warm_start
from athena_train.distributed import (
    MULTICAST_OFF,
    SINGLE,
    Rank,
    current_rank,
    default_nproc,
    launch,
    parameter_checksum,
    rank_device,
    rank_seed,
    runner_class,
    set_multicast_off,
)

DEFAULT_LOG_ROOT = Path("logs") / "athena_train"
PRESETS = ("newton", "newton_rough", "physx")  # = tasks.physics.PRESETS, without Isaac Lab


def git_commit(repo: Path | None = None) -> str:
    """The workspace's git commit (``+dirty`` when it has uncommitted changes), or 'unknown'."""
    cwd = str(repo or Path(__file__).resolve().parent)
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=cwd, capture_output=True, text=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("ATHENA_GIT_COMMIT", "unknown")


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The highest-iteration ``model_<it>.pt`` in ``run_dir`` (tmp files ignored)."""
    best, best_it = None, -1
    for p in run_dir.glob("model_*.pt"):
        m = re.fullmatch(r"model_(\d+)\.pt", p.name)
        if m and int(m.group(1)) > best_it:
            best, best_it = p, int(m.group(1))
    return best


def configure_warp() -> None:
    """Have warp compile kernels forward-only, to CUBIN; call before Isaac Lab or Newton import.

    Training never differentiates through the physics, yet warp by default generates and
    compiles an adjoint for every kernel: about half of Isaac Lab's and Newton's compile time
    on a cold kernel cache (CPU, 16 envs: env creation 70 s -> 34 s; MuJoCo-Warp already
    opts out itself). Warp reads the option when a module's first kernel is defined, so
    modules imported before this call keep their own setting (slower to compile, same result).

    On a GPU, warp's automatic choice is PTX (the driver is newer than warp's toolkit), which
    the CUDA driver compiles to machine code again each time a process loads a module, unless
    its own cache (``~/.nv``) already holds it. On a fresh GPU machine with warp's kernel
    cache carried in, that load took the whole 25 s of the first training iteration (every
    thread dump of flat16k12 stood in ``warp/_src/build.py load_cuda``; docs/profiling.md).
    CUBIN is machine code for the device's architecture (sm_90 serves H100 and H200 alike),
    loaded as is; warp keeps PTX where its compiler cannot emit CUBIN for the device.
    """
    import warp as wp

    wp.config.enable_backward = False
    wp.config.cuda_output = "cubin"


MANAGERS = ("torch", "warp")


def resolve_managers(choice: str, device: str, distributed: bool) -> str:
    """``train --managers``: ``auto`` is the warp managers on one CUDA device, else torch.

    On one GPU the warp managers' env step is 1.27x faster (13.9 vs 17.6 ms at 8192 envs on an
    H100) and their flat run passed the walking gate in Isaac Lab and in MuJoCo through the
    ROS nodes (flatw2, docs/training.md). On the CPU they run eagerly, no faster than torch's;
    under torchrun they have not run yet.
    """
    if choice != "auto":
        return choice
    return "warp" if device.startswith("cuda") and not distributed else "torch"


def make_env_and_cfg(task: str, num_envs: int | None, device: str, seed: int,
                     physics: str | None = None,
                     edit_env_cfg: Callable[[object], None] | None = None,
                     managers: str = "torch") -> tuple[object, object]:
    """Create the Isaac Lab env (wrapped for rsl-rl) and the agent config of ``task``.

    ``physics`` names a preset of :mod:`athena_train.tasks.physics`; None takes the task's own
    (``newton`` for flat ground, ``newton_rough`` for the terrain curriculum). ``edit_env_cfg``
    may change the env config before the env is built (tests, evaluation). ``managers``:
    ``torch``, Isaac Lab's managers; ``warp``, its warp managers (``ManagerBasedRLEnvWarp``
    as :class:`athena_train.tasks.warp_env.AthenaWarpEnv`,
    each manager's step one CUDA graph on a GPU: :mod:`athena_train.tasks.warp_mdp`), with the
    actor's history stacked outside the env (:class:`athena_train.obs_history.HistoryVecEnv`).
    """
    if managers not in MANAGERS:
        raise ValueError(f"managers must be one of {MANAGERS}, got {managers!r}")
    configure_warp()
    import gymnasium as gym
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper
    from isaaclab_tasks.utils import load_cfg_from_registry

    import athena_train.tasks  # noqa: F401 - registers the tasks
    from athena_train.tasks.physics import physics_cfg

    env_cfg = load_cfg_from_registry(task, "env_cfg_entry_point")
    agent_cfg = load_cfg_from_registry(task, "rsl_rl_cfg_entry_point")
    env_cfg.sim.device = device
    env_cfg.physics_preset = physics or env_cfg.physics_preset
    if num_envs:
        env_cfg.scene.num_envs = num_envs
    # the rough preset sizes its collision buffers for the number of worlds
    env_cfg.sim.physics = physics_cfg(env_cfg.physics_preset, device, env_cfg.scene.num_envs)
    env_cfg.seed = seed
    if edit_env_cfg is not None:
        edit_env_cfg(env_cfg)
    agent_cfg.seed, agent_cfg.device = seed, device
    if managers == "warp":
        from athena_train.tasks.warp_env import AthenaWarpEnv
        from athena_train.tasks.warp_mdp import to_warp_managers

        to_warp_managers(env_cfg, captured=device.startswith("cuda"))
        env = AthenaWarpEnv(cfg=env_cfg)
    else:
        env = gym.make(task, cfg=env_cfg)
    from athena_train.terrain_state import curriculum_skipped

    # the wrapper's first reset: robots are not on their tiles yet, a curriculum would
    # promote them all by one level for the distance from where they were built
    with curriculum_skipped(env):
        wrapped = RslRlVecEnvWrapper(env, clip_actions=agent_cfg.clip_actions)
    if managers == "warp":
        from athena_description.policy_contract import default_policy_contract

        from athena_train.obs_history import HistoryVecEnv

        wrapped = HistoryVecEnv(wrapped, default_policy_contract())
    return wrapped, agent_cfg


def install_atomic_save(runner: object,
                        extra_infos: Callable[[], dict] | None = None) -> None:
    """Make ``runner.save`` write to ``<path>.tmp`` and ``os.replace`` it into place.

    ``extra_infos()`` (if given) is merged into the checkpoint's ``infos`` (rsl-rl stores them
    in the same file; ``load`` returns them): the terrain levels ride there.
    """
    original = runner.save

    def atomic_save(path: str, infos: dict | None = None) -> None:
        if extra_infos is not None:
            infos = {**(infos or {}), **extra_infos()}
        tmp = f"{path}.tmp"
        original(tmp, infos)
        os.replace(tmp, path)

    runner.save = atomic_save


def dump_yaml_atomic(path: Path, data: object) -> None:
    """Isaac Lab's ``dump_yaml`` into a temporary file, then ``os.replace`` it into place.

    The other ranks of a resumed distributed run read ``params/`` beside the checkpoint
    (``warm_start.read_source``) while rank 0 rewrites it: they must see the old file or the
    new one, never half of one (a half-written env.yaml failed a two-process resume).
    """
    from isaaclab.utils.io import dump_yaml

    tmp = path.with_name(f"{path.name}.tmp.yaml")  # dump_yaml keeps a .yaml ending
    dump_yaml(str(tmp), data)
    os.replace(tmp, path)


def _terrain_infos(env: object) -> Callable[[], dict]:
    """The checkpoint infos of the terrain curriculum (empty when the env has none)."""
    from athena_train import terrain_state

    def infos() -> dict:
        state = terrain_state.capture(env)
        return {} if state is None else {terrain_state.KEY: state}

    return infos


class ProgressLine:
    """One line per iteration: it, reward, episode length, env-steps/s, ETA."""

    def __init__(self, total: int, steps_per_it: int) -> None:
        """Start the clock for ``total`` iterations of ``steps_per_it`` env-steps each."""
        self.total, self.steps_per_it, self.t0, self.done = total, steps_per_it, time.time(), 0

    def update(self, it: int, reward: float, ep_len: float) -> str:
        """Format (and return) the progress line after one more iteration."""
        self.done += 1
        el = time.time() - self.t0
        per_it = el / self.done
        eta = per_it * max(self.total - self.done, 0)
        return (f"[train] it {it} ({self.done}/{self.total}) reward {reward:8.3f} "
                f"ep_len {ep_len:6.1f} {self.steps_per_it / per_it:9.0f} env-steps/s "
                f"elapsed {el:6.0f}s ETA {eta:6.0f}s")


def _mean(values: object) -> float:
    """Mean of a (possibly empty) sequence; NaN when empty."""
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def install_progress(runner: object, total: int, steps_per_it: int) -> None:
    """Print :class:`ProgressLine` after each rsl-rl iteration (wraps its logger)."""
    progress = ProgressLine(total, steps_per_it)
    logger = runner.logger
    original = logger.log

    def log(*args: object, **kwargs: object) -> object:
        out = original(*args, **kwargs)
        rew = getattr(logger, "rewbuffer", None) or []
        lens = getattr(logger, "lenbuffer", None) or []
        it = kwargs.get("it", args[0] if args else runner.current_learning_iteration)
        print(progress.update(int(it), _mean(rew), _mean(lens)), flush=True)
        return out

    logger.log = log


FIRST_IT_STACKS = "ATHENA_FIRST_IT_STACKS"


def install_first_iteration_stacks(runner: object, every_s: float) -> None:
    """Print every thread's Python stack each ``every_s`` s until the first iteration is logged.

    For a first iteration that takes far longer than the rest even with a warm kernel cache
    (26-37 s against 0.6 s on an H100, docs/profiling.md): the stacks in the log say where
    it waits. Python's faulthandler, so it also samples while the main thread is blocked in
    a native call. ``train`` installs it when the environment variable
    ``ATHENA_FIRST_IT_STACKS`` (:data:`FIRST_IT_STACKS`) holds the period in seconds.
    """
    import faulthandler

    faulthandler.dump_traceback_later(every_s, repeat=True, file=sys.stderr)
    logger = runner.logger
    original = logger.log

    def log(*args: object, **kwargs: object) -> object:
        faulthandler.cancel_dump_traceback_later()
        logger.log = original
        return original(*args, **kwargs)

    logger.log = log


def prepare_runner(env: object, agent_cfg: object, run_dir: Path, resume: bool,
                   rank: Rank = SINGLE) -> object:
    """An rsl-rl OnPolicyRunner writing into ``run_dir``, resumed from its newest checkpoint.

    A resumed run gets the checkpoint's layers (``agent_cfg`` is edited to them): a run
    continued after the task's default network changed, or on another machine, loads.
    Rank 0 writes the config dump and git commit; checkpoint writes are atomic. Every rank
    resumes from the same checkpoint (rsl-rl broadcasts rank 0's parameters at the start).
    """
    from importlib.metadata import version

    import torch
    from isaaclab_rl.rsl_rl import handle_deprecated_rsl_rl_cfg

    ckpt = latest_checkpoint(run_dir) if resume else None
    if ckpt is not None:  # a resumed run keeps its own layers, whatever the config says now
        warm_start.adopt_architecture(agent_cfg, warm_start.read_source(ckpt))
    agent_cfg = handle_deprecated_rsl_rl_cfg(agent_cfg, version("rsl-rl-lib"))
    run_dir.mkdir(parents=True, exist_ok=True)
    if rank.is_main:
        dump_yaml_atomic(run_dir / "params" / "env.yaml", env.unwrapped.cfg)
        dump_yaml_atomic(run_dir / "params" / "agent.yaml", agent_cfg)
        (run_dir / "git.txt").write_text(f"{git_commit()}\n", encoding="utf-8")
    # torch.distributions validates a Normal's arguments at every construction, one host sync
    # each (40 per PPO update, docs/profiling.md); a NaN policy is still caught by rsl-rl's
    # check_for_nan on every step's actions. Process-wide: training builds no other ones.
    torch.distributions.Distribution.set_default_validate_args(False)
    runner = runner_class()(env, agent_cfg.to_dict(), log_dir=str(run_dir),
                            device=agent_cfg.device)
    install_atomic_save(runner, _terrain_infos(env))
    runner.resumed_from = ckpt
    if ckpt is not None:
        # onto this run's device: a checkpoint from a GPU machine resumes on a CPU too
        infos = runner.load(str(ckpt), map_location=agent_cfg.device) or {}
        # model_<k> holds iteration k (0-based) done: continue with k + 1, not redo k
        runner.current_learning_iteration += 1
        print(f"[train] resumed from {ckpt} (iteration {runner.current_learning_iteration})",
              flush=True)
        restore_terrain(env, infos, ckpt)
    return runner


def restore_terrain(env: object, infos: dict, ckpt: Path) -> None:
    """Put the checkpoint's terrain levels back (envs with a terrain curriculum only)."""
    from athena_train import terrain_state

    if terrain_state.capture(env) is None:
        return
    if terrain_state.KEY in infos:
        print(f"[train] {terrain_state.restore(env, infos[terrain_state.KEY])}", flush=True)
    else:
        print(f"[train] {ckpt.name} holds no terrain levels: the curriculum starts afresh",
              flush=True)


def learn(runner: object, env: object, agent_cfg: object, run_dir: Path,
          rank: Rank = SINGLE) -> Path:
    """Run the iterations left up to ``agent_cfg.max_iterations``; return the last checkpoint."""
    start = runner.current_learning_iteration if runner.resumed_from else 0
    remaining = max(agent_cfg.max_iterations - start, 0)
    if rank.is_main:
        steps = agent_cfg.num_steps_per_env * env.num_envs * rank.world_size
        install_progress(runner, remaining, steps)
    if remaining == 0:
        return runner.resumed_from
    if rank.is_main and os.environ.get(FIRST_IT_STACKS):
        install_first_iteration_stacks(runner, float(os.environ[FIRST_IT_STACKS]))
    runner.learn(num_learning_iterations=remaining,
                 init_at_random_ep_len=runner.resumed_from is None)
    final = run_dir / f"model_{runner.current_learning_iteration}.pt"
    # rsl-rl saves at the end of learn; make sure the last one is there (rank 0 only writes)
    if rank.is_main and not final.exists():
        runner.save(str(final))
    return final


def train(task: str, num_envs: int | None, device: str, seed: int, max_iterations: int | None,
          run_name: str, resume: bool, log_root: Path, save_interval: int | None = None,
          physics: str | None = None, init_from: Path | None = None,
          init_std: float | None = None, critic_warmup: int | None = None,
          decimation_in_physics: bool = False, managers: str = "auto",
          symmetry: bool | None = None, solver: list[str] | None = None,
          overrides: list[str] | None = None) -> Path:
    """Train; return the run directory (checkpoints, TensorBoard, config dump).

    Under torchrun each process trains on its own device with its own seed; ``num_envs`` is
    per process. ``init_from`` warm-starts a fresh run from a checkpoint or an ONNX export
    (:mod:`athena_train.warm_start`); a resumed run continues from its own checkpoint instead.
    ``decimation_in_physics``: the env config's switch of that name
    (:func:`athena_train.tasks.physics.hand_decimation_to_physics`). ``managers``: Isaac Lab's
    torch or warp managers (:func:`make_env_and_cfg`), or ``auto`` (:func:`resolve_managers`).
    ``symmetry``: every PPO mini-batch also holds its mirror image
    (:mod:`athena_train.symmetry`); None keeps the runner config's setting (on).
    ``solver``: ``KEY=VALUE`` overrides of the physics solver's config
    (:func:`athena_train.tasks.physics.override_solver`). ``overrides``:
    ``env.PATH=VALUE`` and ``agent.PATH=VALUE`` edits of the env and runner configs
    (:mod:`athena_train.overrides`), applied before the env is built, recorded in ``params/``.
    """
    overrides = overrides or []
    t_start = time.time()
    rank = current_rank()
    if rank.distributed:
        set_multicast_off()
        print(f"[train] rank {rank.rank} multicast off: "
              + " ".join(f"{k}={os.environ[k]}" for k in MULTICAST_OFF), flush=True)
    device, seed = rank_device(device, rank), rank_seed(seed, rank)
    managers = resolve_managers(managers, device, rank.distributed)
    warm = warm_start.read_source(init_from) if init_from is not None else None  # refuse early
    if warm is not None:
        warm, widened = warm_start.fit_history(warm)
        if widened:
            print(f"[train] warm start: {widened}", flush=True)
    def edit(cfg: object) -> None:
        cfg.decimation_in_physics = decimation_in_physics
        if solver:
            from athena_train.tasks.physics import override_solver

            print(f"[train] solver overrides: {override_solver(cfg.sim.physics, solver)}",
                  flush=True)
        if overrides:
            print(f"[train] env overrides: {cli_overrides.apply(overrides, 'env', cfg)}",
                  flush=True)

    t_env = time.time()
    env, agent_cfg = make_env_and_cfg(task, num_envs, device, seed, physics, edit_env_cfg=edit,
                                      managers=managers)
    t_env = time.time() - t_env
    print(f"[train] decimation in physics: {decimation_in_physics}; managers: {managers}",
          flush=True)
    if overrides:
        print(f"[train] agent overrides: {cli_overrides.apply(overrides, 'agent', agent_cfg)}",
              flush=True)
    if max_iterations is not None:
        agent_cfg.max_iterations = max_iterations
    if save_interval is not None:
        agent_cfg.save_interval = save_interval
    if symmetry is not None:
        from athena_train.symmetry import enable

        enable(agent_cfg, symmetry)
    sym = getattr(agent_cfg.algorithm, "symmetry_cfg", None)
    print("[train] symmetry: " + ("mini-batches with their mirror images" if sym is not None
                                  and sym.use_data_augmentation else "off"), flush=True)
    agent_cfg.run_name = run_name
    run_dir = (log_root / agent_cfg.experiment_name / run_name).resolve()
    own = latest_checkpoint(run_dir) if resume else None
    if own is not None:  # prepare_runner resumes it, with its own layers
        if warm is not None:
            print(f"[train] resuming {own.name}: --init_from {init_from} not applied", flush=True)
            warm = None
    elif warm is not None:  # a warm start's layers are the source's
        print(f"[train] warm start layers: {warm_start.adopt_architecture(agent_cfg, warm)}",
              flush=True)
    runner = prepare_runner(env, agent_cfg, run_dir, resume, rank)
    if warm is not None:
        if rank.is_main:  # rank 0 wrote params/env.yaml
            checked = warm_start.check_contract(warm, run_dir / "params" / "env.yaml")
            print(f"[train] contract: {checked}", flush=True)
        print(f"[train] {warm_start.load_into(runner, warm, init_std)}", flush=True)
        if critic_warmup is None:
            critic_warmup = warm_start.ONNX_CRITIC_WARMUP if warm.critic is None else 0
        warm_start.install_critic_warmup(runner, critic_warmup)
        if critic_warmup > 0:
            print(f"[train] critic warm-up: the actor is frozen for {critic_warmup} iterations",
                  flush=True)
    print(f"[train] start-up parts: env (imports included) {t_env:.1f}s, runner and the rest "
          f"{time.time() - t_start - t_env:.1f}s", flush=True)
    print(f"[train] {task} rank {rank.rank}/{rank.world_size} envs={env.num_envs} "
          f"device={device} seed={seed} start-up {time.time() - t_start:.1f}s "
          f"run_dir={run_dir}", flush=True)
    final = learn(runner, env, agent_cfg, run_dir, rank)
    if rank.distributed:  # equal on every rank when the all-reduce kept them in sync
        print(f"[train] rank {rank.rank} actor parameter checksum "
              f"{parameter_checksum(runner):.9e}", flush=True)
    env.close()
    print(f"[train] done in {time.time() - t_start:.1f}s -> {final}", flush=True)
    return run_dir


def main(argv: list[str] | None = None) -> int:
    """Command line (see ``--help``)."""
    ap = argparse.ArgumentParser(description="Train an athena task with rsl-rl PPO.")
    ap.add_argument("--task", default="Athena-Velocity-Flat-v0")
    ap.add_argument("--num_envs", type=int, default=None)
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--max_iterations", type=int, default=None)
    ap.add_argument("--save_interval", type=int, default=None)
    ap.add_argument("--run_name", default=time.strftime("%Y%m%d-%H%M%S"))
    ap.add_argument("--resume", action="store_true",
                    help="continue from the newest checkpoint of --run_name")
    ap.add_argument("--physics", default=None, choices=PRESETS,
                    help="physics preset (default: the task's own: newton on flat ground, "
                         "newton_rough on the terrain curriculum)")
    ap.add_argument("--log_root", type=Path, default=DEFAULT_LOG_ROOT)
    ap.add_argument("--init_from", type=Path, default=None,
                    help="warm start a fresh run from a checkpoint (.pt) or an exported policy "
                         "(.onnx) with the same observation/action contract (network weights "
                         "only; optimizer and iteration count start fresh)")
    ap.add_argument("--init_std", type=float, default=None,
                    help="action noise std after a warm start (default: the checkpoint's; "
                         f"{warm_start.ONNX_INIT_STD} for an ONNX source)")
    ap.add_argument("--critic_warmup", type=int, default=None,
                    help="iterations with the actor frozen after a warm start (default: "
                         f"{warm_start.ONNX_CRITIC_WARMUP} when the critic starts fresh, i.e. "
                         "from an ONNX source; else 0)")
    ap.add_argument("--decimation_in_physics", action="store_true",
                    help="the physics runs each policy step's substeps in one call (one CUDA "
                         "graph on a GPU) instead of Isaac Lab's loop of one call per substep")
    ap.add_argument("--managers", default="auto", choices=("auto", *MANAGERS),
                    help="Isaac Lab's torch managers, or its warp managers (each manager's step "
                         "one CUDA graph on a GPU; athena_train.tasks.warp_mdp); auto: warp on "
                         "one GPU, torch on the CPU and under --distributed")
    ap.add_argument("--symmetry", action=argparse.BooleanOptionalAction, default=None,
                    help="left-right mirror augmentation of every PPO mini-batch "
                         "(athena_train.symmetry; on in the athena runner configs: "
                         "--no-symmetry turns it off)")
    ap.add_argument("--solver", action="append", default=[], metavar="KEY=VALUE",
                    help="override a field of the physics solver's config (repeatable), e.g. "
                         "--solver njmax=512 when MuJoCo-Warp prints 'nefc overflow'")
    ap.add_argument("--set", action="append", default=[], metavar="env.PATH=VALUE",
                    dest="overrides",
                    help="override a field of the env config (env.…) or of the rsl-rl runner "
                         "config (agent.…), repeatable, e.g. --set "
                         "env.rewards.track_ang_vel_z_exp.weight=2.0 --set "
                         "agent.algorithm.num_mini_batches=2")
    ap.add_argument("--distributed", action="store_true",
                    help="one process per GPU through torchrun (gloo on --device cpu); "
                         "--num_envs is per process")
    ap.add_argument("--nproc_per_node", type=int, default=None,
                    help="processes for --distributed (default: visible GPUs; 2 on the CPU)")
    args = ap.parse_args(argv)
    if args.solver:  # a typo is refused now, not after the simulation has started
        from types import SimpleNamespace

        from athena_train.tasks.physics import MJWarpSolverCfg, override_solver

        try:
            override_solver(SimpleNamespace(solver_cfg=MJWarpSolverCfg()), args.solver)
        except ValueError as exc:
            ap.error(str(exc))
    try:
        cli_overrides.check_syntax(args.overrides)
    except ValueError as exc:
        ap.error(str(exc))
    if args.distributed and "WORLD_SIZE" not in os.environ:  # not yet under torchrun
        raw = sys.argv[1:] if argv is None else argv
        return launch(raw, args.nproc_per_node or default_nproc(args.device))
    try:
        train(args.task, args.num_envs, args.device, args.seed, args.max_iterations,
              args.run_name, args.resume, args.log_root, args.save_interval, args.physics,
              args.init_from, args.init_std, args.critic_warmup, args.decimation_in_physics,
              args.managers, args.symmetry, args.solver, args.overrides)
    except warm_start.WarmStartError as exc:
        print(f"[train] warm start refused: {exc}", file=sys.stderr, flush=True)
        return 2
    except cli_overrides.OverrideError as exc:  # a path that the task's configs do not have
        print(f"[train] override refused: {exc}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
