"""examples/gom: the original's override syntax and defaults, bad overrides, a tiny train + resume + train_w run."""

from pathlib import Path

import numpy as np
import pytest
import torch

from rlkit.data.d4rl_io import save_d4rl
from rlkit.data.generators.maze2d import generate_maze2d
from tests.examples.example_modules import example_modules


@pytest.fixture(scope="module")
def gom_scripts():
    with example_modules("gom", ("config", "train", "train_w")) as modules:
        yield modules


def test_original_commands_parse_with_the_original_defaults(gom_scripts):
    parse_overrides = gom_scripts["config"].parse_overrides
    config = parse_overrides(["env_id=antmaze-umaze-v2", "exp_id=benchmark", "seed=0"])
    assert (config.env_id, config.exp_id, config.seed) == ("antmaze-umaze-v2", "benchmark", 0)
    assert config.training.batch_size == 2048 and config.training.num_steps == 100_000
    assert config.planning.planner == "guided_diffusion" and config.planning.guidance_coef == 0.5
    assert config.sampling.n_inference_steps == 50 and config.model.ema_rate == 0.995 and config.gamma == 0.99
    assert config.run_dir == Path("logdir/atrl/antmaze-umaze-v2/benchmark/0")
    rs = parse_overrides(["env_id=antmaze-umaze-v2", "planning.planner=random_shooting", "planning.num_elites=5"])
    assert rs.planning.planner == "random_shooting" and rs.planning.num_elites == 5
    kitchen = parse_overrides(["--config-name", "atrl_kitchen.yaml", "env_id=kitchen-partial-v0"])
    assert kitchen.planning.guidance_coef == 0.001 and kitchen.reward_max == 4.0
    small = parse_overrides(["config=small", "model.down_dims=[8,16]", "goal=0.5,-1", "eval.max_steps=null"])
    assert small.env_id == "maze2d-umaze-v1" and small.model.down_dims == (8, 16) and small.goal == (0.5, -1.0)
    assert small.eval.max_steps is None
    assert parse_overrides(["training.num_steps=1e3", "training.resume=true"]).training.num_steps == 1000


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["planning.planner=cem"], "planning.planner='cem'; expected one of"),
        (["nonsense=1"], "unknown key 'nonsense'"),
        (["planning.nope=1"], "planning has no field 'nope'"),
        (["seed=one"], "seed='one': expected int"),
        (["training.resume=maybe"], "expected bool"),
        (["env_id=hopper-medium-v2"], "env_id='hopper-medium-v2' is not supported"),
        (["--config-name", "atrl_nope"], "unknown config name"),
        (["seed"], "expected key=value"),
        (["planning=1"], "is a group"),
        (["goal=1,2,3"], "two coordinates"),
    ],
)
def test_bad_overrides_are_named(gom_scripts, argv, match):
    with pytest.raises(gom_scripts["config"].ConfigError, match=match):
        gom_scripts["config"].parse_overrides(argv)


TINY = [
    "config=small", "feat.dim=8", "feat.hidden_dim=16", "feat.groups=4", "model.embed_dim=16", "model.down_dims=16",
    "model.warmup_steps=2", "training.batch_size=32", "training.num_steps=12", "training.eval_every=12",
    "training.save_every=6", "training.log_every=6", "sampling.n_inference_steps=2", "eval.num_episodes=2",
    "eval.num_envs=2", "eval.max_steps=5", "planning.num_samples=4", "progress=false",
]


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    td, _ = generate_maze2d("umaze", 600, seed=0, progress=False)
    return save_d4rl(td, tmp_path_factory.mktemp("data") / "maze2d-tiny.hdf5")


def test_tiny_train_resume_and_train_w_end_to_end(gom_scripts, tiny_dataset, tmp_path):
    train, train_w = gom_scripts["train"], gom_scripts["train_w"]
    from rlkit.agents.gom import GOM
    from rlkit.trainers.logger import read_metrics

    common = [*TINY, f"dataset_path={tiny_dataset}", f"logdir={tmp_path / 'run'}"]
    out = train.main(common)
    gom = GOM.load(out["gom_path"])
    assert gom.obs_dim == 4 and gom.act_dim == 2 and gom.phi_dim == 9
    metrics = read_metrics(tmp_path / "run" / "metrics.csv")
    assert metrics["step"].tolist() == [5, 11]
    assert np.isfinite(metrics["train/loss_psi"]).all() and 0.0 <= metrics["eval/success"][-1] <= 1.0

    # resume from the step-6 checkpoint to 12 steps: the same weights as the uninterrupted run
    (tmp_path / "run" / "checkpoints" / "checkpoint_000000011.pt").unlink()
    again = train.main([*common, "training.resume=true"])
    resumed = GOM.load(again["gom_path"])
    for key, value in gom.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=0, msg=key)

    result = train_w.main([*common, "goal=0.5,-1", "planning.planner=random_shooting"])
    refit = GOM.load(result["gom_path"])
    assert result["w/r2"] > 0.0 and 0.0 <= result["eval/success"] <= 1.0
    for key, value in gom.state_dict().items():  # only w changed
        if key != "w":
            torch.testing.assert_close(refit.state_dict()[key], value, rtol=0, atol=0, msg=key)
    assert not torch.equal(refit.w, gom.w)


def test_train_w_rejects_a_gom_of_another_observation_size(gom_scripts, tiny_dataset, tmp_path):
    train_w = gom_scripts["train_w"]
    from rlkit.agents.gom import GOM

    low, high = -torch.ones(9), torch.ones(9)
    GOM(5, 2, low, high, gamma=0.97, num_frequencies=4, cumulant_hidden_dim=16, cumulant_groups=4, embed_dim=16,
        down_dims=(16,)).save(tmp_path / "odd.pt")
    with pytest.raises(ValueError, match="4-d observations; the GOM was trained on 5-d"):
        train_w.main([*TINY, f"dataset_path={tiny_dataset}", f"gom_path={tmp_path / 'odd.pt'}",
                      f"logdir={tmp_path}"])
