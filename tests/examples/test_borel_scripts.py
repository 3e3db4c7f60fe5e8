"""examples/borel: typed flags, a tiny end-to-end run on the grid, and the clear errors on bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from rlkit.data.errors import DatasetError
from tests.examples.example_modules import example_modules

MODULES = ("config", "common", "train_single_agent", "train_vae_offline", "train_offline_agent", "online_training")
TINY = ["--num-train-tasks", "4", "--num-eval-tasks", "2", "--meta-episodes", "4", "--vae-epochs", "3",
        "--vae-trajs-per-task", "2", "--encoder-hidden", "16", "--num-iters", "2", "--rl-updates-per-iter", "5",
        "--batch-size", "16", "--hidden-sizes", "16", "16", "--progress", "false"]


@pytest.fixture(scope="module")
def scripts():
    """The example's modules, imported from their folder (they import each other as plain modules)."""
    with example_modules("borel", MODULES) as modules:
        yield modules


# ----------------------------------------------------------------------------------------------------------- flags
@pytest.mark.parametrize("words, expected", [([], True), (["false"], False), (["False"], False), (["0"], False),
                                             (["true"], True), (["yes"], True)])
def test_boolean_flags_are_typed(scripts, words, expected):
    args = scripts["config"].parse_args(["--hindsight-relabelling", *words])
    assert args.hindsight_relabelling is expected


def test_a_bad_boolean_is_rejected(scripts, capsys):
    with pytest.raises(SystemExit):
        scripts["config"].parse_args(["--hindsight-relabelling", "maybe"])
    assert "expected true or false" in capsys.readouterr().err


def test_defaults_small_and_given_flags_in_order_of_precedence(scripts):
    config = scripts["config"]
    full = config.parse_args(["--env-type", "point_robot_sparse"])
    assert (full.gamma, full.entropy_alpha, full.hidden_sizes, full.num_iters) == (0.9, 0.01, (128, 128), 5000)
    assert full.num_train_tasks == 80 and full.decode_reduction == "mean"
    small = config.parse_args(["--env-type", "point_robot_sparse", "--small"])
    assert small.num_iters == config.SMALL["point_robot_sparse"]["num_iters"] and small.gamma == 0.9
    given = config.parse_args(["--env-type", "point_robot_sparse", "--small", "--num-iters", "7"])
    assert given.num_iters == 7
    grid = config.parse_args(["--env-type", "gridworld"])
    assert (grid.action_embed, grid.reward_embed, grid.encoder_hidden, grid.hidden_sizes) == (0, 8, 64, (64, 64))


def test_unknown_env_type_lists_the_known_ones(scripts):
    with pytest.raises(ValueError, match="unknown --env-type 'half_cheetah'; known: gridworld, point_robot_sparse"):
        scripts["config"].parse_args(["--env-type", "half_cheetah"])


def test_out_of_range_values_name_the_flag(scripts):
    with pytest.raises(ValueError, match="--num-iters must be a positive int"):
        scripts["config"].parse_args(["--num-iters", "0"])
    with pytest.raises(ValueError, match="--gamma"):
        scripts["config"].parse_args(["--gamma", "1.5"])
    with pytest.raises(ValueError, match="--agent-beliefs must be relabelled or own; got 'mine'"):
        scripts["config"].parse_args(["--agent-beliefs", "mine"])
    with pytest.raises(ValueError, match="--agent-lr-schedule must be constant or cosine; got 'step'"):
        scripts["config"].parse_args(["--agent-lr-schedule", "step"])


# ------------------------------------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def grid_run(scripts, tmp_path_factory):
    root = tmp_path_factory.mktemp("borel")
    common = ["--env-type", "gridworld", "--data-dir", str(root / "data"), "--run-dir", str(root / "run"), *TINY]
    dataset = scripts["train_single_agent"].main(common)
    vae = scripts["train_vae_offline"].main(common)
    record = scripts["train_offline_agent"].main(common)
    return root, common, dataset, vae, record


def test_grid_end_to_end_writes_data_vae_agent_and_results(grid_run):
    root, _, dataset, vae, record = grid_run
    assert len(dataset) == 4 and len(list((root / "data").iterdir())) == 4
    assert Path(vae["vae_path"]) == root / "run" / "vae_rr.pt" and (root / "run" / "vae_rr.pt").is_file()
    assert (root / "run" / "agent_rr.pt").is_file()
    written = json.loads((root / "run" / "results_rr.json").read_text())
    evaluation = written["evaluation"]
    assert len(evaluation["success"]) == 4 and len(evaluation["per_task_return"]) == 2  # 4 episodes, 2 tasks
    assert len(written["curve"]) == 2 and "loss_q" in written["curve"][0]
    # held-out goals: none of the evaluation tasks has training data (the original's bug 7)
    train_goals = {tuple(t) for t in dataset.tasks.tolist()}
    assert not train_goals & {tuple(t) for t in evaluation["tasks"]}
    # returns are consistent with the grid's rewards: 15 steps of -0.1 or +1 each
    returns = np.array(evaluation["per_task_return"])
    assert ((returns >= -1.5 - 1e-9) & (returns <= 15 + 1e-9)).all()


