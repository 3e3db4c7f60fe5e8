"""Run a policy for exactly ``num_episodes`` episodes on a gymnasium vector env and summarise returns/success.

Why a fixed quota per sub-env: with N envs running episodes of different lengths, "stop after the first K finished
episodes" over-represents short episodes (a policy that fails fast looks better or worse than it is). Instead
sub-env ``i`` runs exactly ``quota[i]`` episodes (``num_episodes`` split as evenly as possible, the first envs
taking the remainder) and any later episode of that env is ignored, so which episodes count never depends on
their lengths.

Autoreset: gymnasium 1.x vector envs default to *next-step* autoreset: the ``step`` after an episode ends resets
that sub-env, ignores its action and returns reward 0, ``terminated=truncated=False`` and the first observation.
That step is not a transition and is not counted. *Same-step* envs (the end-of-episode info sits in
``info["final_info"]``) and *disabled* autoreset (this function resets ended sub-envs itself) work too.

Stochastic policies built on tensordict (TorchRL actors) read the interaction type, which is set to
``DETERMINISTIC`` (or ``RANDOM`` with ``deterministic=False``) for the whole rollout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv, VectorEnv
from tensordict import TensorDict
from tensordict.nn import InteractionType, TensorDictModuleBase, set_interaction_type

from rlkit.data import keys as K
from rlkit.trainers.seeding import sub_env_seeds


def _to_torch(obs: Any, device: torch.device, dtype: torch.dtype) -> Any:
    if isinstance(obs, Mapping):
        return {key: _to_torch(value, device, dtype) for key, value in obs.items()}
    tensor = torch.as_tensor(np.asarray(obs), device=device)
    return tensor.to(dtype) if tensor.is_floating_point() else tensor


class TorchPolicy:
    """Adapt a torch module to numpy observations in, numpy actions out, under ``torch.no_grad``.

    A ``TensorDictModule`` (e.g. a TorchRL actor) gets a TensorDict with the observation under ``obs_key``
    (or the entries of a Dict observation under their own names) and its ``action_key`` is returned; any other
    module or callable is called on the observation tensor. ``device`` defaults to the module's parameters' device.
    """

    def __init__(
        self,
        module: Callable[..., Any],
        device: str | torch.device | None = None,
        obs_key: Any = K.OBS,
        action_key: Any = K.ACTION,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if device is None and isinstance(module, torch.nn.Module):
            tensor = next(iter(list(module.parameters()) + list(module.buffers())), None)
            device = tensor.device if tensor is not None else None
        self.module = module
        self.device = torch.device(device if device is not None else "cpu")
        self.obs_key, self.action_key, self.dtype = obs_key, action_key, dtype

    def __call__(self, obs: Any) -> np.ndarray:
        obs_t = _to_torch(obs, self.device, self.dtype)
        with torch.no_grad():
            if isinstance(self.module, TensorDictModuleBase):
                source = obs_t if isinstance(obs_t, dict) else {self.obs_key: obs_t}
                batch = next(iter(source.values())).shape[:1]
                action = self.module(TensorDict(source, batch_size=batch, device=self.device))[self.action_key]
            else:
                action = self.module(obs_t)
        return action.detach().cpu().numpy()


def _as_numpy_policy(policy: Callable[[Any], Any]) -> Callable[[Any], np.ndarray]:
    if isinstance(policy, torch.nn.Module):
        return TorchPolicy(policy)

    def call(obs: Any) -> np.ndarray:
        action = policy(obs)
        return action.detach().cpu().numpy() if isinstance(action, torch.Tensor) else np.asarray(action)

    return call


def _flag(info: Mapping[str, Any], key: str, num_envs: int) -> tuple[np.ndarray, np.ndarray]:
    """(values, present) of a per-sub-env info entry in gymnasium's vector info layout (``key`` + ``_key`` mask)."""
    if key not in info:
        return np.zeros(num_envs, dtype=bool), np.zeros(num_envs, dtype=bool)
    values = np.asarray(info[key]).reshape(num_envs).astype(bool)
    present = np.asarray(info.get(f"_{key}", np.ones(num_envs, dtype=bool))).reshape(num_envs).astype(bool)
    return values & present, present


