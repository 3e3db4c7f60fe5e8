"""The high-level MDP of PTGM: an env whose action is a goal code, run by a frozen low-level policy for k steps.

``GoalCodeWrapper.step(code)`` looks up the code's goal, lets the low level act towards it for ``steps_per_code``
env steps (or until the inner episode ends) and returns the summed reward and the state reached. A high-level
transition (s_t, code_t, r_t + ... + r_{t+k-1}, s_{t+k}) is therefore right by construction; the original instead
assembled it afterwards from a buffer and paired each segment's reward and next state with the following code.
``terminated`` and ``truncated`` are kept apart, so a time limit inside a segment does not look like a terminal state.

Example:
    >>> env = GoalCodeWrapper(gym.make("PointMaze_UMaze-v3"), low_level, codebook.codes, goal_dims=[0, 1])
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(3)  # info["inner_steps"] <= 10
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
import torch
from torch import nn

LowLevel = Callable[[np.ndarray, np.ndarray], Any]
SUCCESS_KEYS: tuple[str, ...] = ("success", "is_success")


class GoalCodeWrapper(gym.Wrapper):
    """Discrete(K) actions = goal codes; each step runs ``low_level(obs, goal) -> action`` for up to k env steps.

    Args:
        env: an env with a flat ``Box`` observation space.
        low_level: called with the current observation and the code's goal (numpy arrays) and returning an action
            (numpy array, tensor or list) of the env's action shape.
        codes: (K, g) goals, one row per code, in the units the low level was trained on.
        goal_dims: the observation indices the goal dims correspond to (used to check the codes against the
            observation and to report ``info["goal_distance"]``); None means the goal is the whole observation.
        steps_per_code: k, env steps per high-level step (the original: 10).
        clip_actions: clip the low level's actions into a ``Box`` action space (PTGM's Gaussian has no tanh).

    ``info`` of a high-level step: ``inner_steps`` (env steps run), ``success`` (any inner info's "success" or
    "is_success" was truthy), ``code``, ``goal``, ``goal_distance`` (L2 between ``obs[goal_dims]`` at the end and
    the goal) and ``inner_info`` (the last inner step's info).
    """

    def __init__(self, env: gym.Env, low_level: LowLevel, codes: np.ndarray | torch.Tensor,
                 goal_dims: Sequence[int] | None = None, steps_per_code: int = 10, clip_actions: bool = True) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise ValueError(f"GoalCodeWrapper: the env's observation space is {space}; expected a flat Box "
                             "(flatten a Dict observation first, e.g. with gymnasium's FlattenObservation)")
        if isinstance(steps_per_code, bool) or not isinstance(steps_per_code, int) or steps_per_code < 1:
            raise ValueError(f"GoalCodeWrapper: steps_per_code must be a positive int; got {steps_per_code!r}")
        codes = codes.detach().cpu().numpy() if isinstance(codes, torch.Tensor) else np.asarray(codes)
        if codes.ndim != 2 or codes.shape[0] < 1 or not np.issubdtype(codes.dtype, np.number):
            raise ValueError(f"GoalCodeWrapper: codes have shape {codes.shape} and dtype {codes.dtype}; "
                             "expected a numeric (K, goal_dim) array with K >= 1")
        if not np.isfinite(codes).all():
            raise ValueError(f"GoalCodeWrapper: code {int(np.nonzero(~np.isfinite(codes).all(1))[0][0])} "
                             "is not finite")
        obs_dim = space.shape[0]
        dims = np.arange(obs_dim) if goal_dims is None else np.asarray(list(goal_dims))
        if dims.ndim != 1 or dims.size == 0 or not np.issubdtype(dims.dtype, np.integer):
            raise ValueError(f"GoalCodeWrapper: goal_dims={goal_dims!r}; expected a non-empty list of int indices")
        outside = dims[(dims < 0) | (dims >= obs_dim)]
        if outside.size:
            raise ValueError(f"GoalCodeWrapper: goal_dims {outside.tolist()} lie outside the observation, "
                             f"which has {obs_dim} dims (valid indices 0..{obs_dim - 1})")
        if codes.shape[1] != dims.size:
            raise ValueError(f"GoalCodeWrapper: codes have {codes.shape[1]} dims per goal but goal_dims names "
                             f"{dims.size} observation dims; they must match")
        self.low_level = low_level
        self.codes = codes.astype(np.float32)
        self.goal_dims = dims
        self.steps_per_code = steps_per_code
        self.clip_actions = clip_actions
        self.action_space = gym.spaces.Discrete(codes.shape[0])
        self._obs: np.ndarray | None = None
        self._ended = True

    @property
    def num_codes(self) -> int:
        return self.codes.shape[0]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._obs, self._ended = np.asarray(obs), False
        return obs, info

    def _code_index(self, code: Any) -> int:
        value = code
        if isinstance(code, (np.ndarray, torch.Tensor)) and tuple(code.shape) in ((), (1,)):
            value = code.item()
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
                or not 0 <= value < self.num_codes:
            raise ValueError(f"GoalCodeWrapper.step: code={code!r}; expected an int in [0, {self.num_codes})")
        return int(value)

    def _low_level_action(self, obs: np.ndarray, goal: np.ndarray) -> np.ndarray:
        action = self.low_level(obs, goal)
        if isinstance(action, torch.Tensor):
            action = action.detach().cpu().numpy()
        action = np.asarray(action, dtype=self.env.action_space.dtype)
        expected = self.env.action_space.shape
        if expected is not None and action.shape != expected:
            raise ValueError(f"GoalCodeWrapper: the low level returned an action of shape {action.shape}; "
                             f"expected {expected} (the env's action space)")
        if self.clip_actions and isinstance(self.env.action_space, gym.spaces.Box):
            action = np.clip(action, self.env.action_space.low, self.env.action_space.high)
        return action

    def step(self, code: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        if self._ended:
            raise RuntimeError("GoalCodeWrapper.step: the episode has ended (or never started); call reset() first")
        index = self._code_index(code)
        goal = self.codes[index]
        obs, total, terminated, truncated = self._obs, 0.0, False, False
        success, steps, info = False, 0, {}
        while steps < self.steps_per_code and not (terminated or truncated):
            obs, reward, terminated, truncated, info = self.env.step(self._low_level_action(obs, goal))
            obs = np.asarray(obs)
            total += float(reward)
            success = success or any(bool(info.get(key, False)) for key in SUCCESS_KEYS)
            steps += 1
        self._obs, self._ended = obs, bool(terminated or truncated)
        distance = float(np.linalg.norm(obs[self.goal_dims] - goal))
        out = {"inner_steps": steps, "success": success, "code": index, "goal": goal.copy(),
               "goal_distance": distance, "inner_info": info}
        return obs, total, bool(terminated), bool(truncated), out


def policy_low_level(policy: nn.Module, *, deterministic: bool = True, device: str | torch.device = "cpu",
                     generator: torch.Generator | None = None) -> LowLevel:
    """Wrap a goal-conditioned torch policy (``mode``/``sample`` methods, e.g. ``GaussianGoalPolicy``) as a
    numpy ``low_level(obs, goal) -> action`` for :class:`GoalCodeWrapper`; the policy is put in eval mode."""
    policy.eval()

    @torch.no_grad()
    def act(obs: np.ndarray, goal: np.ndarray) -> np.ndarray:
        obs_t = torch.as_tensor(obs, dtype=torch.float32, device=device).unsqueeze(0)
        goal_t = torch.as_tensor(goal, dtype=torch.float32, device=device).unsqueeze(0)
        action = policy.mode(obs_t, goal_t) if deterministic else policy.sample(obs_t, goal_t, generator)
        return action.squeeze(0).cpu().numpy()

    return act
