"""PTGM's high-level agent: prior-KL discrete SAC over goal codes, and a sparse goal-reaching reward for mazes.

``PTGMHighLevelAgent`` owns a :class:`~rlkit.objectives.prior_kl_sac.PriorKLDiscreteSACLoss` and its three
optimisers (policy, critics, temperature; Adam 3e-4 and gradient-norm clip 10 as in the original). It acts on
observations of a :class:`~rlkit.envs.hierarchical.GoalCodeWrapper` env and learns from TensorDict batches of
high-level transitions (``high_level_transition`` builds one from a wrapper step).

``sparse_goal_reward`` / ``SparseGoalReward`` turn a maze into a goal-reaching task: reward 1 within ``radius``
of a target xy, 0 elsewhere, optionally ending the episode on success.

Example:
    >>> agent = PTGMHighLevelAgent(PriorKLDiscreteSACLoss(prior, obs_dim=4, num_codes=50))
    >>> code = agent.act(obs)                     # sampled from pi; agent.act(obs, deterministic=True) = argmax
    >>> metrics = agent.update(replay.sample(256))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
import torch
from tensordict import TensorDict, TensorDictBase
from torch import nn

from rlkit.objectives.prior_kl_sac import PriorKLDiscreteSACLoss
from rlkit.trainers.guards import check_finite


class PTGMHighLevelAgent(nn.Module):
    """Acts with the loss's policy and updates policy, critics and alpha from one batch per call.

    The three loss terms touch disjoint parameters (Q is detached in the actor loss, the policy is not
    differentiated in the critic target, KL is detached in the alpha loss), so one backward of their sum is
    the same as three separate ones. Optimiser states and the update counter are in ``state_dict``.
    """

    def __init__(self, loss: PriorKLDiscreteSACLoss, *, lr: float = 3e-4, grad_clip: float | None = 10.0) -> None:
        super().__init__()
        if lr <= 0 or (grad_clip is not None and grad_clip <= 0):
            raise ValueError(f"PTGMHighLevelAgent: lr and grad_clip must be > 0; got {lr}, {grad_clip}")
        self.loss = loss
        self.grad_clip = grad_clip
        self.policy_optim = torch.optim.Adam(loss.policy.parameters(), lr=lr)
        self.critic_optim = torch.optim.Adam(loss.critics.parameters(), lr=lr)
        self.alpha_optim = torch.optim.Adam([loss.log_alpha], lr=lr) if loss.learn_alpha else None
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.int64))

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        optims = {"policy": self.policy_optim, "critic": self.critic_optim}
        if self.alpha_optim is not None:
            optims["alpha"] = self.alpha_optim
        return optims

    @torch.no_grad()
    def act(self, obs: np.ndarray | torch.Tensor, deterministic: bool = False,
            generator: torch.Generator | None = None) -> np.ndarray:
        """Code index for an observation (obs_dim,) -> () or a batch (N, obs_dim) -> (N,), as int64 numpy.

        Sampled from pi (``generator`` for reproducibility) or its argmax. The policy runs in eval mode.
        """
        obs_t = torch.as_tensor(np.asarray(obs) if not isinstance(obs, torch.Tensor) else obs, dtype=torch.float32)
        if obs_t.ndim not in (1, 2) or obs_t.shape[-1] != self.loss.obs_dim:
            raise ValueError(f"PTGMHighLevelAgent.act: expected observations ({self.loss.obs_dim},) or "
                             f"(N, {self.loss.obs_dim}); got {tuple(obs_t.shape)}")
        modes = [(module, module.training) for module in self.loss.policy.modules()]
        self.loss.policy.eval()
        try:
            log_pi = self.loss.policy_log_probs(obs_t.reshape(-1, self.loss.obs_dim))
        finally:
            for module, training in modes:  # restore each layer's own mode (frozen BatchNorm stays frozen)
                module.training = training
        if deterministic:
            codes = log_pi.argmax(-1)
        else:
            codes = torch.multinomial(log_pi.exp(), 1, generator=generator).squeeze(-1)
        codes = codes.numpy()
        return codes[0] if obs_t.ndim == 1 else codes

    def update(self, batch: TensorDictBase) -> dict[str, float]:
        """One gradient step of policy, critics and alpha, then a Polyak step of the target critics."""
        out = self.loss(batch)
        losses = {key: out[key] for key in ("loss_actor", "loss_qvalue", "loss_alpha")}
        check_finite(losses, int(self.num_updates))  # before any step: a NaN never reaches the weights
        total = sum(losses.values())
        for optim in self._optimizers().values():
            optim.zero_grad(set_to_none=True)
        total.backward()
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.loss.policy.parameters(), self.grad_clip)
            nn.utils.clip_grad_norm_(self.loss.critics.parameters(), self.grad_clip)
        for optim in self._optimizers().values():
            optim.step()
        self.loss.update_targets()
        self.num_updates += 1
        keys = list(out.keys())
        values = torch.stack([out[key].detach().float() for key in keys]).tolist()  # one host sync for all terms
        return dict(zip(keys, values))

    # ----------------------------------------------------------------------------------------------- checkpoints
    def state_dict(self, *args, **kwargs):  # type: ignore[override]
        """Networks, targets, alpha and counter (nn.Module's) plus the optimisers' states under ``optim/``."""
        state = super().state_dict(*args, **kwargs)
        if not args and "destination" not in kwargs:
            for name, optim in self._optimizers().items():
                state[f"optim/{name}"] = optim.state_dict()
        return state

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):  # type: ignore[override]
        state = dict(state_dict)
        optim_states = {name: state.pop(f"optim/{name}", None) for name in ("policy", "critic", "alpha")}
        result = super().load_state_dict(state, strict=strict, assign=assign)
        for name, optim in self._optimizers().items():
            if optim_states[name] is not None:
                optim.load_state_dict(optim_states[name])
        return result


def high_level_transition(obs: Any, code: int, reward: float, next_obs: Any, terminated: bool, truncated: bool,
                          inner_steps: int = 1) -> TensorDict:
    """One high-level transition in rlkit's layout (batch size [1]), ready to extend a replay buffer."""
    as_row = lambda x: torch.as_tensor(np.asarray(x), dtype=torch.float32).reshape(1, -1)  # noqa: E731
    flag = lambda x: torch.tensor([[bool(x)]])  # noqa: E731
    return TensorDict({
        "observation": as_row(obs),
        "action": torch.tensor([int(code)]),
        "next": {"observation": as_row(next_obs), "reward": torch.tensor([[float(reward)]]),
                 "terminated": flag(terminated), "truncated": flag(truncated),
                 "done": flag(terminated or truncated), "inner_steps": torch.tensor([[int(inner_steps)]])},
    }, batch_size=[1])


def sparse_goal_reward(xy: np.ndarray | torch.Tensor, target_xy: Sequence[float] | np.ndarray,
                       radius: float = 0.5) -> np.ndarray:
    """1.0 where ``xy`` (..., 2) lies within ``radius`` (inclusive) of ``target_xy``, else 0.0, shape (...)."""
    xy = np.asarray(xy, dtype=np.float64)
    target = np.asarray(target_xy, dtype=np.float64)
    if xy.shape[-1:] != (2,) or target.shape != (2,):
        raise ValueError(f"sparse_goal_reward: expected xy (..., 2) and target_xy (2,); got {xy.shape}, "
                         f"{target.shape}")
    if radius <= 0:
        raise ValueError(f"sparse_goal_reward: radius must be > 0; got {radius}")
    return (np.linalg.norm(xy - target, axis=-1) <= radius).astype(np.float32)


class SparseGoalReward(gym.Wrapper):
    """Replace the reward by ``sparse_goal_reward(obs[xy_dims], target_xy, radius)``; info ``success``.

    ``terminate_on_success`` ends the episode (terminated=True) on the first step within the radius. The inner
    env's reward is kept in ``info["inner_reward"]``.
    """

    def __init__(self, env: gym.Env, target_xy: Sequence[float], radius: float = 0.5,
                 xy_dims: Sequence[int] = (0, 1), terminate_on_success: bool = True) -> None:
        super().__init__(env)
        shape = getattr(env.observation_space, "shape", None)
        dims = list(xy_dims)
        if shape is None or len(shape) != 1 or len(dims) != 2 or not all(0 <= d < shape[0] for d in dims):
            raise ValueError(f"SparseGoalReward: xy_dims={dims} must be 2 indices into a flat observation; "
                             f"the observation space is {env.observation_space}")
        sparse_goal_reward(np.zeros(2), target_xy, radius)  # validates target and radius
        self.target_xy = np.asarray(target_xy, dtype=np.float64)
        self.radius = radius
        self.xy_dims = dims
        self.terminate_on_success = terminate_on_success

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        sparse = float(sparse_goal_reward(np.asarray(obs)[self.xy_dims], self.target_xy, self.radius))
        info = {**info, "inner_reward": float(reward), "success": sparse > 0}
        if self.terminate_on_success and sparse > 0:
            terminated = True
        return obs, sparse, terminated, truncated, info
