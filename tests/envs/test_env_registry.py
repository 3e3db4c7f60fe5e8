"""make_env: the evaluation env of each dataset family, and a clear error for names it does not know."""

import numpy as np
import pytest

from rlkit.envs.antmaze_eval import AntMazeEvalEnv
from rlkit.envs.bandit import OneStepBandit
from rlkit.envs.maze2d import Maze2DEnv
from rlkit.envs.registry import make_env


@pytest.mark.parametrize(
    ("name", "env_id", "obs_dim", "act_dim"),
    [
        ("hopper-medium-v2", "Hopper-v5", 11, 3),
        ("halfcheetah-random-v2", "HalfCheetah-v5", 17, 6),
        ("walker2d-medium-replay-v2", "Walker2d-v5", 17, 6),
        ("ant-expert-v2", "Ant-v5", 105, 8),
    ],
)
def test_mujoco(name, env_id, obs_dim, act_dim):
    env = make_env(name)
    assert env.spec.id == env_id and env.spec.max_episode_steps == 1000
    obs, _ = env.reset(seed=0)
    assert obs.shape == (obs_dim,) and env.action_space.shape == (act_dim,)
    env.close()


@pytest.mark.parametrize(
    ("name", "env_id", "obs_dim", "steps"),
    [("pen-human-v1", "AdroitHandPen-v1", 45, 100), ("door-cloned-v1", "AdroitHandDoor-v1", 39, 200)],
)
def test_adroit(name, env_id, obs_dim, steps):
    env = make_env(name)
    assert env.spec.id == env_id and env.spec.max_episode_steps == steps
    assert env.reset(seed=0)[0].shape == (obs_dim,)
    env.close()


def test_maze2d_and_kwargs_pass_through():
    env = make_env("maze2d-medium-dense-v1", max_episode_steps=7)
    assert isinstance(env, Maze2DEnv)
    assert (env.maze, env.reward_type, env.max_episode_steps) == ("medium", "dense", 7)
    assert make_env("maze2d-umaze-v1").reward_type == "sparse"


def test_antmaze_eval_env_starts_at_start_and_ends_at_goal():
    env = make_env("antmaze-umaze-diverse-v2")
    assert isinstance(env, AntMazeEvalEnv) and env.max_episode_steps == 700
    obs, _ = env.reset(seed=0)
    assert obs.shape == (29,) and env.observation_space.shape == (29,) and env.action_space.shape == (8,)
    assert np.hypot(*(obs[:2] - np.array([-4.0, 4.0]))) < 1.5  # the start cell (1, 1), 4 m cells
    assert env.goal.tolist() == [-4.0, -4.0]  # the evaluation goal cell (3, 1)
    obs, reward, terminated, truncated, info = env.step(np.zeros(8))
    assert (reward, terminated, info["success"]) == (0.0, False, False)
    ant = env._ant
    qpos, qvel = ant.data.qpos.copy(), ant.data.qvel.copy()
    qpos[:2] = env.goal + 0.2
    ant.set_state(qpos, qvel)
    obs, reward, terminated, truncated, info = env.step(np.zeros(8))
    assert (reward, terminated, info["success"]) == (1.0, True, True)
    env.close()


def test_bandit():
    assert isinstance(make_env("bandit-motivation-v0"), OneStepBandit)


@pytest.mark.parametrize("name", ["foo-v0", "hopper-mediocre-v2", "maze2d-open-v0", "kitchen-mixed-v0", "pen-v1"])
def test_unknown_names(name):
    with pytest.raises(ValueError, match=f"'{name}'"):
        make_env(name)
