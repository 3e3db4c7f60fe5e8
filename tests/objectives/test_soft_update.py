import copy

import pytest
import torch

from rlkit.objectives import polyak_update_


def test_polyak_moves_parameters_and_float_buffers_by_tau_and_copies_integer_buffers():
    source = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    target = copy.deepcopy(source)
    with torch.no_grad():
        for p in target.parameters():
            p.zero_()
        target[1].running_mean.fill_(1.0)
        source[1].running_mean.fill_(3.0)
        source[1].num_batches_tracked.fill_(7)
    polyak_update_(target, source, 0.25)
    torch.testing.assert_close(target[0].weight, 0.25 * source[0].weight)
    torch.testing.assert_close(target[1].running_mean, torch.full((3,), 1.5))
    assert target[1].num_batches_tracked.item() == 7
    polyak_update_(target, source, 1.0)
    torch.testing.assert_close(target[0].bias, source[0].bias)


def test_polyak_rejects_mismatched_modules_and_bad_tau():
    with pytest.raises(ValueError, match="tau"):
        polyak_update_(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2), 1.5)
    with pytest.raises(ValueError, match="does not match"):
        polyak_update_(torch.nn.Linear(2, 3), torch.nn.Linear(2, 2), 0.1)
    with pytest.raises(ValueError, match="deepcopy"):
        polyak_update_(torch.nn.Linear(2, 2), torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)), 0.1)
