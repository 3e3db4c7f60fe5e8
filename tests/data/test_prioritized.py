"""rlkit.data.sum_tree and rlkit.data.prioritized: tree against brute force, sampling law, weights, buffer hooks."""

import math

import pytest
import torch
from tensordict import TensorDict
from torchrl.data import LazyTensorStorage, ReplayBuffer, TensorDictReplayBuffer
from torchrl.data.replay_buffers.samplers import PrioritizedSampler as TorchRLPrioritizedSampler

from rlkit.data.prioritized import PrioritizedSampler
from rlkit.data.sum_tree import SumTree, last_write_wins

# --------------------------------------------------------------------------- sum tree


@pytest.mark.parametrize("branching", [2, 3, 16])
def test_find_matches_brute_force_cumsum_on_integer_priorities(branching):
    gen = torch.Generator().manual_seed(0)
    capacity = 1000  # not a power of any branching: exercises padded levels
    values = torch.randint(0, 5, (capacity,), generator=gen).double()  # zeros included; integers sum exactly
    tree = SumTree(capacity, branching=branching)
    tree.update(torch.arange(capacity), values)
    cumsum = values.cumsum(0)
    total = int(cumsum[-1])
    boundaries = torch.arange(total, dtype=torch.float64)  # every boundary, exactly on it
    interior = torch.rand(5000, generator=gen, dtype=torch.float64) * total
    for mass in (boundaries, interior):
        expected = torch.searchsorted(cumsum, mass, right=True)  # leaf i owns [cumsum[i-1], cumsum[i])
        found = tree.find(mass)
        assert torch.equal(found, expected)
        assert bool((values[found] > 0).all())
    assert tree.total().item() == total
    assert tree.min().item() == values.min().item()


def test_find_on_random_floats_lands_in_the_leaf_interval():
    gen = torch.Generator().manual_seed(1)
    values = torch.rand(4097, generator=gen, dtype=torch.float64) ** 4  # wide spread of magnitudes
    tree = SumTree(4097)
    tree.update(torch.arange(4097), values)
    cumsum = values.cumsum(0)
    mass = torch.rand(20000, generator=gen, dtype=torch.float64) * tree.total()
    found = tree.find(mass)
    upper = cumsum[found]
    lower = upper - values[found]
    tol = 1e-12 * cumsum[-1].item()
    assert bool(((lower - tol <= mass) & (mass < upper + tol)).all())


def test_random_updates_with_duplicates_match_a_sequential_reference():
    gen = torch.Generator().manual_seed(2)
    capacity = 300
    tree = SumTree(capacity, branching=4)
    reference = [None] * capacity  # None: never written
    for _ in range(200):
        index = torch.randint(0, capacity, (64,), generator=gen)  # 64 draws of 300: duplicates are common
        value = torch.rand(64, generator=gen, dtype=torch.float64)
        tree.update(index, value)
        for i, v in zip(index.tolist(), value.tolist()):  # a plain loop: the last write wins
            reference[i] = v
    written = torch.tensor([v is not None for v in reference])
    expected = torch.tensor([0.0 if v is None else v for v in reference], dtype=torch.float64)
    assert torch.equal(tree.written(), written)
    assert torch.equal(tree.leaves(), expected)
    assert tree.total().item() == pytest.approx(expected.sum().item(), rel=1e-12)
    assert tree.min().item() == expected[written].min().item()
    # incremental updates and a rebuild from the leaves give the same tree, bit for bit
    rebuilt = SumTree(capacity, branching=4)
    rebuilt.rebuild(expected, written)
    assert torch.equal(rebuilt._sum, tree._sum) and torch.equal(rebuilt._min, tree._min)


def test_duplicate_indices_last_write_wins_and_clear():
    tree = SumTree(8)
    tree.update(torch.tensor([3, 5, 3, 3]), torch.tensor([1.0, 2.0, 7.0, 4.0]))
    assert tree[torch.tensor([3, 5])].tolist() == [4.0, 2.0]
    assert tree.total().item() == 6.0 and tree.min().item() == 2.0
    tree.clear(torch.tensor([5]))
    assert tree.total().item() == 4.0 and tree.min().item() == 4.0
    tree.clear()
    assert tree.total().item() == 0.0 and math.isinf(tree.min().item())


