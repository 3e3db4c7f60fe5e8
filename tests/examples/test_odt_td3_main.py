"""examples/odt_td3/main.py end to end, tiny: offline then online, outputs, exact resume, learning, bad input."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from rlkit.data.d4rl_io import save_d4rl
from rlkit.trainers.logger import read_metrics
from tests.examples.example_modules import example_modules

TINY = ["--embed_dim", "16", "--n_layer", "1", "--n_head", "1", "--batch_size", "32", "--warmup_steps", "20",
        "--progress", "0", "--device", "cpu", "--num_eval_episodes", "4"]


@pytest.fixture(scope="module")
def example():
    """The example's ``main`` module, imported from its folder (its siblings are plain modules there)."""
    with example_modules("odt_td3", ("main", "config", "rollouts")) as modules:
        yield modules["main"]


@pytest.fixture(scope="module")
def bandit_file(tmp_path_factory) -> Path:
    from rlkit.envs.bandit import generate_bandit_dataset

    path = tmp_path_factory.mktemp("data") / "bandit.hdf5"
    save_d4rl(generate_bandit_dataset(128, seed=0)[0], path)
    return path


def bandit_args(path: Path, run_dir: Path, online_iters: int, *extra: str) -> list[str]:
    return ["--env", "bandit-motivation-v0", "--dataset-path", str(path), "--run-dir", str(run_dir), *TINY,
            "--max_pretrain_iters", "1", "--num_updates_per_pretrain_iter", "100", "--max_online_iters",
            str(online_iters), "--num_updates_per_online_iter", "50", "--minimum_sapairs_per_iter", "32",
            "--eval-every", "1", "--actor_rl_coeff", "2", "--critic_learning_rate", "0.003", *extra]


