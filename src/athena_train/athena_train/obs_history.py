"""The contract's observation history, stacked outside the env (the warp-managers path).

The policy contract lets a term carry the frames of its last ``history`` policy steps, oldest
first (``athena_description.policy_contract.ObservationTerm``). On the torch managers Isaac
Lab keeps them (per-term ``history_length``); Isaac Lab's warp managers keep no history, so on
that path (``train --managers warp``, issue 16) the env returns the current frame of every term
and :class:`HistoryVecEnv` stacks the frames as Isaac Lab does: after a reset the first frame
fills them all, then each step shifts one in. Three torch operations per step, whatever the
number of terms.
"""

from __future__ import annotations

import torch
from rsl_rl.env import VecEnv
from tensordict import TensorDict


class ContractHistory:
    """The last frames of the contract's terms for every env, laid out as the contract says.

    A frame is the contract's terms' current values, concatenated in the contract's order
    (what the env computes without history). :meth:`value` is the contract's observation:
    per term, its ``history`` newest frames, oldest first.
    """

    def __init__(self, contract: object, num_envs: int, device: str | torch.device) -> None:
        """Buffers for ``num_envs`` envs; the gather index from the contract's terms."""
        terms = contract.observation
        self.frames = max(t.history for t in terms)
        self.frame_size = sum(t.size for t in terms)
        index, offset = [], 0
        for t in terms:
            for f in range(self.frames - t.history, self.frames):
                start = f * self.frame_size + offset
                index.extend(range(start, start + t.size))
            offset += t.size
        self._index = torch.tensor(index, dtype=torch.long, device=device)
        self._buf = torch.zeros(num_envs, self.frames, self.frame_size, device=device)
        if len(index) != contract.obs_dim:
            raise ValueError(f"history layout has {len(index)} values, the contract "
                             f"{contract.obs_dim}")

    def start(self, frame: torch.Tensor) -> None:
        """Every env's history = ``frame`` repeated (the first observation of a run)."""
        self._check(frame)
        self._buf[:] = frame.unsqueeze(1)

    def push(self, frame: torch.Tensor, fresh: torch.Tensor) -> None:
        """Shift ``frame`` in; envs with ``fresh`` set (just reset) get it in every slot."""
        self._check(frame)
        shifted = torch.cat((self._buf[:, 1:], frame.unsqueeze(1)), dim=1)
        self._buf = torch.where(fresh.view(-1, 1, 1), frame.unsqueeze(1), shifted)

    def value(self) -> torch.Tensor:
        """(num_envs, contract.obs_dim): the contract's observation."""
        return self._buf.reshape(self._buf.shape[0], -1).index_select(1, self._index)

    def _check(self, frame: torch.Tensor) -> None:
        if frame.shape[1:] != (self.frame_size,):
            raise ValueError(f"a frame has {self.frame_size} values, got shape "
                             f"{tuple(frame.shape)}")


class HistoryVecEnv(VecEnv):
    """rsl-rl's view of an env whose actor group (``policy``) is one frame: the contract's.

    Wraps Isaac Lab's :class:`RslRlVecEnvWrapper`; everything but the ``policy`` group passes
    through. ``dones`` from a step mark the envs whose observation is already the first of a
    new episode (Isaac Lab resets inside the step).
    """

    def __init__(self, env: VecEnv, contract: object) -> None:
        """Start every env's history from the env's current observation."""
        self.env = env
        self.num_envs, self.num_actions = env.num_envs, env.num_actions
        self.max_episode_length, self.device, self.cfg = (env.max_episode_length, env.device,
                                                          env.cfg)
        self.history = ContractHistory(contract, env.num_envs, env.device)
        self.history.start(env.get_observations()["policy"])

    @property
    def episode_length_buf(self) -> torch.Tensor:
        """The env's episode clocks (rsl-rl randomizes them at the start of a run)."""
        return self.env.episode_length_buf

    @episode_length_buf.setter
    def episode_length_buf(self, value: torch.Tensor) -> None:
        self.env.episode_length_buf = value

    @property
    def unwrapped(self) -> object:
        """The Isaac Lab env."""
        return self.env.unwrapped

    def _with_history(self, obs: TensorDict) -> TensorDict:
        obs = obs.clone(recurse=False)
        obs["policy"] = self.history.value()
        return obs

    def get_observations(self) -> TensorDict:
        """The current observation, the actor's with its history."""
        return self._with_history(self.env.get_observations())

    def reset(self) -> tuple[TensorDict, dict]:
        """Reset every env; histories start again."""
        obs, extras = self.env.reset()
        self.history.start(obs["policy"])
        return self._with_history(obs), extras

    def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        """One env step; the new frame shifted into the history."""
        obs, rew, dones, extras = self.env.step(actions)
        self.history.push(obs["policy"], dones.bool())
        return self._with_history(obs), rew, dones, extras

    def close(self) -> None:
        """Close the env."""
        self.env.close()

    def __getattr__(self, name: str) -> object:
        """Anything else: the wrapped env's."""
        return getattr(self.env, name)
