"""Evaluate a checkpoint in Isaac Lab against the walking gate; print/write JSON.

``python -m athena_train.evaluate CHECKPOINT [CHECKPOINT ...] [--episodes 50] [--out gate.json]
[--protocol walking|stand]`` (``play`` is the same command). A checkpoint is an rsl-rl
``model_<it>.pt`` or an exported ``policy.onnx``.

The gate protocol, metric definitions and pass rule all come from
``athena_description.walking_gate`` (the module the MuJoCo evaluation uses too): episodes of
``EPISODE_S``; one command per episode from ``COMMAND_RANGES``; friction ``FRICTION_RANGE``;
masses ±``MASS_SCALE``; a ``PUSH_SPEED`` kick every ~``PUSH_PERIOD_S``; errors exclude the
first ``SETTLE_S`` after the command is set. One environment per episode, all in parallel,
each run until its first termination.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from athena_description import walking_gate as gate

EPISODE_S = gate.EPISODE_S


def model_contract(checkpoints: list[Path]) -> object:
    """The policy contract the models take (ONNX: embedded; checkpoint: this workspace's).

    ValueError unless all take the same observation: one env serves them all.
    """
    from athena_description.model_metadata import read_onnx_metadata
    from athena_description.policy_contract import default_policy_contract

    contracts = [read_onnx_metadata(c) if Path(c).suffix == ".onnx" else
                 default_policy_contract() for c in checkpoints]
    if any(c.observation != contracts[0].observation for c in contracts):
        raise ValueError("these models take different observations (contract version or "
                         "history): evaluate them in separate calls")
    return contracts[0]


def gate_env_cfg(cfg: object, episodes: int, protocol: gate.Protocol = gate.WALKING,
                 fall_links: list[str] | None = None, contract: object | None = None) -> None:
    """Turn a training env config into a gate's evaluation conditions (``protocol``'s).

    ``fall_links``: the links whose contact ends an episode as a fall (default: the
    training's ``base_contact`` links: with the knees on the flat task, the robot contract's
    ``fall_contact_links`` on the rough one); any of the robot contract's
    ``termination_contact_links``, e.g. ``["pelvis", "torso_link"]`` to let a knee touch a
    stair's edge, as the MuJoCo evaluation (base height) does, or all four on the rough task
    to count knee contacts as rough1-rough4's training did.
    ``contract``: the evaluated model's policy contract (:func:`model_contract`): the actor's
    observation is built as it says (e.g. a version 1 model: no history).
    """
    from athena_train.tasks.velocity_env_cfg import contract_observation_group

    if contract is not None:
        cfg.observations.policy = contract_observation_group(noise=False, contract=contract)
    p = protocol
    cfg.scene.num_envs = episodes
    cfg.episode_length_s = EPISODE_S
    dr = cfg.randomization
    dr.masses, dr.mass_range = True, (1.0 - p.mass_scale, 1.0 + p.mass_scale)
    dr.friction, dr.friction_range = True, p.friction_range
    dr.base_com = False
    dr.motor_strength = p.motor_strength != (1.0, 1.0)
    dr.motor_strength_range = p.motor_strength
    dr.payload = p.payload_kg != (0.0, 0.0)
    dr.payload_kg = p.payload_kg
    dr.pushes, dr.push_velocity, dr.push_law = p.push_speed > 0.0, p.push_speed, "speed"
    dr.push_interval_s = (p.push_period_s - 0.5, p.push_period_s + 0.5)
    dr.obs_noise = False
    dr.latency = False
    cfg.apply_randomization()
    cmd = cfg.commands.base_velocity
    r, g = cmd.ranges, p.command_ranges
    r.lin_vel_x, r.lin_vel_y, r.ang_vel_z = g["lin_vel_x"], g["lin_vel_y"], g["ang_vel_z"]
    cmd.rel_standing_envs = 0.0
    cmd.resampling_time_range = (EPISODE_S + 1.0, EPISODE_S + 1.0)  # one command per episode
    split_contact_terminations(cfg, fall_links)


def split_contact_terminations(cfg: object, links: list[str] | None = None) -> None:
    """One ``contact_<link>`` termination per link of ``base_contact``, or of ``links``.

    ``links``: these instead (each one of the robot contract's ``termination_contact_links``,
    which the contact sensor covers); default: ``base_contact``'s.

    The same episodes end at the same step (any link over the threshold), but the
    termination manager then says which link it was: a knee on a stair's edge and a torso on
    the ground are both "falls" to the training's termination, not to the eye.
    """
    from athena_description.robot_contract import load_robot_contract
    from isaaclab.managers import SceneEntityCfg
    from isaaclab.managers import TerminationTermCfg as DoneTerm

    base = getattr(cfg.terminations, "base_contact", None)
    if base is None:
        return
    sensor = base.params["sensor_cfg"]
    have = [sensor.body_names] if isinstance(sensor.body_names, str) else list(sensor.body_names)
    allowed = load_robot_contract().termination_contact_links
    unknown = sorted(set(links or []) - set(allowed))
    if unknown:
        raise ValueError(f"not termination contact links: {unknown} (the robot contract's: "
                         f"{list(allowed)})")
    for link in have if links is None else links:
        params = {**base.params, "sensor_cfg": SceneEntityCfg(sensor.name, body_names=[link])}
        setattr(cfg.terminations, f"contact_{link}", DoneTerm(func=base.func, params=params))
    cfg.terminations.base_contact = None


def contact_fall_links(env: object) -> list[str]:
    """The links whose contact ends an episode as a fall in ``env`` (its ``contact_<link>``)."""
    return [n.removeprefix("contact_") for n in env.unwrapped.termination_manager.active_terms
            if n.startswith("contact_")]


def mark_first_cause(tm: object, names: list[str], cause: object, mask: object) -> None:
    """``cause[i]`` = index in ``names`` of the termination term that ended env ``i``.

    Only where ``mask`` and no cause yet; the termination manager keeps a step's values after
    the envs it ended were reset, so this runs after ``env.step``.
    """
    for k, name in enumerate(names):
        cause[mask & tm.get_term(name).bool() & (cause < 0)] = k


def falls_by_cause(per_episode: dict) -> dict[str, int]:
    """Falls counted by the termination term that ended them (``ended_by`` of :func:`rollout`)."""
    fell = np.asarray(per_episode["fell"], dtype=bool)
    causes = np.asarray(per_episode["ended_by"])[fell]
    return {str(c): int((causes == c).sum()) for c in sorted(set(causes.tolist()))}


def rollout(env: object, checkpoint: Path,
            bounds: tuple[object, float] | None = None) -> dict:
    """Run the deterministic policy from a fresh reset of every env; per-episode arrays.

    ``bounds``: (centres, half side in m), centres a (num_envs, 2) tensor in the world frame:
    an episode whose base leaves the square around its centre ends there, as one that ran
    its time does (``left_area``): the terrain evaluation judges each family on its own tile,
    not on the tiles a robot walks on to.
    """
    import torch

    from athena_train.export import load_actor

    uenv = env.unwrapped
    device = uenv.device
    actor = load_actor(checkpoint).to(device)
    robot = uenv.scene["robot"]
    n = uenv.num_envs
    steps = int(round(EPISODE_S / uenv.step_dt))
    obs_td, _ = env.reset()
    obs = obs_td["policy"]
    alive = torch.ones(n, dtype=torch.bool, device=device)
    fell = torch.zeros(n, dtype=torch.bool, device=device)
    lin_err = torch.zeros(n, device=device)
    yaw_err = torch.zeros(n, device=device)
    count = torch.zeros(n, device=device)
    lin_end = torch.zeros(n, device=device)  # sampled only at the end of each policy step,
    yaw_end = torch.zeros(n, device=device)  # as Isaac Lab's rewards see it (for comparison)
    alive_steps = torch.zeros(n, device=device)
    settle_steps = int(round(gate.SETTLE_S / uenv.step_dt))
    tm = uenv.termination_manager
    term_names = list(tm.active_terms)
    cause = torch.full((n,), -1, dtype=torch.long, device=device)
    start_xy = robot.data.root_pos_w.torch[:, :2].clone()
    last_xy = start_xy.clone()  # the base where each env was last alive
    left = torch.zeros(n, dtype=torch.bool, device=device)
    for step in range(steps):
        with torch.no_grad():
            act = actor(obs)
        obs_td, _, dones, extras = env.step(act)
        obs = obs_td["policy"]
        cmd = uenv.command_manager.get_command("base_velocity")
        # the base velocity at every physics substep (walking_gate: every phase counts)
        sub = uenv.action_manager.get_term("joint_pos").substep_velocity()
        v_end = robot.data.root_lin_vel_b.torch[:, :2]
        w_end = robot.data.root_ang_vel_b.torch[:, 2]
        live = alive.float()
        alive_steps += live
        if step >= settle_steps:  # walking_gate: skip SETTLE_S after the command is set
            lin_err += live * (sub[..., :2] - cmd[:, :2]).norm(dim=-1).mean(dim=0)
            yaw_err += live * (sub[..., 2] - cmd[:, 2]).abs().mean(dim=0)
            lin_end += live * (v_end - cmd[:, :2]).norm(dim=-1)
            yaw_end += live * (w_end - cmd[:, 2]).abs()
            count += live
        timeouts = extras.get("time_outs", torch.zeros_like(dones)).bool()
        ended = dones.bool() & alive
        fell |= ended & ~timeouts
        mark_first_cause(tm, term_names, cause, ended)
        alive &= ~dones.bool()
        if bounds is not None:  # (an env that ended this step has been reset: not alive here)
            out = ((robot.data.root_pos_w.torch[:, :2] - bounds[0]).abs() > bounds[1]).any(-1)
            left |= out & alive
            alive &= ~out
        # an env that ended this step has been reset already: its last pose is the previous one
        last_xy = torch.where(alive[:, None], robot.data.root_pos_w.torch[:, :2], last_xy)
        if not alive.any():
            break
    def mean(total: torch.Tensor) -> np.ndarray:  # NaN: no sample (ended within SETTLE_S)
        return torch.where(count > 0, total / count.clamp(min=1), torch.nan).cpu().numpy()

    return {"fell": fell.cpu().numpy(), "lin_vel_error": mean(lin_err),
            "yaw_rate_error": mean(yaw_err),
            "lin_vel_error_end_of_step": mean(lin_end),
            "yaw_rate_error_end_of_step": mean(yaw_end),
            "duration_s": (alive_steps * uenv.step_dt).cpu().numpy(),
            "displacement": (last_xy - start_xy).norm(dim=-1).cpu().numpy(),
            "left_area": left.cpu().numpy(),
            "ended_by": np.array([term_names[c] if c >= 0 else "" for c in cause.tolist()])}


def summarize(per_episode: dict, protocol: gate.Protocol = gate.WALKING) -> dict:
    """Gate metrics and verdict (athena_description.walking_gate, ``protocol``'s thresholds).

    Plus the errors sampled only at the end of each policy step, for comparison.
    """
    out = gate.summarize_episodes(per_episode, protocol)
    for k in ("lin_vel_error_end_of_step", "yaw_rate_error_end_of_step"):
        out[f"mean_{k}"] = float(np.nanmean(per_episode[k]))
    out["falls_by_cause"] = falls_by_cause(per_episode)
    return out


def evaluate(checkpoints: list[Path], task: str = "Athena-Velocity-Flat-v0",
             episodes: int = gate.EPISODES, device: str = "cuda:0", seed: int = 7,
             protocol: str = "walking", fall_links: list[str] | None = None) -> list[dict]:
    """Roll out and summarize each checkpoint in one env; JSON-ready result dicts.

    ``protocol``: a flat-ground protocol of ``walking_gate.PROTOCOLS`` (``walking``, the flat
    gate; ``stand``, a zero command); the terrain families' is ``terrain_eval policy``'s.
    """
    from athena_train.train import make_env_and_cfg

    proto = gate.PROTOCOLS[protocol]
    contract = model_contract(checkpoints)
    env, _ = make_env_and_cfg(task, episodes, device, seed,
                              edit_env_cfg=lambda c: gate_env_cfg(c, episodes, proto,
                                                                  fall_links, contract))
    results = []
    for ckpt in checkpoints:
        t0 = time.time()
        result = summarize(rollout(env, ckpt), proto)
        result.update(checkpoint=str(ckpt), task=task, simulator="isaaclab-newton-mjwarp",
                      device=device, fall_links=contact_fall_links(env),
                      wall_s=round(time.time() - t0, 1))
        print(json.dumps(result), flush=True)
        results.append(result)
    env.close()
    return results


def add_fall_links_argument(ap: argparse.ArgumentParser) -> None:
    """``--fall_links LINK ...`` (gate_env_cfg's ``fall_links``), for evaluate and terrain_eval."""
    ap.add_argument("--fall_links", nargs="+", default=None, metavar="LINK",
                    help="links whose contact ends an episode as a fall, any of the robot "
                         "contract's termination_contact_links (default: the task's "
                         "base_contact links: knees included on the flat task, pelvis and "
                         "torso on the rough one)")


def main(argv: list[str] | None = None) -> int:
    """Command line (see ``--help``); exit 0 when the gate passes, 3 when it does not."""
    ap = argparse.ArgumentParser(description="Evaluate a checkpoint against the walking gate.")
    ap.add_argument("checkpoints", type=Path, nargs="+")
    ap.add_argument("--task", default="Athena-Velocity-Flat-v0")
    ap.add_argument("--episodes", type=int, default=gate.EPISODES)
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--protocol", default="walking", choices=("walking", "stand"),
                    help="walking: the flat gate; stand: a zero command, drift <= "
                         f"{gate.STAND_MAX_DISPLACEMENT_M} m (athena_description.walking_gate)")
    add_fall_links_argument(ap)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    results = evaluate(args.checkpoints, args.task, args.episodes, args.device, args.seed,
                       args.protocol, args.fall_links)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0 if results[-1].get("passed") else 3


if __name__ == "__main__":
    sys.exit(main())
