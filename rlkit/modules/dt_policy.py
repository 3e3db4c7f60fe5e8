"""Decision-transformer policies: a DT trunk plus an action head read at each state token.

``DeterministicDTPolicy`` (ODT+TD3, ``--stoc 0``): Linear + tanh, actions in (-1, 1).
``StochasticDTPolicy`` (ODT, ``--stoc 1``): a tanh-Gaussian whose log-std is squashed into
``[log_std_min, log_std_max]``. Both act with ``predict_last``, the (mean) action at the window's last position.
"""

from __future__ import annotations

import torch
from torch import nn

from rlkit.modules.distributions import TanhGaussian
from rlkit.modules.transformer import DecisionTransformer


class _DTPolicy(nn.Module):
    """Shared plumbing: the trunk, the head, and ``hidden`` (trunk outputs at the state tokens)."""

    def __init__(self, transformer: DecisionTransformer, act_dim: int, head_out: int) -> None:
        super().__init__()
        trunk_act_dim = getattr(transformer, "act_dim", act_dim)
        if trunk_act_dim != act_dim:
            raise ValueError(f"{type(self).__name__}: act_dim={act_dim} but the transformer embeds actions of dim "
                             f"{trunk_act_dim}")
        self.transformer = transformer
        self.act_dim = act_dim
        self.head = nn.Linear(transformer.embed_dim, head_out)

    def hidden(
        self,
        states: torch.Tensor,
        actions: torch.Tensor,
        returns_to_go: torch.Tensor,
        timesteps: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.transformer(states, actions, returns_to_go, timesteps, mask)

    def from_hidden(self, hidden: torch.Tensor):
        """The head's output (actions, or a distribution over them) for trunk outputs ``hidden``."""
        raise NotImplementedError

    def action_of(self, output) -> torch.Tensor:
        """The action to act with from ``from_hidden``'s output."""
        return output

    def forward(
        self,
        states: torch.Tensor,
        actions: torch.Tensor,
        returns_to_go: torch.Tensor,
        timesteps: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ):
        return self.from_hidden(self.hidden(states, actions, returns_to_go, timesteps, mask))

    def predict_last(
        self,
        states: torch.Tensor,
        actions: torch.Tensor,
        returns_to_go: torch.Tensor,
        timesteps: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The action ``(B, A)`` at the window's last position (the head runs on that position only)."""
        return self.action_of(self.from_hidden(self.hidden(states, actions, returns_to_go, timesteps, mask)[:, -1]))


class DeterministicDTPolicy(_DTPolicy):
    """``a_t = tanh(W h_t + b)`` at every position; ``forward`` returns ``(B, K, A)`` in (-1, 1).

    Example:
        >>> policy = DeterministicDTPolicy(DecisionTransformer(3, 2, embed_dim=16, n_layer=1, n_head=2), 2)
        >>> policy(torch.randn(4, 5, 3), torch.randn(4, 5, 2), torch.randn(4, 5, 1)).shape
        torch.Size([4, 5, 2])
    """

    def __init__(self, transformer: DecisionTransformer, act_dim: int) -> None:
        super().__init__(transformer, act_dim, act_dim)

    def from_hidden(self, hidden: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.head(hidden))


class StochasticDTPolicy(_DTPolicy):
    """A tanh-Gaussian per position: ``forward`` returns a ``TanhGaussian`` of batch shape ``(B, K)``, event ``(A,)``.

    The head outputs ``(mu, s)``; ``log_std = log_std_min + (log_std_max - log_std_min) (tanh(s) + 1) / 2`` keeps the
    standard deviation in ``[exp(log_std_min), exp(log_std_max)]`` with a smooth gradient, as in ODT.
    """

    def __init__(
        self,
        transformer: DecisionTransformer,
        act_dim: int,
        *,
        log_std_min: float = -5.0,
        log_std_max: float = 2.0,
    ) -> None:
        if not log_std_min < log_std_max:
            raise ValueError(f"StochasticDTPolicy: log_std_min ({log_std_min}) must be < log_std_max ({log_std_max})")
        super().__init__(transformer, act_dim, 2 * act_dim)
        self.log_std_min = log_std_min
        self.log_std_max = log_std_max

    def from_hidden(self, hidden: torch.Tensor) -> TanhGaussian:
        mu, raw_log_std = self.head(hidden).chunk(2, dim=-1)
        unit = 0.5 * (torch.tanh(raw_log_std) + 1.0)
        log_std = self.log_std_min + (self.log_std_max - self.log_std_min) * unit
        return TanhGaussian(mu, log_std.exp())

    def action_of(self, output: TanhGaussian) -> torch.Tensor:
        return output.mean  # tanh(mu): the deterministic action
