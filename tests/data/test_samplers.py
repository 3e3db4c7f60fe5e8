"""rlkit.data.samplers and rlkit.data.episode_index: transitions and left-padded windows, checked against references."""

import numpy as np
import pytest
import torch
from tensordict import TensorDict
from torchrl.data import LazyMemmapStorage, LazyTensorStorage, ListStorage, ReplayBuffer, TensorStorage

from rlkit.data import keys as K
from rlkit.data.episode_index import EpisodeTable, sample_window_ends
from rlkit.data.errors import DatasetError
from rlkit.data.layout import transitions_from_arrays
from rlkit.data.samplers import (
    TransitionSampler,
    WindowReplayBuffer,
    WindowSampler,
    episode_table_of,
    sample_windows,
    zero_padding_,
)

LENGTHS = (3, 1, 5)
# chi-square critical values at p = 0.001 (fixed seeds make each test deterministic; a wrong distribution over
# 20k samples lands far above these)
CHI2_CRIT_001 = {2: 13.82, 6: 22.46, 8: 26.12}


def make_data(lengths=LENGTHS, terminal_episodes=(1,), first_row=0):
    """Episodes of the given lengths; every value identifies its row (row r: observation [r+1, -(r+1)], ...).

    Episodes end by timeout (no next_observations, so their last row has has_next False) except those listed in
    ``terminal_episodes``, which terminate (has_next True).
    """
    n = sum(lengths)
    rows = np.arange(first_row, first_row + n, dtype=np.float32) + 1
    obs = np.stack([rows, -rows], axis=1)
    ends = np.cumsum(lengths) - 1
    term, timeout = np.zeros(n, bool), np.zeros(n, bool)
    for e, end in enumerate(ends):
        (term if e in terminal_episodes else timeout)[end] = True
    return transitions_from_arrays(obs, 10 * rows[:, None], 100 + rows, term, timeout)


def reference_window(lengths, end_row, window):
    """Pure-Python window ending at ``end_row``: (rows or None for padding, mask, timesteps)."""
    start = 0
    for length in lengths:
        if end_row < start + length:
            break
        start += length
    rows = [end_row - window + 1 + j for j in range(window)]
    return [r if r >= start else None for r in rows], [r >= start for r in rows], [max(r - start, 0) for r in rows]


def window_buffer(data, window, storage=None, seed=0, batch_size=64, **kwargs):
    storage = storage if storage is not None else TensorStorage(data)
    rb = WindowReplayBuffer(
        storage=storage,
        sampler=WindowSampler(window, **kwargs),
        batch_size=batch_size,
        generator=torch.Generator().manual_seed(seed),
    )
    if len(storage) == 0:
        rb.extend(data)
    return rb


def chi_square(counts, expected_p):
    counts = np.asarray(counts, dtype=np.float64)
    expected = counts.sum() * np.asarray(expected_p, dtype=np.float64)
    return float(((counts - expected) ** 2 / expected).sum())


# ---------------------------------------------------------------- episode table


def test_episode_table_hand_computed():
    table = EpisodeTable.from_episode_ids(torch.tensor([0, 0, 0, 1, 2, 2, 2, 2, 2]), torch.tensor([5, 6, 7] + [0] * 6))
    assert table.starts.tolist() == [0, 3, 4]
    assert table.lengths.tolist() == [3, 1, 5]
    assert table.first_steps.tolist() == [5, 0, 0]
    assert table.num_rows == 9 and table.num_episodes == 3
    assert table.episode_of(torch.arange(9)).tolist() == [0, 0, 0, 1, 2, 2, 2, 2, 2]


def test_episode_table_splits_runs_not_ids():
    # the same id in two separate runs (e.g. either side of a circular buffer's wrap) is two runs
    table = EpisodeTable.from_episode_ids(torch.tensor([[4], [4], [5], [4]]))
    assert table.starts.tolist() == [0, 2, 3]
    assert table.lengths.tolist() == [2, 1, 1]


@pytest.mark.parametrize(
    "episode, match",
    [
        (torch.zeros(0, dtype=torch.int64), "empty"),
        (torch.zeros(3), "integer"),
        (torch.zeros(3, 2, dtype=torch.int64), "shape"),
    ],
)
def test_episode_table_rejects_bad_columns(episode, match):
    with pytest.raises(DatasetError, match=match):
        EpisodeTable.from_episode_ids(episode)


# ---------------------------------------------------------------- windows: contents


