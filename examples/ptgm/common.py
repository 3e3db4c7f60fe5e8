"""What the PTGM scripts share: the dataset of a config, the downstream env, and saving/loading the pretrained nets.

The nets are saved as ``{"kind", "kwargs", "state_dict"}`` so a later stage rebuilds them without repeating sizes
on its command line, and a stage run before its inputs exist says which script makes them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from config import PTGMConfig
from torch import nn

from rlkit.data.ptgm_data import GoalDataset, load_kitchen_goal_data, load_maze_goal_data
from rlkit.envs.goal_tasks import make_kitchen_env, make_maze_goal_env, maze_goal_task
from rlkit.modules.goal_prior import GaussianGoalPolicy, GoalPrior
from rlkit.utils.atomic import atomic_path

CODEBOOK_FILE, PRIOR_FILE, LOWLEVEL_FILE = "codebook.pt", "prior.pt", "lowlevel.pt"
_MAKERS = {CODEBOOK_FILE: "generate_codebook.py", PRIOR_FILE: "train_prior.py", LOWLEVEL_FILE: "train_lowlevel.py"}
_KINDS: dict[str, type[nn.Module]] = {"GoalPrior": GoalPrior, "GaussianGoalPolicy": GaussianGoalPolicy}


MAZE_LAYOUTS = {"point": "maze2d", "ant": "antmaze"}  # task agent -> the data layout its nets must come from


def load_data(config: PTGMConfig) -> GoalDataset:
    """The pretraining dataset of ``config.domain`` (maze data with 29-d observations has the "antmaze" layout)."""
    if config.domain == "maze":
        return load_maze_goal_data(config.dataset)  # goal = obs [0, 1] = x, y for the point mass and the ant
    return load_kitchen_goal_data(config.dataset)


def make_task_env(config: PTGMConfig, layout: str | None = None) -> gym.Env:
    """The downstream env: the maze task (sparse reward, terminates on success; point mass or ant) or the 4-task
    kitchen. ``layout``: the pretraining data's ("maze2d", "antmaze", "d4rl", "gymnasium"); a maze task whose agent
    does not match it is refused before any net sees a wrong-sized observation."""
    if config.domain == "maze":
        agent = maze_goal_task(config.task).agent
        if layout is not None and layout != MAZE_LAYOUTS[agent]:
            raise ValueError(f"--task {config.task} runs the {agent} ({MAZE_LAYOUTS[agent]} observations), but the "
                             f"pretrained nets in {config.run_dir} were trained on {layout} data; use an antmaze-* "
                             "task with antmaze-*-v2 data and a maze2d task with maze2d-*-v1 data")
        return make_maze_goal_env(config.task, max_episode_steps=config.max_episode_steps, start=config.start,
                                  min_start_cells=config.min_start_cells)
    return make_kitchen_env(layout=layout or "d4rl", max_episode_steps=config.max_episode_steps or 280)


def artefact(config: PTGMConfig, name: str) -> Path:
    """Path of an artefact in the run dir; an error naming the script that makes it when it is missing."""
    path = Path(config.run_dir) / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; run examples/ptgm/{_MAKERS[name]} with the same "
                                f"--run-dir first")
    return path


def save_net(net: nn.Module, kwargs: dict[str, Any], path: str | os.PathLike, **extra: Any) -> None:
    """Write a GoalPrior / GaussianGoalPolicy with its constructor arguments, atomically."""
    payload = {"kind": type(net).__name__, "kwargs": kwargs, "state_dict": net.state_dict(), **extra}
    with atomic_path(path) as temporary:
        torch.save(payload, temporary)


def load_net(path: str | os.PathLike) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a net written by :func:`save_net` (in eval mode); returns it and the file's extra entries."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("kind") not in _KINDS:
        raise ValueError(f"{path} is not a net written by examples/ptgm (expected kind in {sorted(_KINDS)})")
    net = _KINDS[payload["kind"]](**payload["kwargs"])
    net.load_state_dict(payload["state_dict"])
    extra = {k: v for k, v in payload.items() if k not in ("kind", "kwargs", "state_dict")}
    return net.eval(), extra


def pretrain_generator(config: PTGMConfig, salt: int) -> torch.Generator:
    """The window sampler's generator of a stage (different streams for prior and low level)."""
    return torch.Generator().manual_seed(config.seed * 1000 + salt)


def fit_on_windows(net: nn.Module, loss: nn.Module, data: GoalDataset, config: PTGMConfig, *, salt: int,
                   desc: str) -> dict[str, float]:
    """Train ``net`` with ``loss`` on goal windows for ``config.pretrain_steps`` RAdam steps; the last metrics.

    Each step draws ``pretrain_batch_size`` windows of ``horizon`` states (the original's batch of 128 windows).
    """
    from rlkit.trainers import check_finite, progress_bar

    optimizer = torch.optim.RAdam(net.parameters(), lr=config.pretrain_lr)
    generator = pretrain_generator(config, salt)
    net.train()
    metrics: dict[str, float] = {}
    with progress_bar(config.pretrain_steps, desc=desc, enabled=None if config.progress else False) as bar:
        for step in range(config.pretrain_steps):
            batch = data.sample_windows(config.pretrain_batch_size, config.horizon, generator=generator)
            out = loss(batch)
            total = sum(value for key, value in out.items() if key.startswith("loss_"))
            check_finite(out, step)
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            optimizer.step()
            logged = step % 100 == 0 or step == config.pretrain_steps - 1
            if logged:
                metrics = {key: float(value.detach()) for key, value in out.items()}
            bar.update(1, metrics if logged else None)
    return metrics
