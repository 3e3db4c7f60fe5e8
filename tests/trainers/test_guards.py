"""check_finite names the step and every bad term."""

from __future__ import annotations

import math

import pytest
import torch
from tensordict import TensorDict

from rlkit.trainers.guards import NonFiniteLossError, check_finite


def test_finite_losses_pass():
    check_finite({"loss_actor": torch.tensor(1.0), "loss_q": torch.ones(3), "count": torch.tensor(2), "x": 0.5}, 3)


def test_names_bad_terms_and_step():
    losses = {"loss_actor": torch.tensor(float("nan")), "loss_critic": torch.tensor(2.0),
              "loss_alpha": torch.tensor([1.0, float("inf"), 0.0])}
    with pytest.raises(NonFiniteLossError) as info:
        check_finite(losses, step=1234)
    message = str(info.value)
    assert message.startswith("non-finite loss at step 1234: ")
    assert "loss_actor=nan" in message and "loss_alpha=1 non-finite of 3 values (shape (3,))" in message
    assert "loss_critic" not in message


def test_tensordict_nested_and_python_numbers():
    td = TensorDict({"loss": torch.tensor(0.1), "aux": {"kl": torch.tensor(float("-inf"))}}, [])
    with pytest.raises(NonFiniteLossError, match=r"step 5: aux\.kl=-inf"):
        check_finite(td, 5)
    with pytest.raises(NonFiniteLossError, match="step 6: bc=inf"):
        check_finite({"bc": math.inf, "ok": 1.0}, 6)
    with pytest.raises(TypeError, match="'loss' at step 7 is a str"):
        check_finite({"loss": "nan"}, 7)


def test_one_host_sync_for_all_terms(monkeypatch):
    calls = []
    original = torch.Tensor.__bool__

    def counting(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(torch.Tensor, "__bool__", counting)
    check_finite({f"loss_{i}": torch.tensor(float(i)) for i in range(10)}, 0)
    assert len(calls) == 1
