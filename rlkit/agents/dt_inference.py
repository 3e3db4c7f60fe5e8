"""Act with a decision-transformer policy in a batch of environments: one context window per environment.

A decision transformer predicts a_t from the last few (return-to-go, state, action) steps of *its own* episode, so
an agent stepping ``num_envs`` environments keeps one rolling window per environment: the normalised states, the
actions it took, the return-to-go it still aims for (``rtg_0 = target_return * reward_scale``, then
``rtg_{t+1} = rtg_t - r_t * reward_scale``) and the step counter. Windows shorter than ``context_length`` (the first
steps of an episode) are left-padded with ``mask = False``, exactly like the training windows of the trajectory
replay, and each environment's window is reset on its own when its episode ends.

Call order per vector-env step: ``actions = agent.act(obs)``, ``obs, r, term, trunc, info = envs.step(actions)``,
``agent.observe(r, term | trunc, terminated=term)``. Gymnasium's autoreset modes:

* next-step (gymnasium 1.x's default): the ``step`` after an episode ends only resets that sub-env (its action is
  ignored; it returns reward 0 and the first observation). The agent knows this step is coming: ``act`` returns a
  placeholder action for that env without touching its context, ``observe`` ignores its reward, and the next
  ``act`` starts the fresh context at the reset observation. The observation ``act`` receives right before that
  placeholder step is the episode's final observation, which the recorder keeps as the last transition's s'.
* same-step: the ended env is reset inside the same ``step``; pass ``info["final_obs"]`` as
  ``final_observations`` to keep the last s' (otherwise the last transition gets ``has_next = False``).
* disabled: reset ended sub-envs yourself; ``observe`` already cleared their contexts.

``FeedbackVectorEnv(envs, agent)`` makes those ``observe``/``reset`` calls itself, so code that only calls
``policy(obs)`` on a vector env (``rlkit.trainers.evaluate``, a collection loop) drives the agent correctly.

With ``record=True`` the agent also keeps each finished episode's transitions (real steps only, never the
placeholder reset steps) and ``pop_episodes()`` returns them as one TensorDict in rlkit's transition layout, ready
for ``TrajectoryReplay.add_trajectories``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

import numpy as np
import torch
from gymnasium.vector import VectorEnv, VectorWrapper
from tensordict import TensorDict

from rlkit.data.layout import transitions_from_arrays

AutoresetModeName = Literal["next_step", "same_step", "disabled"]
AUTORESET_MODES: tuple[str, ...] = ("next_step", "same_step", "disabled")


class WindowPolicy(Protocol):
    """What the agent needs from a policy: rlkit's ``DeterministicDTPolicy`` / ``StochasticDTPolicy`` provide it."""

    act_dim: int

    def predict_last(
        self,
        states: torch.Tensor,
        actions: torch.Tensor,
        returns_to_go: torch.Tensor,
        timesteps: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor: ...

    def __call__(self, *args: Any) -> Any: ...


def _autoreset_name(mode: Any) -> str:
    """Accept rlkit's names, gymnasium's ``AutoresetMode`` members and their values ("NextStep", ...)."""
    text = str(getattr(mode, "value", mode))
    name = {"nextstep": "next_step", "samestep": "same_step"}.get(text.lower().replace("_", ""), text.lower())
    if name not in AUTORESET_MODES:
        raise ValueError(f"autoreset_mode {mode!r}; expected one of {AUTORESET_MODES} (or a gymnasium AutoresetMode)")
    return name


def _as_vector(value: np.ndarray | torch.Tensor | Sequence[float], device: torch.device) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().to(device=device, dtype=torch.float32).reshape(-1)
    return torch.as_tensor(np.asarray(value, dtype=np.float32), device=device).reshape(-1)


def _bound(value: float | Sequence[float] | np.ndarray, act_dim: int, name: str) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(value, dtype=np.float32)).reshape(-1)
    if tensor.numel() == 1:
        tensor = tensor.expand(act_dim).clone()
    if tensor.numel() != act_dim:
        raise ValueError(f"{name} has {tensor.numel()} values; expected 1 or act_dim={act_dim}")
    return tensor


