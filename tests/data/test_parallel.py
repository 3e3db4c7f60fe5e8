"""rlkit.data.generators.parallel: shards in order, the same result for any number of processes."""

import numpy as np
import pytest

from rlkit.data.generators.parallel import default_workers, generate_sharded, shard_rng


def make_shard(shard_index, seed, report):
    rng = shard_rng(seed, shard_index)
    for _ in range(3):
        report(10)
    return shard_index, rng.random(4)


def failing_shard(shard_index, seed, report):
    if shard_index == 2:
        raise RuntimeError(f"shard {shard_index} failed")
    return shard_index


def test_shard_streams_are_fixed_by_seed_and_index():
    a, b = shard_rng(0, 1).random(5), shard_rng(0, 1).random(5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(shard_rng(0, 1).random(5), shard_rng(0, 2).random(5))
    assert not np.array_equal(shard_rng(0, 1).random(5), shard_rng(1, 1).random(5))
    with pytest.raises(ValueError, match="shard_index"):
        shard_rng(0, -1)


def test_in_process_and_pool_give_identical_shards_in_order():
    serial = generate_sharded(make_shard, 4, seed=7, workers=1, progress=False)
    pooled = generate_sharded(make_shard, 4, seed=7, workers=2, progress=True, total_steps=120, desc="test")
    assert [index for index, _ in serial] == [0, 1, 2, 3]
    assert [index for index, _ in pooled] == [0, 1, 2, 3]
    for (_, a), (_, b) in zip(serial, pooled):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_shard_raises(workers):
    with pytest.raises(RuntimeError, match="shard 2 failed"):
        generate_sharded(failing_shard, 4, seed=0, workers=workers, progress=False)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_shards"):
        generate_sharded(make_shard, 0, seed=0)
    with pytest.raises(ValueError, match="workers"):
        generate_sharded(make_shard, 2, seed=0, workers=0)
    assert 1 <= default_workers(100) <= 100
    assert default_workers(1) == 1
