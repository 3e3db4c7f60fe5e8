"""TD3 twin Q critics for decision-transformer windows.

``TwinQCritic`` scores every token of a window independently: Q(s_t, a_t) from the (normalised) state and action only,
as the ODT+TD3 original. ``RecurrentTwinQCritic`` reads the (s, a) sequence with a GRU/LSTM instead, so Q at t may use
the history up to t (never after it).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from rlkit.modules.mlp import MLP


def _check_state_action(states: torch.Tensor, actions: torch.Tensor, state_dim: int, act_dim: int, who: str) -> None:
    if states.shape[-1:] != (state_dim,) or actions.shape[-1:] != (act_dim,) or states.shape[:-1] != actions.shape[:-1]:
        raise ValueError(f"{who}: expected states (..., {state_dim}) and actions (..., {act_dim}) with the same "
                         f"leading dims; got {tuple(states.shape)} and {tuple(actions.shape)}")


class TwinQCritic(nn.Module):
    """Two independent MLP critics ``(s, a) -> hidden_sizes -> 1``; ``forward`` returns ``(2, ..., 1)``.

    Any leading dims are allowed (``(B, S)`` transitions, ``(B, K, S)`` windows): each token is scored on its own.
    ``layer_norm=True`` inserts a parameter-free LayerNorm after each hidden Linear (the original's setting for
    Adroit, AntMaze and Maze2D).

    Example:
        >>> critic = TwinQCritic(3, 2, hidden_sizes=(32, 32))
        >>> critic(torch.randn(4, 5, 3), torch.randn(4, 5, 2)).shape
        torch.Size([2, 4, 5, 1])
    """

    def __init__(
        self,
        state_dim: int,
        act_dim: int,
        *,
        hidden_sizes: Sequence[int] = (256, 256),
        layer_norm: bool = False,
    ) -> None:
        super().__init__()
        self.state_dim = state_dim
        self.act_dim = act_dim
        self.q1 = MLP(state_dim + act_dim, 1, hidden_sizes, layer_norm=layer_norm)
        self.q2 = MLP(state_dim + act_dim, 1, hidden_sizes, layer_norm=layer_norm)

    def _inputs(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        _check_state_action(states, actions, self.state_dim, self.act_dim, type(self).__name__)
        return torch.cat((states, actions), dim=-1)

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        inputs = self._inputs(states, actions)
        return torch.stack((self.q1(inputs), self.q2(inputs)))

    def q1_value(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Q1 alone ``(..., 1)``: what TD3's actor loss needs, at half the cost of ``forward``."""
        return self.q1(self._inputs(states, actions))


class _SequenceQ(nn.Module):
    """One recurrent critic: an RNN over concatenated (s, a) steps and a Linear read-out per step."""

    def __init__(self, in_dim: int, hidden_size: int, num_layers: int, cell: str) -> None:
        super().__init__()
        rnn_class = {"gru": nn.GRU, "lstm": nn.LSTM}[cell]
        self.rnn = rnn_class(in_dim, hidden_size, num_layers=num_layers, batch_first=True)
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(inputs)[0])


class RecurrentTwinQCritic(nn.Module):
    """Two recurrent critics over the window's (s, a) sequence; ``forward`` returns ``(2, B, K, 1)``.

    With a ``mask`` the real steps of each row are first moved to the front in order (one gather), run through the
    RNN, and moved back: Q at a real step is exactly the RNN over the real steps up to it, whatever the padding holds
    and wherever it sits. Padded positions get Q = 0.
    """

    def __init__(
        self,
        state_dim: int,
        act_dim: int,
        *,
        hidden_size: int = 256,
        num_layers: int = 3,
        cell: str = "gru",
    ) -> None:
        super().__init__()
        if cell not in ("gru", "lstm"):
            raise ValueError(f"RecurrentTwinQCritic: cell must be 'gru' or 'lstm'; got {cell!r}")
        self.state_dim = state_dim
        self.act_dim = act_dim
        self.cell = cell
        self.q1 = _SequenceQ(state_dim + act_dim, hidden_size, num_layers, cell)
        self.q2 = _SequenceQ(state_dim + act_dim, hidden_size, num_layers, cell)

    def forward(self, states: torch.Tensor, actions: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        _check_state_action(states, actions, self.state_dim, self.act_dim, type(self).__name__)
        if states.dim() != 3:
            raise ValueError(f"RecurrentTwinQCritic: expected (B, K, S) windows; got states {tuple(states.shape)}")
        inputs = torch.cat((states, actions), dim=-1)
        if mask is None:
            return torch.stack((self.q1(inputs), self.q2(inputs)))
        if mask.shape != states.shape[:2] or mask.dtype != torch.bool:
            raise ValueError(f"RecurrentTwinQCritic: mask must be bool {tuple(states.shape[:2])}; got "
                             f"{mask.dtype} {tuple(mask.shape)}")
        # order: real steps first (in time order), then the padded ones; a stable sort keeps time order
        order = torch.sort((~mask).to(torch.uint8), dim=1, stable=True).indices  # (B, K)
        packed = inputs.gather(1, order[..., None].expand_as(inputs))
        q = torch.stack((self.q1(packed), self.q2(packed)))  # (2, B, K, 1) in packed order
        restored = torch.zeros_like(q).scatter(2, order[None, :, :, None].expand_as(q), q)
        return restored * mask[None, :, :, None]
