import numpy as np
import pytest
import torch

from rlkit.data.errors import DatasetError
from rlkit.data.feature_transitions import (
    FeatureBatchSampler,
    build_feature_transitions,
    relabel_rewards,
)
from rlkit.data.layout import transitions_from_arrays


def affine_features(obs):
    """phi(s) = [2 s, 1]: hand-checkable cumulants with the constant last dim GOM expects."""
    return torch.cat([2.0 * obs, torch.ones_like(obs[:, :1])], dim=1)


def _dataset():
    # two episodes by timeout (rows 0-2, 3-5); no next_observations, so rows 2 and 5 have no s'
    obs = np.array([[0, 1], [1, 2], [2, 3], [10, 0], [11, -1], [12, -2]], dtype=np.float32)
    timeouts = np.array([0, 0, 1, 0, 0, 1], bool)
    terminals = np.array([0, 1, 0, 0, 0, 0], bool)
    rewards = np.arange(6, dtype=np.float32)
    return transitions_from_arrays(obs, np.arange(12, dtype=np.float32).reshape(6, 2), rewards, terminals, timeouts)


def test_table_keeps_transitions_with_next_and_precomputes_phi():
    table = build_feature_transitions(_dataset(), affine_features, chunk_size=2, progress=False)
    data = table.data
    # row 1 terminated (its s' is row 2, still known); rows 2 and 5 end by timeout with no s'
    assert len(table) == 4 and table.obs_dim == 2 and table.act_dim == 2 and table.feature_dim == 3
    torch.testing.assert_close(data["observation"], torch.tensor([[0.0, 1], [1, 2], [10, 0], [11, -1]]))
    torch.testing.assert_close(data["next", "observation"], torch.tensor([[1.0, 2], [2, 3], [11, -1], [12, -2]]))
    torch.testing.assert_close(data["phi"], torch.tensor([[0.0, 2, 1], [2, 4, 1], [20, 0, 1], [22, -2, 1]]))
    torch.testing.assert_close(data["next", "phi"], affine_features(data["next", "observation"]))
    torch.testing.assert_close(data["next", "reward"], torch.tensor([[0.0], [1.0], [3.0], [4.0]]))
    assert data["next", "terminated"].dtype == torch.bool
    assert data["next", "terminated"].reshape(-1).tolist() == [False, True, False, False]
    # min/max over phi(s) only (not phi(s')), the bias dim forced to [0, 1]
    torch.testing.assert_close(table.feature_min, torch.tensor([0.0, -2.0, 0.0]))
    torch.testing.assert_close(table.feature_max, torch.tensor([22.0, 4.0, 1.0]))


def test_chunking_does_not_change_the_result():
    a = build_feature_transitions(_dataset(), affine_features, chunk_size=1, progress=False)
    b = build_feature_transitions(_dataset(), affine_features, chunk_size=1000, progress=False)
    assert (a.data == b.data).all()


def test_reward_relabelling_on_next_observation():
    def reward_fn(next_obs):
        return next_obs[:, 0] * 10  # (n,) is accepted

    table = build_feature_transitions(_dataset(), affine_features, reward_fn=reward_fn, progress=False)
    torch.testing.assert_close(table.data["next", "reward"], torch.tensor([[10.0], [20.0], [110.0], [120.0]]))
    again = relabel_rewards(table, lambda o: o[:, 1:2])
    torch.testing.assert_close(again.data["next", "reward"], torch.tensor([[2.0], [3.0], [-1.0], [-2.0]]))
    assert again.data["phi"].data_ptr() == table.data["phi"].data_ptr()
    torch.testing.assert_close(table.data["next", "reward"][:, 0], torch.tensor([10.0, 20.0, 110.0, 120.0]))


def test_kitchen_options_cut_observations_and_reproduce_next_equals_current():
    fixed = build_feature_transitions(_dataset(), affine_features, observation_dims=1, progress=False)
    assert fixed.obs_dim == 1
    torch.testing.assert_close(fixed.data["next", "phi"][:, 0], torch.tensor([2.0, 4.0, 22.0, 24.0]))
    buggy = build_feature_transitions(_dataset(), affine_features, observation_dims=1, next_is_current=True,
                                      progress=False)
    torch.testing.assert_close(buggy.data["next", "observation"], buggy.data["observation"])
    torch.testing.assert_close(buggy.data["next", "phi"], buggy.data["phi"])


def test_bad_features_are_reported():
    with pytest.raises(DatasetError, match=r"features returned shape \(4, 2, 2\)"):
        build_feature_transitions(_dataset(), lambda o: o[:, None].expand(-1, 2, -1), progress=False)
    with pytest.raises(DatasetError, match="NaN"):
        build_feature_transitions(_dataset(), lambda o: o / 0.0, progress=False)
    with pytest.raises(DatasetError, match=r"reward_fn returned shape \(4, 2\)"):
        build_feature_transitions(_dataset(), affine_features, reward_fn=lambda o: o, progress=False)
    with pytest.raises(DatasetError, match="observation_dims=3"):
        build_feature_transitions(_dataset(), affine_features, observation_dims=3, progress=False)


def test_sampler_covers_each_row_once_per_epoch_and_resumes_exactly():
    n = 10
    obs = torch.arange(n, dtype=torch.float32).reshape(n, 1)
    td = transitions_from_arrays(obs, torch.zeros(n, 1), torch.zeros(n), torch.zeros(n, dtype=torch.bool),
                                 torch.zeros(n, dtype=torch.bool), next_observations=obs + 1)
    table = build_feature_transitions(td, affine_features, progress=False)
    sampler = FeatureBatchSampler(table.data, batch_size=3, seed=0)
    epoch = torch.cat([sampler.sample()["observation"][:, 0] for _ in range(3)])
    assert len(set(epoch.tolist())) == 9  # drop_last: 3 batches of 3 distinct rows out of 10
    batch = sampler.sample()
    assert sampler.epoch == 1 and batch.batch_size == torch.Size([3])
    torch.testing.assert_close(batch["phi"][:, 0], 2 * batch["observation"][:, 0])  # rows stay aligned
    state = sampler.state_dict()
    expected = [sampler.sample()["observation"] for _ in range(5)]
    other = FeatureBatchSampler(table.data, batch_size=3, seed=123)
    other.load_state_dict(state)
    for want in expected:
        torch.testing.assert_close(other.sample()["observation"], want)
    with pytest.raises(ValueError, match="batch_size=11"):
        FeatureBatchSampler(table.data, batch_size=11)