def test_last_write_wins_keeps_the_last_value_of_each_index():
    index, value = last_write_wins(torch.tensor([3, 5, 3, 3, 0]), torch.tensor([1.0, 2.0, 7.0, 4.0, 9.0]))
    assert index.tolist() == [0, 3, 5] and value.tolist() == [9.0, 4.0, 2.0]


def test_find_never_returns_an_empty_leaf_past_the_total():
    tree = SumTree(100, branching=4)
    tree.update(torch.tensor([10, 40]), torch.tensor([1.0, 2.0]))
    found = tree.find(torch.tensor([0.0, 0.999, 1.0, 2.999, 3.0, 1e9, -5.0], dtype=torch.float64))
    assert found.tolist() == [10, 10, 40, 40, 40, 40, 10]


def test_tree_rejects_bad_input():
    tree = SumTree(10)
    with pytest.raises(IndexError, match="leaf index 10 is out of range"):
        tree.update(torch.tensor([1, 10]), torch.tensor([1.0, 1.0]))
    with pytest.raises(IndexError, match="-1"):
        tree.update(torch.tensor([-1]), 1.0)
    with pytest.raises(ValueError, match="2 indices but 3 values"):
        tree.update(torch.tensor([1, 2]), torch.tensor([1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="capacity"):
        SumTree(0)
    assert tree.total().item() == 0.0  # nothing half-written


# --------------------------------------------------------------------------- sampler


def make_buffer(priorities, alpha, beta, eps=0.0, seed=0, **sampler_kwargs):
    n = len(priorities)
    sampler = PrioritizedSampler(n, alpha=alpha, beta=beta, eps=eps, **sampler_kwargs)
    rb = TensorDictReplayBuffer(
        storage=LazyTensorStorage(n),
        sampler=sampler,
        priority_key="td_error",
        generator=torch.Generator().manual_seed(seed),
    )
    rb.extend(TensorDict({"obs": torch.arange(n, dtype=torch.float32), "td_error": torch.tensor(priorities)}, [n]))
    return rb, sampler


def test_passes_torchrl_prioritized_isinstance_checks():
    assert isinstance(PrioritizedSampler(4, 0.6, 0.4), TorchRLPrioritizedSampler)


def test_empirical_distribution_matches_priority_power_alpha():
    priorities = [0.1, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 8.0]
    alpha = 0.7
    rb, _ = make_buffer(priorities, alpha=alpha, beta=0.5)
    n = 50_000
    index = rb.sample(n)["index"]
    counts = torch.bincount(index, minlength=8).double()
    p = torch.tensor(priorities, dtype=torch.float64) ** alpha
    expected = n * p / p.sum()
    chi2 = ((counts - expected) ** 2 / expected).sum().item()
    assert chi2 < 29.9  # chi-square, 7 degrees of freedom, p = 1e-4


def test_importance_weights_hand_computed_for_three_items():
    # alpha = 0.5: P = [1, sqrt 2, 2] / (3 + sqrt 2); beta = 1: w_i / max w = P_min / P_i = [1, 1/sqrt 2, 1/2]
    rb, _ = make_buffer([1.0, 2.0, 4.0], alpha=0.5, beta=1.0)
    batch = rb.sample(300)
    expected = torch.tensor([1.0, 2**-0.5, 0.5])[batch["index"]]
    assert batch["priority_weight"].dtype == torch.float32
    torch.testing.assert_close(batch["priority_weight"], expected)
    assert set(batch["index"].tolist()) == {0, 1, 2}
    # the same from the definition (N P(i))^-beta / max_j (N P(j))^-beta, with beta = 0.4
    rb.sampler.beta = 0.4
    batch = rb.sample(50)
    prob = torch.tensor([1.0, 2**0.5, 2.0]) / (3 + 2**0.5)
    w = (3 * prob) ** -0.4
    torch.testing.assert_close(batch["priority_weight"], (w / w.max())[batch["index"]])


def test_new_items_get_the_largest_priority_seen():
    sampler = PrioritizedSampler(10, alpha=0.5, beta=1.0, eps=0.0)
    rb = TensorDictReplayBuffer(storage=LazyTensorStorage(10), sampler=sampler, priority_key="td_error")
    rb.extend(TensorDict({"obs": torch.zeros(3)}, [3]))  # no priority yet: 1.0
    assert sampler.default_priority == 1.0
    rb.update_priority(torch.tensor([0, 1, 2]), torch.tensor([3.0, 9.0, 0.5]))
    assert sampler.default_priority == 9.0
    rb.update_priority(torch.tensor([1]), torch.tensor([0.1]))  # running max keeps 9 (TorchRL's default)
    rb.extend(TensorDict({"obs": torch.zeros(2)}, [2]))
    assert sampler.tree[torch.tensor([3, 4])].tolist() == [3.0, 3.0]  # 9 ** 0.5
    rb.add(TensorDict({"obs": torch.zeros(())}, []))
    assert sampler.tree[torch.tensor([5])].item() == 3.0


def test_new_items_with_max_priority_within_buffer():
    sampler = PrioritizedSampler(4, alpha=1.0, beta=1.0, eps=0.0, max_priority_within_buffer=True)
    rb = TensorDictReplayBuffer(storage=LazyTensorStorage(4), sampler=sampler, priority_key="td_error")
    rb.extend(TensorDict({"obs": torch.zeros(4), "td_error": torch.tensor([9.0, 2.0, 3.0, 1.0])}, [4]))
    rb.extend(TensorDict({"obs": torch.zeros(1)}, [1]))  # overwrites slot 0 (priority 9): max of the others
    assert sampler.tree[torch.tensor([0])].item() == 3.0


def test_update_tensordict_priority_round_trip():
    rb, sampler = make_buffer([1.0, 1.0, 1.0, 1.0], alpha=1.0, beta=1.0, seed=3)
    batch = rb.sample(16)
    batch["td_error"] = batch["index"].double() * 10 + 1  # priority of row i becomes 10 i + 1
    rb.update_tensordict_priority(batch)
    seen = batch["index"].unique()
    assert sampler.tree[seen].tolist() == (seen.double() * 10 + 1).tolist()
    counts = torch.bincount(rb.sample(20_000)["index"], minlength=4).double()
    prob = torch.ones(4, dtype=torch.float64)
    prob[seen] = seen.double() * 10 + 1
    torch.testing.assert_close(counts / 20_000, prob / prob.sum(), atol=0.015, rtol=0)


def test_state_dict_round_trip_gives_identical_samples():
    rb, sampler = make_buffer([0.3, 2.0, 1.0, 5.0, 0.7], alpha=0.6, beta=0.4, eps=1e-3)
    rb.update_priority(torch.tensor([1, 4]), torch.tensor([0.2, 6.0]))
    state = sampler.state_dict()
    fresh = PrioritizedSampler(5, alpha=0.1, beta=0.9)
    fresh.load_state_dict(state)
    storage = rb.storage
    sampler._rng = torch.Generator().manual_seed(7)
    fresh._rng = torch.Generator().manual_seed(7)
    for _ in range(3):
        index_a, info_a = sampler.sample(storage, 64)
        index_b, info_b = fresh.sample(storage, 64)
        assert torch.equal(index_a, index_b)
        assert torch.equal(info_a["priority_weight"], info_b["priority_weight"])
    assert torch.equal(fresh.tree._sum, sampler.tree._sum)
    assert fresh.default_priority == sampler.default_priority == 6.0
    with pytest.raises(ValueError, match="max_capacity=5"):
        PrioritizedSampler(6, 0.6, 0.4).load_state_dict(state)


def test_replay_buffer_dumps_and_loads_resume_sampling(tmp_path):
    rb, _ = make_buffer([0.3, 2.0, 1.0, 5.0, 0.7], alpha=0.6, beta=0.4, seed=11)
    rb.sample(8)
    rb.dumps(tmp_path / "rb")
    restored = TensorDictReplayBuffer(
        storage=LazyTensorStorage(5), sampler=PrioritizedSampler(5, alpha=0.6, beta=0.4), priority_key="td_error"
    )
    restored.loads(tmp_path / "rb")
    a, b = rb.sample(32), restored.sample(32)
    assert torch.equal(a["index"], b["index"]) and torch.equal(a["priority_weight"], b["priority_weight"])


def test_changing_alpha_rebuilds_the_tree_exactly():
    rb, sampler = make_buffer([0.3, 2.0, 1.0, 5.0], alpha=1.0, beta=0.4, eps=1e-3)
    sampler.alpha = 0.25
    _, direct = make_buffer([0.3, 2.0, 1.0, 5.0], alpha=0.25, beta=0.4, eps=1e-3)
    assert torch.equal(sampler.tree._sum, direct.tree._sum)


def test_plain_replay_buffer_and_prefilled_storage():
    storage = LazyTensorStorage(6)
    storage.set(torch.arange(4), TensorDict({"obs": torch.arange(4.0)}, [4]))  # data before the buffer exists
    rb = ReplayBuffer(storage=storage, sampler=PrioritizedSampler(6, 0.6, 0.4), batch_size=100)
    data, info = rb.sample(return_info=True)
    assert set(info["index"].tolist()) == {0, 1, 2, 3}  # every prefilled item got a priority, nothing past 3
    assert torch.equal(info["priority_weight"], torch.ones(100))  # all equal priorities


def test_storage_with_two_dims_uses_coordinates():
    sampler = PrioritizedSampler(8, alpha=1.0, beta=1.0, eps=0.0)
    rb = TensorDictReplayBuffer(storage=LazyTensorStorage(8, ndim=2), sampler=sampler, priority_key="td_error")
    rb.extend(TensorDict({"obs": torch.arange(8.0).view(2, 4)}, [2, 4]))
    assert tuple(rb.storage.shape) == (4, 2)  # TorchRL stores the time dim first
    batch = rb.sample(40)
    assert batch["index"].shape == (40, 2)
    assert torch.equal(batch["obs"], rb.storage[batch["index"][:, 0], batch["index"][:, 1]]["obs"])
    rb.update_priority(torch.tensor([[1, 1]]), torch.tensor([5.0]))  # row-major flat index 1 * 2 + 1 = 3
    assert sampler.tree.leaves().tolist() == [1.0] * 3 + [5.0] + [1.0] * 4
    coords = rb.sample(4000)["index"]
    flat = coords[:, 0] * 2 + coords[:, 1]
    assert abs((flat == 3).double().mean().item() - 5 / 12) < 0.03


def test_sampler_rejects_bad_input():
    rb, sampler = make_buffer([1.0, 2.0, 3.0], alpha=0.5, beta=0.5)
    with pytest.raises(ValueError, match="priority -1.0 at index 1"):
        rb.update_priority(torch.tensor([0, 1]), torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="priority nan at index 2"):
        rb.update_priority(torch.tensor([2]), torch.tensor([float("nan")]))
    with pytest.raises(IndexError, match=r"index 3 is out of range \[0, 3\): max_capacity is 3"):
        rb.update_priority(torch.tensor([3]), torch.tensor([1.0]))
    roomy = TensorDictReplayBuffer(storage=LazyTensorStorage(10), sampler=PrioritizedSampler(10, 0.5, 0.5))
    roomy.extend(TensorDict({"obs": torch.zeros(3)}, [3]))
    with pytest.raises(IndexError, match=r"index 5 is out of range \[0, 3\): the storage holds 3 item"):
        roomy.update_priority(torch.tensor([5]), torch.tensor([1.0]))
    with pytest.raises(IndexError, match="index -2 is out of range"):  # only -1 means "skip"
        roomy.update_priority(torch.tensor([-2]), torch.tensor([1.0]))
    with pytest.raises(ValueError, match="probability 0"):
        rb.update_priority(torch.tensor([0]), torch.tensor([0.0]))  # eps = 0
    with pytest.raises(ValueError, match="2 indices but priority of shape"):
        rb.update_priority(torch.tensor([0, 1]), torch.tensor([1.0, 2.0, 3.0]))
    assert sampler.tree.leaves().tolist() == pytest.approx([1.0, 2.0**0.5, 3.0**0.5])  # nothing half-written
    rb.update_priority(torch.tensor([-1, 2]), torch.tensor([7.0, 4.0]))  # -1: skipped (TorchRL's MaxValueWriter)
    assert sampler.tree[torch.tensor([2])].item() == 2.0
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        PrioritizedSampler(3, alpha=-1.0, beta=0.5)
    with pytest.raises(ValueError, match="beta"):
        sampler.beta = float("inf")
    empty = TensorDictReplayBuffer(storage=LazyTensorStorage(3), sampler=PrioritizedSampler(3, 0.5, 0.5))
    with pytest.raises(RuntimeError, match="empty storage"):
        empty.sample(2)