@pytest.mark.parametrize("window", [1, 3, 7, 12])  # 12: longer than the whole dataset
def test_windows_match_pure_python_reference(window):
    data = make_data()
    sample = window_buffer(data, window, batch_size=300).sample()
    assert sample.batch_size == (300, window)
    obs = data[K.OBS].numpy()
    for b in range(300):
        end_row = int(sample["index"][b, -1])
        rows, mask, timesteps = reference_window(LENGTHS, end_row, window)
        expected_obs = np.stack([obs[r] if r is not None else np.zeros(2, np.float32) for r in rows])
        np.testing.assert_array_equal(sample[K.OBS][b].numpy(), expected_obs)
        assert sample[K.ACTION][b, :, 0].tolist() == [10.0 * (r + 1) if r is not None else 0.0 for r in rows]
        assert sample[K.REWARD][b, :, 0].tolist() == [100.0 + r + 1 if r is not None else 0.0 for r in rows]
        assert sample[K.EPISODE][b].tolist() == [int(data[K.EPISODE][r]) if r is not None else 0 for r in rows]
        assert sample[K.STEP][b].tolist() == timesteps
        assert sample[K.HAS_NEXT][b].tolist() == [bool(data[K.HAS_NEXT][r]) if r is not None else False for r in rows]
        assert sample["mask"][b].tolist() == mask
        first_real = next(r for r in rows if r is not None)  # padding points at the window's first real row
        assert sample["index"][b].tolist() == [r if r is not None else first_real for r in rows]
        assert sample["timestep"][b].tolist() == timesteps


@pytest.mark.parametrize("window", [4, 12])
def test_fast_path_gives_the_buffer_path_windows(window):
    data = make_data()
    from_buffer = window_buffer(data, window, seed=3, batch_size=200).sample()
    table = episode_table_of(data, source="test")
    direct = sample_windows(data, table, 200, window, generator=torch.Generator().manual_seed(3))
    assert (from_buffer.exclude("index") == direct).all()


def assert_windows_stay_in_one_episode(sample, window):
    mask, episode, step = sample["mask"], sample[K.EPISODE], sample[K.STEP]
    last_episode, last_step = episode[:, -1:], step[:, -1]
    assert (episode[mask] == last_episode.expand_as(episode)[mask]).all()
    assert (torch.diff(step, dim=1)[mask[:, :-1]] == 1).all()  # real positions are consecutive steps
    assert (mask.long().diff(dim=1) >= 0).all()  # padding only on the left
    assert ((~mask).sum(1) == (window - 1 - last_step).clamp(min=0)).all()
    padded = sample.exclude("index", "mask")[~mask]
    assert all((leaf == 0).all() for leaf in padded.values(include_nested=True, leaves_only=True))
    assert (sample["timestep"] == step).all()


@pytest.mark.parametrize("weighting", ["length", "uniform"])
def test_windows_never_cross_episodes_and_padding_is_zero(weighting):
    rng = np.random.default_rng(0)
    lengths = tuple(int(x) for x in rng.integers(1, 30, size=40))
    data = make_data(lengths, terminal_episodes=range(0, 40, 3))
    assert_windows_stay_in_one_episode(window_buffer(data, 8, batch_size=2000, episode_weighting=weighting).sample(), 8)
    table = episode_table_of(data, source="test")
    direct = sample_windows(data, table, 2000, 8, episode_weighting=weighting, generator=torch.Generator())
    assert_windows_stay_in_one_episode(direct, 8)


def test_fast_path_reads_memory_mapped_storage(tmp_path):
    data = make_data()
    storage = LazyMemmapStorage(20, scratch_dir=tmp_path)
    storage.set(torch.arange(9), data)
    stored = storage.get(slice(None))
    table = episode_table_of(stored, source="memmap")
    direct = sample_windows(stored, table, 100, 4, generator=torch.Generator().manual_seed(0))
    expected = sample_windows(data, table, 100, 4, generator=torch.Generator().manual_seed(0))
    assert (direct == expected).all()


def test_timesteps_continue_stored_steps_of_a_cut_episode():
    data = make_data((4, 2))
    data[K.STEP][:4] += 6  # the episode's first 6 rows are gone (e.g. overwritten): its stored rows are steps 6-9
    sample = window_buffer(data, 3, batch_size=200).sample()
    first_episode = sample[K.EPISODE][:, -1] == 0
    assert (sample["timestep"][first_episode] == sample[K.STEP][first_episode]).all()
    assert set(sample["timestep"][first_episode][:, -1].tolist()) == {6, 7, 8, 9}
    assert (sample["timestep"][first_episode & (sample[K.STEP][:, -1] == 6)][:, :2] == 0).all()