def test_vae_for_another_env_type_is_rejected_before_training(scripts, grid_run, tmp_path):
    root, common, *_ = grid_run
    other = ["--env-type", "point_robot_sparse", "--data-dir", str(tmp_path / "pdata"), "--run-dir", str(tmp_path),
             *TINY]
    scripts["train_single_agent"].main(other)
    scripts["train_vae_offline"].main(other)
    wrong_vae = [*common, "--vae-path", str(tmp_path / "vae_rr.pt")]
    with pytest.raises(ValueError, match="trained for env_type='point_robot_sparse'.*gridworld"):
        scripts["train_offline_agent"].main(wrong_vae)
    wrong_data = [*common, "--data-dir", str(tmp_path / "pdata")]
    with pytest.raises(DatasetError, match="'action' has per-row shape \\(2,\\); expected \\(5,\\)"):
        scripts["train_vae_offline"].main(wrong_data)
    with pytest.raises(FileNotFoundError, match="no VAE checkpoint"):
        scripts["train_offline_agent"].main([*common, "--vae-path", str(tmp_path / "missing.pt")])


def test_relabel_fraction_sets_the_share_of_mixed_trajectories(scripts, grid_run):
    """--relabel-fraction f: a trajectory's first episodes come from another task with probability f (0: all own)."""
    _, common, *_ = grid_run
    config, helpers = scripts["config"], scripts["common"]
    assert config.parse_args(common).relabel_fraction == 1.0
    with pytest.raises(ValueError, match="--relabel-fraction must be in \\[0, 1\\]"):
        config.parse_args([*common, "--relabel-fraction", "1.5"])
    args = config.parse_args(common)
    dataset, family = helpers.load_dataset(args), helpers.family_of(args)
    own = [dataset.trajectories(i) for i in range(len(dataset))]
    for fraction in (0.0, 1.0):
        mixed = helpers.training_trajectories(dataset, family, True, args.seed, fraction)
        # per mixed trajectory: is it one of its task's own trajectories?
        is_own = torch.cat([(m["next_obs"][:, None] == o["next_obs"][None]).flatten(2).all(-1).any(1)
                            for m, o in zip(mixed, own)])
        assert bool(is_own.all()) if fraction == 0.0 else not bool(is_own.any())


def test_agent_on_the_originals_own_beliefs_trains_and_reports(scripts, grid_run, tmp_path):
    """--agent-beliefs own (the original's order: encode the stored data, then mix) runs end to end on the grid."""
    root, common, *_ = grid_run
    record = scripts["train_offline_agent"].main([*common, "--agent-beliefs", "own", "--run-dir", str(tmp_path),
                                                  "--vae-path", str(root / "run" / "vae_rr.pt")])
    assert record["args"]["agent_beliefs"] == "own"
    assert len(record["evaluation"]["success"]) == 4 and (tmp_path / "results_rr.json").is_file()
    # same seed, data and VAE as the fixture's default run: only the hyper-states differ, so the agents must differ
    own, default = (torch.load(path / "agent_rr.pt")["agent"] for path in (tmp_path, root / "run"))
    assert any(not torch.equal(own[name], default[name]) for name in default)


def test_grid_position_decoder_is_stored_and_rebuilt_from_the_checkpoint(scripts, grid_run, tmp_path):
    """--grid-reward-decoder position: r(z, s') (smooth in the cell) instead of 25 per-cell logits, kept on reload."""
    from rlkit.modules.belief import GridRewardDecoder, RewardDecoder

    _, common, *_ = grid_run
    argv = [*common, "--run-dir", str(tmp_path), "--grid-reward-decoder", "position"]
    scripts["train_vae_offline"].main(argv)
    args = scripts["config"].parse_args(argv)
    _, decoder, _, settings = scripts["common"].load_vae(tmp_path / "vae_rr.pt", args)
    assert settings["grid_reward_decoder"] == "position" and isinstance(decoder, RewardDecoder)
    cells = scripts["common"].build_vae(scripts["common"].vae_settings(scripts["config"].parse_args(common)))[1]
    assert isinstance(cells, GridRewardDecoder)
    with pytest.raises(ValueError, match="--grid-reward-decoder must be cells or position"):
        scripts["config"].parse_args([*common, "--grid-reward-decoder", "onehot"])


