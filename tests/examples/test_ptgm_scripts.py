"""examples/ptgm end to end, tiny: codebook -> prior -> low level -> a few high-level updates; flags; bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from rlkit.data.errors import DatasetError
from rlkit.trainers.logger import read_metrics
from tests.examples.example_modules import example_modules

MODULES = ("config", "common", "episodes", "flat_sac", "generate_codebook", "train_prior", "train_lowlevel",
           "train_hrl")
TINY = ["--num-codes", "8", "--pretrain-steps", "200", "--pretrain-batch-size", "32", "--pretrain-lr", "0.005",
        "--hidden", "32", "--label-metric", "codebook", "--env-steps", "300", "--warmup", "5", "--batch-size", "8",
        "--critic-hidden", "16", "--eval-every", "150", "--eval-episodes", "1", "--max-episode-steps", "50",
        "--start", "sampled", "--task", "medium-bottom-right", "--no-progress"]


@pytest.fixture(scope="module")
def ptgm():
    """The example's modules, imported from its folder (they import each other as plain modules)."""
    with example_modules("ptgm", MODULES) as modules:
        yield modules


@pytest.fixture(scope="module")
def maze_file(tmp_path_factory) -> Path:
    from rlkit.data.build import build_dataset

    path = tmp_path_factory.mktemp("data") / "maze2d-medium-tiny.hdf5"
    return build_dataset("maze2d-medium-v1", out=path, steps=3000, seed=0, progress=False)


@pytest.fixture(scope="module")
def pretrained(ptgm, maze_file, tmp_path_factory):
    """Stages 1-3 run once; returns (run_dir, flags, stage outputs)."""
    run_dir = tmp_path_factory.mktemp("run")
    flags = [*TINY, "--dataset", str(maze_file), "--run-dir", str(run_dir)]
    outputs = {name: ptgm[name].main(flags) for name in ("generate_codebook", "train_prior", "train_lowlevel")}
    return run_dir, flags, outputs


def test_codebook_stage_fits_real_xy_states_of_the_data(pretrained, maze_file):
    from rlkit.data.d4rl_io import load_d4rl
    from rlkit.modules.codebook import GoalCodebook

    run_dir, _, outputs = pretrained
    book = GoalCodebook.load(run_dir / "codebook.pt", goal_dim=2)
    xy = load_d4rl(maze_file)["observation"][::6, :2]
    assert book.num_codes == 8 and outputs["generate_codebook"]["goal_states"] == xy.shape[0] == 500
    assert bool((book.codes[:, None, :] == xy[None]).all(-1).any(1).all())  # every code is exactly a data state
    assert outputs["generate_codebook"]["smallest_cluster"] >= 1


def test_pretrained_prior_beats_chance_and_low_level_predicts_actions(ptgm, pretrained, maze_file):
    from rlkit.data.ptgm_data import load_maze_goal_data

    run_dir, _, outputs = pretrained
    assert outputs["train_prior"]["accuracy"] > 0.3  # 8 codes: chance is 1/8
    policy, extra = ptgm["common"].load_net(run_dir / "lowlevel.pt")
    assert extra["goal_dims"] == [0, 1] and not policy.training
    batch = load_maze_goal_data(maze_file).sample_windows(512, 10, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        predicted = policy.mode(batch["observation"], batch["goal"])
    actions = batch["action"]
    # the data's actions are a controller's plus N(0, 0.5) noise: the net must explain part of them
    assert ((predicted - actions) ** 2).mean() < 0.85 * (actions**2).mean()


def test_high_level_run_writes_metrics_and_a_summary(ptgm, pretrained):
    run_dir, flags, _ = pretrained
    result = ptgm["train_hrl"].main([*flags, "--seed", "3"])
    out = run_dir / "hrl_ptgm_medium-bottom-right_s3"
    summary = json.loads((out / "summary.json").read_text())
    assert summary == json.loads(json.dumps(result))
    assert [e["env_steps"] for e in summary["evals"]][-1] >= 300
    assert all(0.0 <= e["success_rate"] <= 1.0 for e in summary["evals"])
    assert summary["train_episodes"] >= 5  # 300 env steps in episodes of at most 50
    metrics = read_metrics(out / "metrics.csv")
    assert np.isfinite(metrics["eval/success_rate"][~np.isnan(metrics["eval/success_rate"])]).all()
    assert np.nanmax(metrics["alpha"]) > 0  # the agent made updates and logged them


def test_no_prior_uses_a_uniform_prior_and_a_fresh_policy(ptgm, pretrained):
    run_dir, flags, _ = pretrained
    config = ptgm["config"].parse_args([*flags, "--no-prior"])
    _, _, agent = ptgm["train_hrl"].make_high_level(config)
    obs = torch.randn(5, 4)
    log_prior = agent.loss.prior_log_probs(obs)
    torch.testing.assert_close(log_prior, torch.full((5, 8), -math.log(8)))
    assert agent.loss.target_kl == pytest.approx(0.5 * math.log(8))
    prior_config = ptgm["config"].parse_args(flags)
    _, _, with_prior = ptgm["train_hrl"].make_high_level(prior_config)
    assert with_prior.loss.target_kl == 5.0
    torch.testing.assert_close(with_prior.loss.policy_log_probs(obs), with_prior.loss.prior_log_probs(obs))
    assert ptgm["train_hrl"].main([*flags, "--no-prior"])["method"] == "no_prior"


def test_flat_sac_runs_on_the_same_env_step_budget(ptgm, pretrained):
    run_dir, flags, _ = pretrained
    result = ptgm["train_hrl"].main([*flags, "--flat-sac", "--env-steps", "200", "--eval-every", "100"])
    assert result["method"] == "flat_sac" and [e["env_steps"] for e in result["evals"]] == [100, 200]
    metrics = read_metrics(run_dir / "hrl_flat_sac_medium-bottom-right_s0" / "metrics.csv")
    assert np.nanmax(metrics["alpha"]) > 0


def test_small_preset_fills_only_what_is_not_given(ptgm):
    config = ptgm["config"]
    small = config.parse_args(["--small", "--env-steps", "7"])
    assert small.env_steps == 7 and small.pretrain_steps == config.SMALL["pretrain_steps"]
    default = config.parse_args([])
    assert (default.num_codes, default.horizon, default.target_kl, default.kl_direction) == (50, 10, 5.0, "prior_pi")
    with pytest.raises(ValueError, match="--method 'ppo'"):
        config.parse_args(["--method", "ppo"])
    with pytest.raises(ValueError, match="--start 'corner'"):
        config.parse_args(["--start", "corner"])


def test_stages_out_of_order_and_too_few_states_say_what_to_do(ptgm, maze_file, tmp_path):
    flags = [*TINY, "--dataset", str(maze_file), "--run-dir", str(tmp_path / "empty")]
    with pytest.raises(FileNotFoundError, match="run examples/ptgm/generate_codebook.py"):
        ptgm["train_prior"].main(flags)
    with pytest.raises(DatasetError, match="500 goal states .* for 600 codes"):
        ptgm["generate_codebook"].main([*flags, "--num-codes", "600"])