def test_bandit_runs_offline_then_online_improves_and_writes_outputs(example, bandit_file, tmp_path):
    result = example.main(bandit_args(bandit_file, tmp_path / "run", 6))
    metrics = read_metrics(tmp_path / "run" / "metrics.csv")
    assert metrics["step"].tolist() == list(range(1, 8))
    assert metrics["phase"].tolist() == [0] + [1] * 6
    assert metrics["env_steps"].tolist() == [0, 32, 64, 96, 128, 160, 192]  # one-step episodes, 32 per iteration
    assert np.isnan(metrics["online/return_mean"][0]) and np.isfinite(metrics["online/return_mean"][1:]).all()
    # the offline data never show the optimum a = 0 (return 1); TD3 gradients move the DT towards it
    returns = metrics["eval/return_mean"]
    assert returns[-1] > returns[0] + 0.3, returns
    assert result["final"]["eval/return_mean"] == returns[-1]
    png = (tmp_path / "run" / "learning_curves.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert len(list((tmp_path / "run" / "checkpoints").glob("checkpoint_*.pt"))) == 2  # keep_last=2


def test_resume_continues_exactly(example, bandit_file, tmp_path):
    straight = example.main(bandit_args(bandit_file, tmp_path / "straight", 3))["metrics"]
    example.main(bandit_args(bandit_file, tmp_path / "resumed", 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the logger notes that max_online_iters changed
        resumed = example.main(bandit_args(bandit_file, tmp_path / "resumed", 3, "--resume"))["metrics"]
    assert resumed["step"].tolist() == [1, 2, 3, 4]
    for key in ("train/loss_critic", "train/loss_actor", "eval/return_mean", "online/return_mean", "env_steps"):
        np.testing.assert_array_equal(resumed[key], straight[key], err_msg=key)


def test_odt_baseline_flags_train_the_stochastic_policy_without_a_critic(example, bandit_file, tmp_path):
    args = bandit_args(bandit_file, tmp_path / "odt", 1, "--actor_rl_coeff", "0", "--stoc", "1",
                       "--use_entropy_reg", "1")
    metrics = example.main(args)["metrics"]
    assert "train/loss_critic" not in metrics  # ODT never reads a critic, so none is trained
    assert np.all(metrics["train/temperature"] > 0) and np.isfinite(metrics["train/entropy"]).all()
    assert metrics["env_steps"].tolist() == [0, 32]


def test_bf16_updates_track_fp32_and_a_supervised_only_deterministic_dt_trains(example, bandit_file, tmp_path):
    fp32 = example.main(bandit_args(bandit_file, tmp_path / "fp32", 1))["metrics"]
    bf16 = example.main(bandit_args(bandit_file, tmp_path / "bf16", 1, "--precision", "bf16"))["metrics"]
    for key in ("train/loss_critic", "train/loss_sup"):  # same seed and data; only rounding differs
        np.testing.assert_allclose(bf16[key], fp32[key], rtol=0.1, atol=1e-3, err_msg=key)
    # motivation.py's ODT: a deterministic DT finetuned by supervision alone (no critic is trained)
    det = example.main(bandit_args(bandit_file, tmp_path / "det", 1, "--actor_rl_coeff", "0"))["metrics"]
    assert "train/loss_critic" not in det and np.isfinite(det["train/loss_sup"]).all()


def test_maze2d_with_context_pretrains_and_finetunes(example, tmp_path):
    from rlkit.data.generators.maze2d import generate_maze2d

    path = tmp_path / "maze2d.hdf5"
    save_d4rl(generate_maze2d("umaze", 900, seed=0, progress=False)[0], path)
    args = ["--env", "maze2d-umaze-v1", "--dataset-path", str(path), "--run-dir", str(tmp_path / "run"), *TINY,
            "--num_eval_episodes", "1", "--K", "3", "--eval_context_length", "2", "--max_pretrain_iters", "2",
            "--num_updates_per_pretrain_iter", "60", "--max_online_iters", "1", "--num_updates_per_online_iter",
            "10", "--minimum_sapairs_per_iter", "1", "--learning_rate", "0.001"]
    result = example.main(args)
    metrics = result["metrics"]
    assert metrics["phase"].tolist() == [0, 0, 1]
    assert metrics["env_steps"][-1] == 300  # one whole maze2d-umaze episode
    assert metrics["train/loss_sup"][1] < metrics["train/loss_sup"][0]  # behaviour cloning learns
    assert np.isfinite(metrics["train/loss_critic"]).all()
    assert "eval/normalized_score" in result["final"]


def test_bad_input_fails_before_training(example, bandit_file, tmp_path):
    from config import parse_args

    with pytest.raises(ValueError, match="does not belong to this env"):
        example.main(["--env", "maze2d-umaze-v1", "--dataset-path", str(bandit_file), "--run-dir", str(tmp_path)])
    with pytest.raises(ValueError, match="unknown --env 'cartpole-v1'"):
        parse_args(["--env", "cartpole-v1"])
    with pytest.raises(ValueError, match="--precision must be fp32 or bf16"):
        example.main(bandit_args(bandit_file, tmp_path / "p", 1, "--precision", "fp16"))
    with pytest.raises(ValueError, match="--K must be >= 1"):
        parse_args(["--K", "0"])
    with pytest.raises(ValueError, match="--eval_context_length must be >= 1"):
        parse_args(["--eval_context_length", "0"])
    with pytest.raises(ValueError, match="not a finite float32 return-to-go"):
        parse_args(["--reward_scale", "1e38"])
    assert not (tmp_path / "metrics.csv").exists()


def test_family_defaults_follow_the_original_readme(example):
    from config import parse_args

    maze = parse_args(["--env", "maze2d-umaze-v1"])
    assert (maze.K, maze.eval_context_length, maze.eval_rtg, maze.replay_size, maze.critic_learning_rate) == \
        (1, 1, 60, 2500, 2e-4)
    assert maze.critic_layer_norm and maze.num_actor_update_interval == 1 and maze.reward_scale == 1.0
    hopper = parse_args(["--env", "hopper-medium-v2"])
    assert (hopper.K, hopper.eval_context_length, hopper.num_actor_update_interval, hopper.reward_scale) == \
        (20, 5, 2, 0.001)
    assert not hopper.critic_layer_norm and hopper.minimum_sapairs_per_iter == 0 and hopper.weight_decay == 5e-4
    assert parse_args(["--env", "hopper-random-v2"]).minimum_sapairs_per_iter == 1000
    bandit = parse_args(["--env", "bandit-motivation-v0"])  # motivation.py's critic: a plain MLP
    assert (bandit.K, bandit.eval_rtg, bandit.critic_layer_norm) == (1, 1.0, False)
    assert parse_args(["--env", "bandit-motivation-v0", "--override_layernorm", "1"]).critic_layer_norm
    ant = parse_args(["--env", "antmaze-large-diverse-v2"])
    assert (ant.K, ant.gamma, ant.RL_from_start, ant.max_pretrain_iters, ant.eval_rtg) == (5, 0.998, 1, 40, -500)
    walker = parse_args(["--env", "walker2d-medium-v2", "--K", "3"])  # the default eval context 5 shrinks to K
    assert (walker.learning_rate, walker.num_updates_per_pretrain_iter, walker.eval_context_length) == (1e-3, 10000, 3)
    # a given flag beats --quick, which beats the family default
    quick = parse_args(["--env", "pen-human-v1", "--quick", "--n_layer", "1"])
    assert (quick.embed_dim, quick.n_layer, quick.K, quick.eval_rtg) == (128, 1, 5, 120)
    odt = parse_args(["--actor_rl_coeff", "0", "--stoc", "1", "--use_entropy_reg", "1"])
    assert odt.stoc == 1 and odt.actor_rl_coeff == 0


def test_dataset_rewards_are_delayed_and_transformed_like_the_envs(example):
    import torch
    from config import parse_args
    from rollouts import delay_rewards, shape_dataset_rewards

    from rlkit.data.layout import transitions_from_arrays

    rewards = np.array([1, 2, 3, 4, 5, 1, 1, 1], dtype=np.float32)
    ends = np.array([0, 0, 0, 0, 1, 0, 0, 1], dtype=bool)
    data = transitions_from_arrays(np.zeros((8, 2), np.float32), np.zeros((8, 1), np.float32), rewards, ends,
                                   np.zeros(8, bool), next_observations=np.zeros((8, 2), np.float32))
    # paid every 2 steps of each episode and at its end: the returns are unchanged
    assert delay_rewards(data, 2)[:, 0].tolist() == [0, 3, 0, 7, 5, 0, 2, 1]
    shaped = shape_dataset_rewards(data, parse_args(["--env", "antmaze-umaze-v2", "--delayed_reward", "3"]))
    assert shaped["next", "reward"][:, 0].tolist() == [0, 0, 3, 0, 7, 0, 0, 0]  # r - 1, then delayed by 3
    assert torch.equal(data["next", "reward"][:, 0], torch.as_tensor(rewards))  # the loaded data are untouched
    hammer = shape_dataset_rewards(data, parse_args(["--env", "hammer-human-v1"]))
    assert torch.allclose(hammer["next", "reward"][:, 0], torch.as_tensor(rewards) / 1000)
