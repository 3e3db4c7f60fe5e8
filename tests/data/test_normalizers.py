"""RunningMeanStd / ObservationNormalizer: exact running statistics, inverse, clip, state, TensorDict use."""

from __future__ import annotations

import pytest
import torch
from tensordict import TensorDict
from tensordict.nn import TensorDictModule, TensorDictSequential

from rlkit.data.errors import DatasetError
from rlkit.data.normalizers import ObservationNormalizer, RunningMeanStd


def test_hand_computed_two_batches():
    rms = RunningMeanStd(1, dtype=torch.float64)
    rms.update(torch.tensor([[1.0], [3.0]], dtype=torch.float64))
    rms.update(torch.tensor([[5.0]], dtype=torch.float64))
    # rows 1, 3, 5: mean 3, population variance (4 + 0 + 4) / 3
    assert rms.mean.item() == pytest.approx(3.0, abs=1e-15)
    assert rms.var.item() == pytest.approx(8.0 / 3.0, abs=1e-15)
    assert rms.count.item() == 3 and rms.count.dtype == torch.int64


def test_matches_concatenated_statistics_for_any_batching():
    gen = torch.Generator().manual_seed(0)
    batches = [torch.randn(n, 3, generator=gen, dtype=torch.float64) * 4 + 7 for n in (1, 5, 17, 2, 64)]
    rms = RunningMeanStd(3, dtype=torch.float64)
    for batch in batches:
        rms.update(batch)
    everything = torch.cat(batches)
    torch.testing.assert_close(rms.mean, everything.mean(0), rtol=0, atol=1e-12)
    torch.testing.assert_close(rms.var, everything.var(0, correction=0), rtol=0, atol=1e-12)
    assert rms.count.item() == everything.shape[0]

    float32 = RunningMeanStd(3)  # float32 buffers, float64 merge
    for batch in batches:
        float32.update(batch.float())
    torch.testing.assert_close(float32.var, everything.var(0, correction=0).float(), rtol=1e-5, atol=1e-5)


def test_leading_dims_are_flattened_and_empty_batches_ignored():
    data = torch.arange(24.0).reshape(2, 3, 4)
    rms = RunningMeanStd(4)
    rms.update(data)
    rms.update(torch.zeros(0, 4))
    torch.testing.assert_close(rms.mean, data.reshape(-1, 4).mean(0))
    assert rms.count.item() == 6


def test_normalize_denormalize_clip_and_constant_features():
    data = torch.tensor([[0.0, 2.0], [4.0, 2.0]])
    rms = RunningMeanStd.from_data(data, epsilon=1e-8)
    out = rms.normalize(torch.tensor([[4.0, 2.0], [8.0, 2.0]]))
    torch.testing.assert_close(out, torch.tensor([[1.0, 0.0], [3.0, 0.0]]))  # std of column 0 is 2; column 1 constant
    torch.testing.assert_close(rms.denormalize(out), torch.tensor([[4.0, 2.0], [8.0, 2.0]]))
    clipped = RunningMeanStd.from_data(data, clip=2.5)
    assert clipped.normalize(torch.tensor([[8.0, 2.0]]))[0, 0].item() == 2.5


def test_state_dict_round_trip_and_dtype_cast_keeps_count():
    rms = RunningMeanStd.from_data(torch.randn(50, 3, generator=torch.Generator().manual_seed(1)))
    fresh = RunningMeanStd(3)
    fresh.load_state_dict(rms.state_dict())
    assert set(rms.state_dict()) == {"mean", "var", "count"}
    x = torch.randn(4, 3)
    assert torch.equal(fresh.normalize(x), rms.normalize(x)) and fresh.count.item() == 50
    assert rms.double().count.dtype == torch.int64


def test_bad_input_is_named():
    rms = RunningMeanStd((2, 3))
    with pytest.raises(ValueError, match=r"batch has shape \(5, 3\); expected \(\.\.\., 2, 3\)"):
        rms.update(torch.zeros(5, 3))
    with pytest.raises(ValueError, match="batch row 1 holds NaN"):
        rms.update(torch.tensor([[[0.0] * 3] * 2, [[float("nan")] * 3] * 2]))
    assert rms.count.item() == 0  # the bad batch changed nothing
    with pytest.raises(ValueError, match="clip must be > 0"):
        RunningMeanStd(2, clip=0.0)


def test_observation_normalizer_on_tensordicts():
    obs = torch.tensor([[1.0, 0.0], [3.0, 4.0]])
    td = TensorDict({"observation": obs, "next": {"observation": obs + 2}}, [2])
    norm = ObservationNormalizer.from_data(td)
    torch.testing.assert_close(norm.mean, torch.tensor([2.0, 2.0]))
    out = norm(td.clone())
    torch.testing.assert_close(out["observation"], torch.tensor([[-1.0, -1.0], [1.0, 1.0]]))
    torch.testing.assert_close(out["next", "observation"], torch.tensor([[1.0, 0.0], [3.0, 2.0]]))
    norm.update(td)  # reads "observation"
    assert norm.count.item() == 4

    policy = TensorDictSequential(
        ObservationNormalizer(2, in_keys=["observation"], out_keys=["observation_norm"]),
        TensorDictModule(lambda x: x.sum(-1, keepdim=True), in_keys=["observation_norm"], out_keys=["action"]),
    )
    assert policy(TensorDict({"observation": obs}, [2]))["action"].shape == (2, 1)
    with pytest.raises(DatasetError, match="no key 'pixels'"):
        ObservationNormalizer.from_data(td, in_keys=["pixels"])