def test_zero_padding_keeps_real_positions():
    td = TensorDict({"x": torch.ones(2, 3, 4), "y": torch.ones(2, 3, dtype=torch.bool)}, batch_size=[2, 3])
    mask = torch.tensor([[False, True, True], [True, True, True]])
    zero_padding_(td, mask)
    assert td["x"].sum(-1).tolist() == [[0, 4, 4], [4, 4, 4]]
    assert td["y"].tolist() == mask.tolist()
    strided = TensorDict({"x": torch.ones(3, 2).t()}, batch_size=[2, 3])  # not contiguous: the masked_fill path
    zero_padding_(strided, mask)
    assert strided["x"].tolist() == mask.float().tolist()


# ---------------------------------------------------------------- windows: end distribution


def test_length_weighting_makes_every_step_an_equally_likely_end():
    table = EpisodeTable.from_episode_ids(make_data()[K.EPISODE])
    ends, episodes = sample_window_ends(table, 20_000, generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(ends, minlength=9).tolist()
    assert min(counts) > 0  # every step is reachable as a window end
    assert chi_square(counts, [1 / 9] * 9) < CHI2_CRIT_001[8]
    assert (episodes == table.episode_of(ends)).all()


def test_uniform_weighting_draws_episodes_uniformly():
    table = EpisodeTable.from_episode_ids(make_data()[K.EPISODE])
    ends, _ = sample_window_ends(table, 20_000, weighting="uniform", generator=torch.Generator().manual_seed(1))
    counts = torch.bincount(ends, minlength=9).tolist()
    expected = [1 / 9] * 3 + [1 / 3] + [1 / 15] * 5
    assert min(counts) > 0
    assert chi_square(counts, expected) < CHI2_CRIT_001[8]
    assert chi_square(counts, [1 / 9] * 9) > 1000  # the check tells the two weightings apart


def test_window_end_is_overridable():
    class LastStepOnly(WindowSampler):
        def _window_ends(self, table, batch_size):
            episodes = torch.randint(table.num_episodes, (batch_size,), generator=self._rng)
            return table.starts[episodes] + table.lengths[episodes] - 1, episodes

    rb = WindowReplayBuffer(storage=TensorStorage(make_data()), sampler=LastStepOnly(2), batch_size=100)
    assert set(rb.sample()["index"][:, -1].tolist()) == {2, 3, 8}


# ---------------------------------------------------------------- transitions


def test_transition_sampler_is_uniform_over_complete_transitions():
    data = make_data()  # has_next False at rows 2 and 8 (timeouts); row 3 terminates: kept
    rb = ReplayBuffer(
        storage=TensorStorage(data),
        sampler=TransitionSampler(),
        batch_size=20_000,
        generator=torch.Generator().manual_seed(0),
    )
    sample = rb.sample()
    assert sample[K.HAS_NEXT].all()
    rows = (sample[K.OBS][:, 0] - 1).long()
    counts = torch.bincount(rows, minlength=9)
    assert counts[[2, 8]].tolist() == [0, 0]
    valid = [0, 1, 3, 4, 5, 6, 7]
    assert chi_square(counts[valid].tolist(), [1 / 7] * 7) < CHI2_CRIT_001[6]


def test_transition_sampler_without_has_next_uses_every_row():
    data = TensorDict({"x": torch.arange(3)}, batch_size=[3])
    rb = ReplayBuffer(storage=TensorStorage(data), sampler=TransitionSampler(), batch_size=3000)
    counts = torch.bincount(rb.sample()["x"], minlength=3).tolist()
    assert chi_square(counts, [1 / 3] * 3) < CHI2_CRIT_001[2]


def test_transition_sampler_without_replacement_walks_each_row_once():
    sampler = TransitionSampler(replacement=False)
    rb = ReplayBuffer(storage=TensorStorage(make_data()), sampler=sampler, batch_size=3)
    batches = [b[K.OBS][:, 0].long().tolist() for b in rb]  # iteration stops when the pass ran out
    assert [len(b) for b in batches] == [3, 3, 1]
    assert sorted(sum(batches, [])) == [1, 2, 4, 5, 6, 7, 8]
    dropping = ReplayBuffer(
        storage=TensorStorage(make_data()), sampler=TransitionSampler(replacement=False, drop_last=True), batch_size=3
    )
    assert [len(b) for b in dropping] == [3, 3]


def test_transition_sampler_state_resumes_the_pass(tmp_path):
    storage = TensorStorage(make_data())
    first = TransitionSampler(replacement=False)
    seen = first.sample(storage, 4)[0].tolist()
    first.dumps(tmp_path / "sampler")
    second = TransitionSampler(replacement=False)
    second.loads(tmp_path / "sampler")
    rest = second.sample(storage, 4)[0].tolist()
    assert sorted(seen + rest) == [0, 1, 3, 4, 5, 6, 7] and second.ran_out


# ---------------------------------------------------------------- inside TorchRL buffers, with growth


def storage_of(kind, tmp_path, max_size=100):
    if kind == "tensor":
        return LazyTensorStorage(max_size)
    return LazyMemmapStorage(max_size, scratch_dir=tmp_path)


@pytest.mark.parametrize("kind", ["tensor", "memmap"])
def test_samplers_follow_a_growing_storage(kind, tmp_path):
    first, later = make_data((3, 1, 5)), make_data((2, 4), terminal_episodes=(), first_row=9)
    later[K.EPISODE] += 3
    transitions = ReplayBuffer(storage=storage_of(kind, tmp_path / "t"), sampler=TransitionSampler(), batch_size=500)
    windows = window_buffer(first, 3, storage=storage_of(kind, tmp_path / "w"), batch_size=500)
    transitions.extend(first)
    assert (transitions.sample()[K.OBS][:, 0] <= 9).all()
    assert windows.sample()["index"].max() <= 8
    transitions.extend(later)
    windows.extend(later)
    rows = set((transitions.sample()[K.OBS][:, 0] - 1).long().tolist())
    assert rows == {0, 1, 3, 4, 5, 6, 7, 9, 11, 12, 13}  # 10 and 14 end episodes by timeout
    sample = windows.sample()
    assert set(sample["index"][:, -1].tolist()) == set(range(15))
    new_episode = sample[K.EPISODE][:, -1] == 4  # rows 11-14
    assert (sample[K.EPISODE][new_episode][sample["mask"][new_episode]] == 4).all()
    assert (sample[K.OBS][new_episode][~sample["mask"][new_episode]] == 0).all()


def test_samplers_see_overwrites_of_a_full_circular_buffer():
    storage = LazyTensorStorage(9)
    transitions = ReplayBuffer(storage=storage, sampler=TransitionSampler(), batch_size=400)
    transitions.extend(make_data((3, 1, 5), terminal_episodes=(0, 1, 2)))  # all rows complete
    assert transitions.sample()[K.HAS_NEXT].all() and len(storage) == 9
    newer = make_data((2,), terminal_episodes=(), first_row=20)
    newer[K.EPISODE] += 3
    transitions.extend(newer)  # rows 0-1 overwritten, the length stays 9; row 1 now has has_next False
    sample = transitions.sample()
    assert sample[K.HAS_NEXT].all()
    assert set(sample[K.OBS][:, 0].tolist()) == {21.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0}
    windows = WindowReplayBuffer(storage=storage, sampler=WindowSampler(3), batch_size=400)
    sample = windows.sample()
    episode = sample[K.EPISODE]
    assert (episode[sample["mask"]] == episode[:, -1:].expand_as(episode)[sample["mask"]]).all()
    assert (episode[:, -1] == 3).sum() > 0 and (sample["index"][episode[:, -1] == 3] <= 1).all()


def test_same_generator_seed_same_samples():
    data = make_data()
    a, b = window_buffer(data, 3, seed=7).sample(), window_buffer(data, 3, seed=7).sample()
    assert (a == b).all()
    assert not (a["index"] == window_buffer(data, 3, seed=8).sample()["index"]).all()


# ---------------------------------------------------------------- errors


def test_clear_errors():
    with pytest.raises(ValueError, match="window=0"):
        WindowSampler(0)
    with pytest.raises(ValueError, match="episode_weighting='lenght'"):
        WindowSampler(3, episode_weighting="lenght")
    no_episode = TensorDict({"x": torch.zeros(4)}, batch_size=[4])
    with pytest.raises(DatasetError, match="no 'episode' key"):
        WindowReplayBuffer(storage=TensorStorage(no_episode), sampler=WindowSampler(2), batch_size=2).sample()
    with pytest.raises(TypeError, match="needs a TensorStorage"):
        TransitionSampler().sample(ListStorage(4), 2)
    with pytest.raises(RuntimeError, match="empty storage"):
        TransitionSampler().sample(LazyTensorStorage(4), 2)
    with pytest.raises(TypeError, match="needs a WindowSampler"):
        WindowReplayBuffer(storage=LazyTensorStorage(4), sampler=TransitionSampler(), batch_size=2)
    data = make_data()
    with pytest.raises(ValueError, match="rebuild the table"):
        sample_windows(data[:5], episode_table_of(data, source="test"), 4, 2)
    bad = make_data()
    bad[K.HAS_NEXT] = torch.ones(9, dtype=torch.int64)
    with pytest.raises(DatasetError, match="expected bool"):
        TransitionSampler().sample(TensorStorage(bad), 2)
