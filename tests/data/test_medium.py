"""medium-v2 builders on a tiny budget: dataset produced, training recorded in metadata, policy cache reused."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from rlkit.agents.td3_training import TD3TrainConfig
from rlkit.data import keys as K
from rlkit.data.generators import medium
from rlkit.data.registry import get_builder, registered_names

TINY = TD3TrainConfig(hidden_sizes=(16, 16), batch_size=32, start_steps=100, eval_interval=150, eval_episodes=1,
                      max_episode_steps=40)


@pytest.fixture
def tiny_hopper(monkeypatch, tmp_path):
    """A hopper spec with a tiny budget and the data dir in tmp_path; set ``target_return`` per test."""
    monkeypatch.setenv("RLKIT_DATA_DIR", str(tmp_path))

    def set_target(target_return: float) -> medium.MediumSpec:
        spec = medium.MediumSpec("Hopper-v5", target_return=target_return, max_train_steps=300, config=TINY)
        monkeypatch.setitem(medium.SPECS, "hopper", spec)
        return spec

    return set_target


def test_all_four_medium_names_are_registered():
    names = registered_names()
    for env in ("hopper", "halfcheetah", "walker2d", "ant"):
        assert f"{env}-medium-v2" in names


def test_build_reaching_a_tiny_target_records_training_and_reuses_the_cached_policy(tiny_hopper, tmp_path):
    spec = tiny_hopper(-1e9)  # any policy reaches it: training stops at the first evaluation
    build = get_builder("hopper-medium-v2").build
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "below target" warning when the target is reached
        td, meta = build(400, 0, progress=False)
    assert td.batch_size == torch.Size([400])
    assert td[K.OBS].shape == (400, 11) and td[K.ACTION].abs().max() <= 1.0
    assert meta["target_reached"] is True and meta["policy_training_steps"] == 150
    assert meta["policy_updates"] == 50 and np.isfinite(meta["policy_eval_return"])
    assert meta["learning_curve"] == [[150.0, meta["policy_eval_return"]]]
    assert meta["target_return"] == -1e9 and meta["policy_from_cache"] is False
    cache = medium.policy_cache_path(spec, 0)
    assert cache.exists() and cache.parent == tmp_path / "policies"

    td2, meta2 = build(400, 0, progress=False)
    assert meta2["policy_from_cache"] is True
    assert meta2["policy_eval_return"] == meta["policy_eval_return"]
    assert torch.equal(td2[K.ACTION], td[K.ACTION])  # same actor, same seed: same data

    other_seed = medium.policy_cache_path(spec, 1)
    other_settings = medium.policy_cache_path(medium.MediumSpec("Hopper-v5", 1.0, 300, TINY), 0)
    assert len({cache, other_seed, other_settings}) == 3


def test_budget_exhausted_below_target_warns_and_says_so(tiny_hopper):
    tiny_hopper(1e9)
    with pytest.warns(UserWarning, match="below the medium target"):
        td, meta = get_builder("hopper-medium-v2").build(200, 0, progress=False)
    assert td.batch_size == torch.Size([200])
    assert meta["target_reached"] is False and meta["policy_training_steps"] == 300
    assert [step for step, _ in meta["learning_curve"]] == [150.0, 300.0]


def test_rollout_noise_spreads_actions_around_the_actor(tiny_hopper):
    actor = torch.nn.Sequential(torch.nn.Linear(11, 3), torch.nn.Tanh())
    with torch.no_grad():
        actor[0].weight.zero_()
        actor[0].bias.fill_(0.0)
    policy = medium.NoisyActorPolicy(actor, 0.1)
    rng = np.random.default_rng(0)
    actions = np.stack([policy.act(np.zeros(11, np.float32), rng)[0] for _ in range(2000)])
    assert policy.act(np.zeros(11, np.float32), rng)[1] is None
    assert abs(actions.mean()) < 0.01 and actions.std() == pytest.approx(0.1, rel=0.05)


def test_build_dataset_writes_the_training_record_into_the_file(tiny_hopper, tmp_path):
    from rlkit.data.build import build_dataset
    from rlkit.data.d4rl_io import load_d4rl_metadata

    tiny_hopper(-1e9)
    path = build_dataset("hopper-medium-v2", out=tmp_path / "hopper-medium.hdf5", steps=200, progress=False)
    settings = load_d4rl_metadata(path)["settings"]
    assert bool(settings["target_reached"]) and int(settings["policy_training_steps"]) == 150
    assert float(settings["rollout_action_noise"]) == medium.ROLLOUT_ACTION_NOISE