def _success_flags(
    info: Mapping[str, Any], ended: np.ndarray, same_step: bool, keys: tuple[str, ...], num_envs: int
) -> tuple[np.ndarray, np.ndarray]:
    values, present = np.zeros(num_envs, dtype=bool), np.zeros(num_envs, dtype=bool)
    final_info = info.get("final_info", {}) if same_step else {}
    for key in keys:
        value, seen = _flag(info, key, num_envs)
        if final_info:  # same-step autoreset: an ended env's info is the reset's; its last step's is in final_info
            final_value, final_seen = _flag(final_info, key, num_envs)
            value, seen = np.where(ended, final_value, value), np.where(ended, final_seen, seen)
        take = seen & ~present
        values[take], present[take] = value[take], True
    return values, present


def episode_quota(num_episodes: int, num_envs: int) -> np.ndarray:
    """Episodes each sub-env runs: ``num_episodes`` split evenly, the first envs taking the remainder."""
    quota = np.full(num_envs, num_episodes // num_envs, dtype=np.int64)
    quota[: num_episodes % num_envs] += 1
    return quota


def evaluate(
    policy: Callable[[Any], Any],
    env: Callable[[], gym.Env] | VectorEnv,
    num_episodes: int,
    *,
    num_envs: int | None = None,
    seed: int | None = 0,
    max_steps: int | None = None,
    deterministic: bool = True,
    vectorization: Literal["sync", "async"] = "sync",
    success_keys: tuple[str, ...] = ("success", "is_success"),
    success_mode: Literal["any", "final"] = "any",
) -> dict[str, Any]:
    """Roll ``policy`` out for exactly ``num_episodes`` episodes; return per-episode and summary statistics.

    policy: batch of observations (numpy, or a dict of numpy for Dict spaces) -> batch of actions (numpy or tensor).
        A ``torch.nn.Module`` is wrapped in ``TorchPolicy`` (tensors on the module's device, ``no_grad``).
    env: a function making one ``gymnasium.Env`` (a vector env of ``num_envs`` copies is built and closed here),
        or a ready ``VectorEnv`` (left open; ``num_envs`` must be None or match it).
    num_envs: parallel copies, default ``min(num_episodes, 8)``.
    seed: sub-env ``i`` is reset with ``sub_env_seeds(seed, num_envs)[i]`` once; later episodes continue each
        env's own RNG, so the same seed gives the same episodes. None leaves the env unseeded.
    max_steps: cut episodes after this many steps (counted as truncated) on top of the env's own limits.
    success_mode: an episode succeeds if a success key is true at "any" step, or at its "final" step.

    Returns ``returns`` (float64) and ``lengths`` (int64) arrays ordered by sub-env, then episode; ``return_mean``,
    ``return_std`` (population), ``length_mean``, ``num_episodes``; and, when any episode's info carried one of
    ``success_keys``, ``successes`` (bool array; episodes without the key count as failures) and ``success_rate``.
    """
    if num_episodes < 1:
        raise ValueError(f"num_episodes must be >= 1, got {num_episodes}")
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"max_steps must be >= 1 or None, got {max_steps}")
    if success_mode not in ("any", "final"):
        raise ValueError(f"success_mode must be 'any' or 'final', got {success_mode!r}")
    own_envs = not isinstance(env, VectorEnv)
    if own_envs:
        if isinstance(env, gym.Env) or not callable(env):
            raise TypeError(
                f"env must be a function returning a gymnasium.Env, or a VectorEnv; got {type(env).__name__}"
            )
        count = num_envs if num_envs is not None else min(num_episodes, 8)
        if count < 1:
            raise ValueError(f"num_envs must be >= 1, got {count}")
        vector_cls = {"sync": SyncVectorEnv, "async": AsyncVectorEnv}.get(vectorization)
        if vector_cls is None:
            raise ValueError(f"vectorization must be 'sync' or 'async', got {vectorization!r}")
        envs = vector_cls([env] * count)
    else:
        envs = env
        if num_envs is not None and num_envs != envs.num_envs:
            raise ValueError(f"num_envs={num_envs} but the given vector env has {envs.num_envs} sub-envs")
    try:
        interaction = InteractionType.DETERMINISTIC if deterministic else InteractionType.RANDOM
        with torch.no_grad(), set_interaction_type(interaction):
            episodes = _rollout(_as_numpy_policy(policy), envs, num_episodes, seed, max_steps, success_keys,
                                success_mode)
    finally:
        if own_envs:
            envs.close()
    return _summarise(episodes)


