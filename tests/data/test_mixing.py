"""rlkit.data.mixing.MixedReplay: exact per-batch split, source tags, routing of writes and priorities, errors."""

import pytest
import torch
from tensordict import TensorDict
from torchrl.data import LazyTensorStorage, ReplayBuffer, TensorDictReplayBuffer

from rlkit.data.mixing import MixedReplay
from rlkit.data.prioritized import PrioritizedSampler


def buffer(values, capacity=100, sampler=None, **data):
    """A TensorDictReplayBuffer holding ``obs = values``; offline data is negative and online data positive."""
    rb = TensorDictReplayBuffer(storage=LazyTensorStorage(capacity), sampler=sampler, priority_key="td_error")
    if len(values):
        n = len(values)
        rb.extend(TensorDict({"obs": torch.as_tensor(values, dtype=torch.float32), **data}, [n]))
    return rb


def offline_online():
    return buffer(-torch.arange(1, 51)), buffer(torch.arange(1, 31))


@pytest.mark.parametrize(
    "batch_size, fraction, n_offline",
    [
        (256, 0.5, 128),
        (255, 0.5, 128),  # round half up: the extra row goes offline
        (10, 0.25, 3),  # 2.5 -> 3
        (4, 0.05, 1),  # 0.2 rounds to 0, but each side gets at least 1 row
        (4, 0.99, 3),  # 3.96 rounds to 4, but online keeps 1 row
        (8, 0.0, 0),
        (8, 1.0, 8),
        (1, 0.5, 1),  # one row cannot be split
    ],
)
def test_split_is_exact_per_batch_and_tags_match_the_source(batch_size, fraction, n_offline):
    mixed = MixedReplay(*offline_online(), offline_fraction=fraction)
    assert mixed.split(batch_size) == (n_offline, batch_size - n_offline)
    for _ in range(3):
        batch = mixed.sample(batch_size)
        assert batch.batch_size == (batch_size,)
        is_online = batch["is_online"]
        assert is_online.dtype == torch.bool
        assert is_online.tolist() == [False] * n_offline + [True] * (batch_size - n_offline)
        assert torch.equal(is_online, batch["obs"] > 0)  # every row came from the buffer its tag names


def test_fraction_can_be_annealed_between_samples():
    mixed = MixedReplay(*offline_online(), offline_fraction=0.5, batch_size=20)
    counts = []
    for fraction in (0.5, 0.25, 0.0):
        mixed.offline_fraction = fraction
        counts.append(int((~mixed.sample()["is_online"]).sum()))
    assert counts == [10, 5, 0]


def test_empty_online_buffer_gives_an_all_offline_batch():
    offline, _ = offline_online()
    mixed = MixedReplay(offline, buffer([]), offline_fraction=0.5, batch_size=16)
    batch = mixed.sample()
    assert not bool(batch["is_online"].any()) and bool((batch["obs"] < 0).all())
    mixed.offline_fraction = 0.0
    with pytest.raises(RuntimeError, match="offline_fraction is 0 .* online buffer is empty"):
        mixed.sample()


def test_empty_offline_buffer_is_an_error_when_it_must_supply_rows():
    _, online = offline_online()
    mixed = MixedReplay(buffer([]), online, offline_fraction=0.5)
    with pytest.raises(RuntimeError, match="8 of 16 rows must come from the offline buffer"):
        mixed.sample(16)
    mixed.offline_fraction = 0.0
    assert bool(mixed.sample(16)["is_online"].all())


def test_key_mismatch_names_the_keys():
    offline = buffer([-1.0, -2.0], reward=torch.zeros(2))
    online = buffer([1.0, 2.0], done=torch.zeros(2, dtype=torch.bool))
    mixed = MixedReplay(offline, online, 0.5)
    with pytest.raises(ValueError, match="only in the offline sample: reward; only in the online sample: done"):
        mixed.sample(4)
    online_float64 = TensorDictReplayBuffer(storage=LazyTensorStorage(4))
    online_float64.extend(TensorDict({"obs": torch.ones(2, dtype=torch.float64), "reward": torch.zeros(2)}, [2]))
    with pytest.raises(ValueError, match=r"obs: offline torch.float32 \(\) vs online torch.float64"):
        MixedReplay(offline, online_float64, 0.5).sample(4)
    # keys= keeps only the shared part
    batch = MixedReplay(offline, online, 0.5, keys=["obs"]).sample(4)
    assert set(batch.keys()) == {"obs", "is_online"}
    with pytest.raises(KeyError, match="no key"):
        MixedReplay(offline, online, 0.5, keys=["obs", "reward"]).sample(4)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.5", True, None])
def test_bad_fraction_is_rejected(bad):
    offline, online = offline_online()
    with pytest.raises(ValueError, match="offline_fraction must be a number in \\[0, 1\\]"):
        MixedReplay(offline, online, bad)
    mixed = MixedReplay(offline, online, 0.5)
    with pytest.raises(ValueError, match="offline_fraction"):
        mixed.offline_fraction = bad
    assert mixed.offline_fraction == 0.5


def test_bad_arguments_are_rejected():
    offline, online = offline_online()
    with pytest.raises(TypeError, match="offline must be a TorchRL replay buffer"):
        MixedReplay(torch.zeros(3), online)
    with pytest.raises(ValueError, match="batch_size"):
        MixedReplay(offline, online).sample()
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        MixedReplay(offline, online).sample(0)
    plain = ReplayBuffer(storage=LazyTensorStorage(10))
    plain.extend(torch.arange(5))
    with pytest.raises(TypeError, match="the offline buffer returned a Tensor"):
        MixedReplay(plain, online).sample(4)


def test_writes_go_to_the_online_buffer():
    offline, online = offline_online()
    mixed = MixedReplay(offline, online, 0.5)
    mixed.extend(TensorDict({"obs": torch.tensor([100.0, 101.0])}, [2]))
    mixed.add(TensorDict({"obs": torch.tensor(102.0)}, []))
    assert (len(offline), len(online), len(mixed)) == (50, 33, 83)
    assert mixed.write_count == online.write_count == 33
    assert mixed.storage is online.storage
    assert online.storage[torch.arange(30, 33)]["obs"].tolist() == [100.0, 101.0, 102.0]


def test_priorities_go_back_to_the_buffer_each_row_came_from():
    offline = buffer(-torch.arange(1.0, 5.0), capacity=4, sampler=PrioritizedSampler(4, alpha=1.0, beta=1.0))
    online = buffer(torch.arange(1.0, 7.0), capacity=6, sampler=PrioritizedSampler(6, alpha=1.0, beta=1.0))
    mixed = MixedReplay(offline, online, 0.5)
    batch = mixed.sample(64)
    batch["td_error"] = batch["obs"].abs().double() * 10  # a value that names the row
    mixed.update_tensordict_priority(batch)
    for rb, rows in ((offline, ~batch["is_online"]), (online, batch["is_online"])):
        index = batch["index"][rows].unique()
        obs = rb.storage[index]["obs"]
        torch.testing.assert_close(rb.sampler.tree[index], obs.abs().double() * 10, rtol=1e-6, atol=0)
    with pytest.raises(KeyError, match="is_online"):
        mixed.update_tensordict_priority(batch.exclude("is_online"))