def test_tasks_that_disagree_in_dimensions_are_named(scripts, grid_run, tmp_path):
    root, common, *_ = grid_run
    data = tmp_path / "mixed"
    shutil.copytree(root / "data", data)
    folder = sorted(data.iterdir())[-1]
    obs = np.load(folder / "obs.npy")
    np.save(folder / "obs.npy", np.concatenate([obs, obs[:, :1]], axis=1))
    np.save(folder / "next_obs.npy", np.concatenate([obs, obs[:, :1]], axis=1))
    with pytest.raises(DatasetError, match=f"{folder.name}.*'observation' has per-row shape \\(3,\\)"):
        scripts["train_vae_offline"].main([*common, "--data-dir", str(data)])


def test_online_training_runs_and_reports_per_episode_results(scripts, tmp_path):
    record = scripts["online_training"].main([
        "--env-type", "gridworld", "--run-dir", str(tmp_path), *TINY, "--online-iters", "2",
        "--online-rollouts-per-iter", "2", "--online-init-rollouts", "2", "--online-vae-updates-per-iter", "2",
        "--online-rl-updates-per-iter", "3"])
    assert len(record["evaluation"]["success"]) == 4 and len(record["curve"]) == 2
    assert record["curve"][-1]["collected"] == (2 + 2 * 2) * 60  # init + 2 iterations x 2 meta-episodes of 60 steps
    assert record["curve"][-1]["vae"] == 4 and record["curve"][-1]["rl"] == 6
    assert json.loads((tmp_path / "online_results.json").read_text())["env_type"] == "gridworld"


# ------------------------------------------------------------------------------------------- cross-validation folds
def test_held_out_fold_collects_every_goal_trains_on_the_rest_and_evaluates_the_fold(scripts, tmp_path):
    from rlkit.envs.meta.task_folds import split_fold

    fold = ["--env-type", "gridworld", "--data-dir", str(tmp_path / "data"), "--run-dir", str(tmp_path / "run"),
            "--data-seed", "5", "--held-out-fold", "2", "--folds", "4", *TINY]
    collected = scripts["train_single_agent"].main(fold)
    assert len(collected) == 21  # every goal, whatever --num-train-tasks says
    args, helpers = scripts["config"].parse_args(fold), scripts["common"]
    family = helpers.family_of(args)
    train_goals, held_out = split_fold(family.goals, 2, 4, 5)
    assert len(held_out) == 5 and len(train_goals) == 16
    training = helpers.load_dataset(args)
    assert {tuple(t) for t in training.tasks.tolist()} == {tuple(g) for g in train_goals.tolist()}
    np.testing.assert_array_equal(helpers.training_goals(args, family), train_goals)  # the online variant's
    scripts["train_vae_offline"].main(fold)
    record = scripts["train_offline_agent"].main(fold)
    evaluated = record["evaluation"]["tasks"]
    assert sorted(map(tuple, evaluated)) == sorted(map(tuple, held_out.tolist()))
    assert len(record["evaluation"]["per_task_success"]) == 5


def test_held_out_fold_on_data_without_every_goal_names_the_missing_goals(scripts, grid_run):
    _, common, *_ = grid_run  # 4 goals collected without --held-out-fold
    with pytest.raises(DatasetError, match="--held-out-fold 0 trains on 15 goals, but the data have none for \\[\\["):
        scripts["train_vae_offline"].main([*common, "--held-out-fold", "0", "--folds", "4"])


def test_held_out_fold_flags_are_checked(scripts):
    parse = scripts["config"].parse_args
    assert parse([]).held_out_fold is None
    with pytest.raises(ValueError, match="--held-out-fold needs a finite task set"):
        parse(["--env-type", "point_robot_sparse", "--held-out-fold", "0"])
    with pytest.raises(ValueError, match="--held-out-fold must be in \\[0, 3\\] \\(--folds 4\\); got 4"):
        parse(["--held-out-fold", "4"])
    with pytest.raises(ValueError, match="--folds must be in \\[2, 21\\]"):
        parse(["--held-out-fold", "0", "--folds", "22"])


def test_online_training_on_a_fold_evaluates_exactly_the_fold(scripts, tmp_path):
    from rlkit.envs.meta.task_folds import split_fold

    record = scripts["online_training"].main([
        "--env-type", "gridworld", "--run-dir", str(tmp_path), *TINY, "--held-out-fold", "1", "--folds", "3",
        "--online-iters", "1", "--online-rollouts-per-iter", "1", "--online-init-rollouts", "1",
        "--online-vae-updates-per-iter", "1", "--online-rl-updates-per-iter", "1"])
    _, held_out = split_fold(scripts["common"].family_of(scripts["config"].parse_args([])).goals, 1, 3, 0)
    assert sorted(map(tuple, record["evaluation"]["tasks"])) == sorted(map(tuple, held_out.tolist()))
    assert len(held_out) == 7