def _rollout(
    policy: Callable[[Any], np.ndarray],
    envs: VectorEnv,
    num_episodes: int,
    seed: int | None,
    max_steps: int | None,
    success_keys: tuple[str, ...],
    success_mode: str,
) -> list[list[tuple[float, int, bool | None]]]:
    n = envs.num_envs
    mode = AutoresetMode(envs.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP))
    quota = episode_quota(num_episodes, n)
    finished: list[list[tuple[float, int, bool | None]]] = [[] for _ in range(n)]
    ret = np.zeros(n, dtype=np.float64)
    length = np.zeros(n, dtype=np.int64)
    success = np.zeros(n, dtype=bool)
    success_seen = np.zeros(n, dtype=bool)
    reset_step = np.zeros(n, dtype=bool)  # next-step autoreset: this env's next step() is its reset
    obs, _ = envs.reset(seed=sub_env_seeds(seed, n) if seed is not None else None)
    while any(len(done) < q for done, q in zip(finished, quota)):
        obs, reward, terminated, truncated, info = envs.step(policy(obs))
        counting = ~reset_step & np.array([len(done) < q for done, q in zip(finished, quota)])
        ret += np.where(counting, reward, 0.0)
        length += counting
        ended = (terminated | truncated) & ~reset_step
        cut = counting & ~ended & (length >= max_steps) if max_steps is not None else np.zeros(n, dtype=bool)
        flags, present = _success_flags(info, ended, mode == AutoresetMode.SAME_STEP, success_keys, n)
        if success_mode == "any":
            success |= counting & flags
        else:
            success = np.where(counting, flags, success)
        success_seen |= counting & present
        for i in np.flatnonzero(counting & (ended | cut)):
            finished[i].append((float(ret[i]), int(length[i]), bool(success[i]) if success_seen[i] else None))
        closed = ended | cut
        ret[closed], length[closed], success[closed], success_seen[closed] = 0.0, 0, False, False
        reset_step = ended if mode == AutoresetMode.NEXT_STEP else np.zeros(n, dtype=bool)
        manual = closed if mode == AutoresetMode.DISABLED else cut
        if manual.any():
            obs, _ = envs.reset(options={"reset_mask": manual})
    return [episodes[:q] for episodes, q in zip(finished, quota)]


def _summarise(per_env: list[list[tuple[float, int, bool | None]]]) -> dict[str, Any]:
    flat = [episode for episodes in per_env for episode in episodes]
    returns = np.array([r for r, _, _ in flat], dtype=np.float64)
    lengths = np.array([n for _, n, _ in flat], dtype=np.int64)
    result: dict[str, Any] = {
        "returns": returns,
        "lengths": lengths,
        "return_mean": float(returns.mean()),
        "return_std": float(returns.std()),
        "length_mean": float(lengths.mean()),
        "num_episodes": len(flat),
    }
    if any(s is not None for _, _, s in flat):
        successes = np.array([bool(s) for _, _, s in flat], dtype=bool)
        result["successes"] = successes
        result["success_rate"] = float(successes.mean())
    return result
