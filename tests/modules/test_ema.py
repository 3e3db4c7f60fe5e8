import pytest
import torch
from torch import nn

from rlkit.modules.ema import EMA


def test_update_is_the_original_rate_rule():
    online = nn.Linear(3, 2)
    ema = EMA(online, rate=0.9)
    old = {k: v.clone() for k, v in ema.target.state_dict().items()}
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
    ema.update()
    for name, p in online.named_parameters():
        torch.testing.assert_close(getattr(ema.target, name), 0.9 * old[name] + 0.1 * p)
    assert all(not p.requires_grad for p in ema.target.parameters())
    ema.copy_()
    torch.testing.assert_close(ema.target.weight, online.weight)


def test_explicit_target_and_mismatch():
    online, target = nn.Linear(3, 2), nn.Linear(3, 2)
    ema = EMA(online, rate=0.0, target=target)
    ema.update()  # rate 0: target becomes the source
    torch.testing.assert_close(target.weight, online.weight)
    with pytest.raises(ValueError, match="names or shapes"):
        EMA(online, target=nn.Linear(3, 3))
    with pytest.raises(ValueError, match="rate"):
        EMA(online, rate=1.5)