class DTInference:
    """Per-environment context windows around a DT policy: ``reset``, ``act``, ``observe`` (see the module docs).

    policy: has ``act_dim`` and ``predict_last(states, actions, returns_to_go, timesteps, mask) -> (B, A)``; with
        ``sample=True`` also ``policy(...)`` returning a distribution of batch (B, K) whose ``rsample()`` is (B, K, A).
    context_length: at most this many most recent steps are shown to the policy (the original's eval_context_length).
    target_return: the return the agent asks for, in the environment's reward units (one value, or one per env);
        the policy sees it times ``reward_scale``, as in training.
    state_mean, state_std: the offline data's statistics; observations are normalised as ``(s - mean) / std``.
    exploration_noise: std of Gaussian noise added to the policy's action (0 = none), then clipped to the bounds.
    sample: draw the action from a stochastic policy's distribution instead of taking its mean (ODT's exploration).
    max_timestep: timesteps shown to the policy are capped at this value (a timestep embedding's last index).
    autoreset_mode: how the vector env resets ended sub-envs ("next_step", "same_step", "disabled").
    record: keep finished episodes for ``pop_episodes``.
    generator: torch generator for the exploration noise (reproducible rollouts).
    """

    def __init__(
        self,
        policy: WindowPolicy,
        *,
        num_envs: int,
        context_length: int,
        target_return: float | Sequence[float] | np.ndarray,
        reward_scale: float,
        state_mean: np.ndarray | torch.Tensor,
        state_std: np.ndarray | torch.Tensor,
        exploration_noise: float = 0.0,
        action_low: float | Sequence[float] | np.ndarray = -1.0,
        action_high: float | Sequence[float] | np.ndarray = 1.0,
        max_timestep: int | None = None,
        sample: bool = False,
        autoreset_mode: AutoresetModeName | Any = "next_step",
        record: bool = False,
        generator: torch.Generator | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if context_length < 1:
            raise ValueError(f"context_length must be >= 1 (the policy needs at least the current step), "
                             f"got {context_length}")
        if not exploration_noise >= 0:
            raise ValueError(f"exploration_noise must be >= 0, got {exploration_noise}")
        if max_timestep is not None and max_timestep < 0:
            raise ValueError(f"max_timestep must be >= 0 or None, got {max_timestep}")
        if device is None:
            params = list(policy.parameters()) if isinstance(policy, torch.nn.Module) else []
            device = params[0].device if params else "cpu"
        self.policy = policy
        self.device = torch.device(device)
        self.num_envs, self.context_length = int(num_envs), int(context_length)
        self.act_dim = int(policy.act_dim)
        self.reward_scale = float(reward_scale)
        self.exploration_noise = float(exploration_noise)
        self.max_timestep, self.sample, self.record = max_timestep, bool(sample), bool(record)
        self.autoreset_mode = _autoreset_name(autoreset_mode)
        self.generator = generator

        self.state_mean = _as_vector(state_mean, self.device)
        self.state_std = _as_vector(state_std, self.device)
        if self.state_mean.shape != self.state_std.shape:
            raise ValueError(f"state_mean has shape {tuple(self.state_mean.shape)} but state_std has "
                             f"{tuple(self.state_std.shape)}; expected the same (state_dim,)")
        if not bool((self.state_std > 0).all()) or not bool(torch.isfinite(self.state_mean).all()):
            raise ValueError("state_std must be > 0 and state_mean finite in every dimension")
        self.state_dim = self.state_mean.numel()
        self.action_low = _bound(action_low, self.act_dim, "action_low").to(self.device)
        self.action_high = _bound(action_high, self.act_dim, "action_high").to(self.device)
        if not bool((self.action_low <= self.action_high).all()):
            raise ValueError("action_low must be <= action_high in every dimension")

        target = torch.as_tensor(np.asarray(target_return, dtype=np.float64)).reshape(-1) * self.reward_scale
        if target.numel() == 1:
            target = target.expand(self.num_envs)
        if target.numel() != self.num_envs:
            raise ValueError(f"target_return has {target.numel()} values; expected 1 or num_envs={self.num_envs}")
        if not bool(torch.isfinite(target).all()) or not bool(torch.isfinite(target.to(torch.float32)).all()):
            raise ValueError(
                f"target_return * reward_scale = {target.tolist()} is not finite in float32 "
                f"(target_return={target_return!r}, reward_scale={reward_scale!r})"
            )
        self.initial_rtg = target.to(torch.float32).to(self.device)

        n, k, dev = self.num_envs, self.context_length, self.device
        self._states = torch.zeros(n, k, self.state_dim, device=dev)
        self._actions = torch.zeros(n, k, self.act_dim, device=dev)
        self._rtg = torch.zeros(n, k, 1, device=dev)
        self._timesteps = torch.zeros(n, k, dtype=torch.int64, device=dev)
        self._mask = torch.zeros(n, k, dtype=torch.bool, device=dev)
        self.return_to_go = self.initial_rtg.clone()  # (n,) the RTG of each env's next step
        self.timestep = torch.zeros(n, dtype=torch.int64, device=dev)  # (n,) the step index of each env's next step
        self._pending_reset = np.zeros(n, dtype=bool)  # next-step autoreset: this env's next step() is its reset
        self._acted = False
        self._episodes: list[list[dict[str, Any]]] = [[] for _ in range(n)]  # per env: the open episode's steps
        self._awaiting_final_obs = np.zeros(n, dtype=bool)
        self._finished: list[dict[str, np.ndarray]] = []

    # -- state --------------------------------------------------------------------------------------------------
    def reset(self, env_indices: Sequence[int] | np.ndarray | None = None) -> None:
        """Start fresh contexts (RTG back to the target, timestep 0) for ``env_indices`` (all envs when None).

        An episode being recorded in a reset env is dropped: it ended without ``observe`` saying so.
        """
        index = self._env_index(env_indices)
        self._clear(index)
        self._pending_reset[index] = False
        self._awaiting_final_obs[index] = False
        for i in index.tolist():
            self._episodes[i] = []
        if env_indices is None:
            self._acted = False

    def _env_index(self, env_indices: Sequence[int] | np.ndarray | None) -> np.ndarray:
        if env_indices is None:
            return np.arange(self.num_envs)
        index = np.asarray(env_indices)
        if index.dtype == bool:
            if index.shape != (self.num_envs,):
                raise ValueError(f"a boolean env mask must have shape ({self.num_envs},), got {index.shape}")
            return np.flatnonzero(index)
        index = index.reshape(-1).astype(np.int64)
        if index.size and (index.min() < 0 or index.max() >= self.num_envs):
            raise IndexError(f"env indices {index.tolist()} out of range for num_envs={self.num_envs}")
        return index

    def _clear(self, index: np.ndarray) -> None:
        if index.size == 0:
            return
        rows = torch.as_tensor(index, device=self.device)
        for buffer in (self._states, self._actions, self._rtg, self._timesteps, self._mask):
            buffer[rows] = 0
        self.return_to_go[rows] = self.initial_rtg[rows]
        self.timestep[rows] = 0

    def context(self) -> TensorDict:
        """A copy of the current windows (batch ``(num_envs, context_length)``), as the policy sees them."""
        return TensorDict(
            {"observation": self._states, "action": self._actions, "return_to_go": self._rtg,
             "timestep": self._timesteps, "mask": self._mask},
            batch_size=[self.num_envs, self.context_length],
        ).clone()

    # -- acting -------------------------------------------------------------------------------------------------
    def _observations(self, observations: Any) -> np.ndarray:
        if isinstance(observations, torch.Tensor):
            observations = observations.detach().cpu().numpy()
        obs = np.array(observations, dtype=np.float32)  # a copy: recorded rows must not change with the env's buffer
        if obs.shape != (self.num_envs, self.state_dim):
            raise ValueError(f"observations have shape {obs.shape}; expected ({self.num_envs}, "
                             f"{self.state_dim}) = (num_envs, state_dim)")
        return obs

    @torch.no_grad()
    def act(self, observations: np.ndarray | torch.Tensor) -> np.ndarray:
        """Append each env's observation to its context and return the actions, a float32 array (num_envs, A).

        Envs about to be reset by a next-step autoreset get the midpoint of the action bounds (ignored by the env)
        and keep their contexts unchanged.
        """
        if self._acted:
            raise RuntimeError("act() was called twice without observe() in between; call observe(rewards, dones) "
                               "after each env step")
        obs_np = self._observations(observations)
        if self.record and self._awaiting_final_obs.any():
            for i in np.flatnonzero(self._awaiting_final_obs).tolist():
                self._close_episode(i, obs_np[i])
            self._awaiting_final_obs[:] = False
        active_np = ~self._pending_reset
        bad = np.flatnonzero(active_np & ~np.isfinite(obs_np).all(axis=1))
        if bad.size:
            raise ValueError(f"observations of envs {bad.tolist()} hold NaN/inf; the policy cannot act on them")
        active = torch.as_tensor(active_np, device=self.device)
        obs = torch.as_tensor(obs_np, device=self.device)

        step_rows = {
            "_states": (obs - self.state_mean) / self.state_std,
            "_actions": torch.zeros(self.num_envs, self.act_dim, device=self.device),
            "_rtg": self.return_to_go.unsqueeze(-1),
            "_timesteps": self.timestep if self.max_timestep is None else self.timestep.clamp(max=self.max_timestep),
            "_mask": torch.ones(self.num_envs, dtype=torch.bool, device=self.device),
        }
        for name, row in step_rows.items():  # roll each active env's window one step left, new step at the end
            buffer = getattr(self, name)
            rolled = torch.cat([buffer[:, 1:], row.unsqueeze(1).to(buffer.dtype)], dim=1)
            shape = (self.num_envs,) + (1,) * (buffer.dim() - 1)
            buffer.copy_(torch.where(active.reshape(shape), rolled, buffer))

        actions = ((self.action_low + self.action_high) / 2).expand(self.num_envs, -1).clone()
        if active_np.any():
            actions[active] = self._policy_actions(active)
        self._actions[:, -1] = torch.where(active.unsqueeze(-1), actions, self._actions[:, -1])
        self._acted = True
        actions_np = actions.cpu().numpy()
        if self.record:
            for i in np.flatnonzero(active_np).tolist():
                self._episodes[i].append({"obs": obs_np[i], "action": actions_np[i]})
        return actions_np

    def _policy_actions(self, active: torch.Tensor) -> torch.Tensor:
        window = (self._states[active], self._actions[active], self._rtg[active], self._timesteps[active],
                  self._mask[active])
        was_training = getattr(self.policy, "training", False)
        if isinstance(self.policy, torch.nn.Module):
            self.policy.eval()  # rollouts run without dropout, as in the original
        try:
            action = self.policy(*window).rsample()[:, -1] if self.sample else self.policy.predict_last(*window)
        finally:
            if isinstance(self.policy, torch.nn.Module):
                self.policy.train(was_training)
        if action.shape != (window[0].shape[0], self.act_dim):
            raise ValueError(f"the policy returned actions of shape {tuple(action.shape)}; expected "
                             f"({window[0].shape[0]}, {self.act_dim})")
        action = action.to(torch.float32)
        if self.exploration_noise > 0:
            noise = torch.randn(action.shape, generator=self.generator, device=self.device)
            action = action + self.exploration_noise * noise
        return torch.minimum(torch.maximum(action, self.action_low), self.action_high)

    def observe(
        self,
        rewards: np.ndarray | Sequence[float],
        dones: np.ndarray | Sequence[bool],
        *,
        terminated: np.ndarray | Sequence[bool] | None = None,
        final_observations: np.ndarray | None = None,
    ) -> None:
        """Take the rewards and episode ends of the step just taken: RTG -= r * reward_scale, timestep += 1, and a
        fresh context for every env whose episode ended.

        dones: terminated | truncated. terminated: which of those ends are true terminations, for the recorded
        transitions (default: every end counts as terminal, the original's choice for online trajectories).
        final_observations: the ended episodes' last observations (row i is read only where env i ended): with
            next-step autoreset the observations ``step`` just returned, with same-step ``info["final_obs"]``.
            Used only for recording; when absent, next-step mode takes them from the next ``act`` and the other
            modes record the last transition with ``has_next = False``.
        """
        if not self._acted:
            raise RuntimeError("observe() was called without act() before it; call act(observations) first")
        rewards_np = np.asarray(rewards, dtype=np.float64).reshape(-1)
        dones_np = np.asarray(dones).reshape(-1).astype(bool)
        term_np = dones_np if terminated is None else np.asarray(terminated).reshape(-1).astype(bool)
        for name, value in (("rewards", rewards_np), ("dones", dones_np), ("terminated", term_np)):
            if value.shape != (self.num_envs,):
                raise ValueError(f"{name} has {value.size} values; expected num_envs={self.num_envs}")
        active = ~self._pending_reset
        if not np.isfinite(rewards_np[active]).all():
            raise ValueError(f"rewards {rewards_np.tolist()} hold NaN/inf; the return-to-go would become non-finite")
        self._acted = False

        active_t = torch.as_tensor(active, device=self.device)
        scaled = torch.as_tensor(rewards_np * self.reward_scale, dtype=torch.float32, device=self.device)
        self.return_to_go = torch.where(active_t, self.return_to_go - scaled, self.return_to_go)
        self.timestep = torch.where(active_t, self.timestep + 1, self.timestep)
        ended = active & dones_np
        if self.record:
            for i in np.flatnonzero(active).tolist():
                self._episodes[i][-1].update(reward=rewards_np[i], terminated=bool(term_np[i] and dones_np[i]),
                                             done=bool(dones_np[i]))
            for i in np.flatnonzero(ended).tolist():
                if final_observations is None and self.autoreset_mode == "next_step":
                    self._awaiting_final_obs[i] = True  # the next act() receives the episode's final observation
                else:
                    final = None if final_observations is None else final_observations[i]
                    self._close_episode(i, None if final is None else np.asarray(final, dtype=np.float32))
        self._clear(np.flatnonzero(ended))
        self._pending_reset = ended if self.autoreset_mode == "next_step" else np.zeros(self.num_envs, dtype=bool)

    # -- recording ----------------------------------------------------------------------------------------------
    def _close_episode(self, env: int, final_observation: np.ndarray | None) -> None:
        steps, self._episodes[env] = self._episodes[env], []
        if not steps:
            return
        obs = np.stack([step["obs"] for step in steps]).astype(np.float32)
        last = obs[-1] if final_observation is None else np.asarray(final_observation, dtype=np.float32)
        terminated = np.array([step["terminated"] for step in steps], dtype=bool)
        self._finished.append({
            "observations": obs,
            "actions": np.stack([step["action"] for step in steps]).astype(np.float32),
            "rewards": np.array([step["reward"] for step in steps], dtype=np.float32),
            "terminals": terminated,
            "timeouts": np.array([step["done"] for step in steps], dtype=bool) & ~terminated,
            "next_observations": np.concatenate([obs[1:], last[None]]),
            "last_has_next": np.array(final_observation is not None),
        })

    @property
    def num_finished_episodes(self) -> int:
        """Episodes finished (and recorded) since the last ``pop_episodes``."""
        return len(self._finished)

    @property
    def num_finished_steps(self) -> int:
        """Steps of the episodes finished (and recorded) since the last ``pop_episodes``."""
        return sum(len(episode["rewards"]) for episode in self._finished)

    def pop_episodes(self) -> TensorDict | None:
        """The finished episodes, concatenated in the order they ended, in rlkit's transition layout (None if none).

        The last transition of an episode whose final observation was never seen has ``has_next = False``.
        """
        if not self.record:
            raise RuntimeError("this DTInference was built with record=False; pass record=True to keep episodes")
        if not self._finished:
            return None
        finished, self._finished = self._finished, []
        arrays = {key: np.concatenate([ep[key] for ep in finished]) for key in finished[0] if key != "last_has_next"}
        td = transitions_from_arrays(**arrays, source="DTInference rollouts")
        ends = np.cumsum([len(ep["rewards"]) for ep in finished]) - 1
        has_next = td.get("has_next")
        has_next[torch.as_tensor(ends)] = torch.as_tensor(np.array([bool(ep["last_has_next"]) for ep in finished]))
        return td


class FeedbackVectorEnv(VectorWrapper):
    """A gymnasium vector env that reports every step's rewards and episode ends to a ``DTInference``.

    ``reset`` resets the agent's contexts (only the masked sub-envs for ``options={"reset_mask": ...}``) and ``step``
    calls ``agent.observe`` with the rewards, ends and final observations, so ``evaluate(agent.act, FeedbackVectorEnv(
    envs, agent), ...)`` or a plain ``obs = env.step(agent.act(obs))[0]`` loop keep every context right. Rewards
    reach the agent as the env returns them: wrap the sub-envs in the reward transforms the policy was trained with.
    """

    def __init__(self, env: VectorEnv, agent: DTInference) -> None:
        super().__init__(env)
        mode = _autoreset_name(env.metadata.get("autoreset_mode", "next_step"))
        if mode != agent.autoreset_mode:
            raise ValueError(f"the vector env autoresets in {mode!r} mode but the agent was built with "
                             f"autoreset_mode={agent.autoreset_mode!r}")
        if env.num_envs != agent.num_envs:
            raise ValueError(f"the vector env has {env.num_envs} sub-envs but the agent keeps {agent.num_envs} "
                             "contexts")
        self.agent = agent

    def reset(self, *, seed: Any = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        mask = None if options is None else options.get("reset_mask")
        self.agent.reset(None if mask is None else np.asarray(mask, dtype=bool))
        return obs, info

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(actions)
        done = np.asarray(terminated) | np.asarray(truncated)
        final = obs if self.agent.autoreset_mode == "next_step" else info.get("final_obs")
        self.agent.observe(reward, done, terminated=terminated, final_observations=final)
        return obs, reward, terminated, truncated, info
