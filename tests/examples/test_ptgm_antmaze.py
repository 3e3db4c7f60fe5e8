"""examples/ptgm on AntMaze, tiny: antmaze-umaze-v2 data -> codebook, prior, low level -> a high-level run on an
antmaze-umaze task; a maze2d task with nets pretrained on ant data is refused."""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from tests.examples.example_modules import example_modules

MODULES = ("config", "common", "episodes", "flat_sac", "generate_codebook", "train_prior", "train_lowlevel",
           "train_hrl")
TINY = ["--num-codes", "8", "--pretrain-steps", "100", "--pretrain-batch-size", "32", "--hidden", "32",
        "--label-metric", "codebook", "--env-steps", "120", "--warmup", "3", "--batch-size", "4",
        "--critic-hidden", "16", "--eval-every", "120", "--eval-episodes", "1", "--max-episode-steps", "40",
        "--task", "antmaze-umaze-top-right", "--no-progress"]


@pytest.fixture(scope="module")
def ptgm():
    """The example's modules, imported from its folder (they import each other as plain modules)."""
    with example_modules("ptgm", MODULES) as modules:
        yield modules


@pytest.fixture(scope="module")
def pretrained(ptgm, tmp_path_factory):
    """A 2000-step antmaze-umaze-v2 file and stages 1-3 on it; returns (run_dir, flags, stage outputs)."""
    from rlkit.data.build import build_dataset

    path = tmp_path_factory.mktemp("data") / "antmaze-umaze-tiny.hdf5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_dataset("antmaze-umaze-v2", out=path, steps=2000, seed=0, progress=False)
    run_dir = tmp_path_factory.mktemp("run")
    flags = [*TINY, "--dataset", str(path), "--run-dir", str(run_dir)]
    outputs = {name: ptgm[name].main(flags) for name in ("generate_codebook", "train_prior", "train_lowlevel")}
    return run_dir, flags, outputs


def test_antmaze_data_pretrains_on_xy_goals_of_29_d_states(ptgm, pretrained):
    from rlkit.modules.codebook import GoalCodebook

    run_dir, _, outputs = pretrained
    assert outputs["generate_codebook"]["goal_dims"] == [0, 1]
    book = GoalCodebook.load(run_dir / "codebook.pt", goal_dim=2)
    assert float(book.codes.abs().max()) <= 6.0  # torso xy inside the U-maze's 12 m x 12 m interior
    policy, extra = ptgm["common"].load_net(run_dir / "lowlevel.pt")
    assert (policy.obs_dim, extra["layout"], extra["goal_dims"]) == (29, "antmaze", [0, 1])


def test_high_level_runs_the_ant_task_and_maze2d_tasks_are_refused(ptgm, pretrained):
    run_dir, flags, _ = pretrained
    result = ptgm["train_hrl"].main(flags)
    summary = json.loads((run_dir / "hrl_ptgm_antmaze-umaze-top-right_s0" / "summary.json").read_text())
    assert summary == json.loads(json.dumps(result))
    assert summary["evals"][-1]["env_steps"] >= 120 and summary["train_episodes"] >= 2  # episodes of <= 40 steps
    _, _, agent = ptgm["train_hrl"].make_high_level(ptgm["config"].parse_args(flags))
    assert agent.loss.prior_log_probs(torch.zeros(3, 29)).shape == (3, 8)
    with pytest.raises(ValueError, match="runs the point .* trained on antmaze data"):
        ptgm["train_hrl"].make_high_level(ptgm["config"].parse_args([*flags, "--task", "umaze-top-left"]))
