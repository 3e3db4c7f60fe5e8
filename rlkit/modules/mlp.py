"""A plain multilayer perceptron: the building block of critics and small heads."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn


class MLP(nn.Sequential):
    """``in_dim -> hidden_sizes... -> out_dim`` with an activation after each hidden layer.

    ``layer_norm=True`` puts a parameter-free LayerNorm (no affine weights, as in the ODT+TD3 critics for
    Adroit/AntMaze/Maze2D) between each hidden Linear and its activation. Being an ``nn.Sequential``, the layers are
    indexable and a subclass can override ``forward`` without re-declaring them.

    Example:
        >>> net = MLP(4, 1, (32, 32), layer_norm=True)
        >>> net(torch.zeros(10, 4)).shape
        torch.Size([10, 1])
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden_sizes: Sequence[int],
        *,
        activation: Callable[[], nn.Module] = nn.ReLU,
        layer_norm: bool = False,
        output_activation: Callable[[], nn.Module] | None = None,
    ) -> None:
        sizes = [in_dim, *hidden_sizes, out_dim]
        bad = [size for size in sizes if not isinstance(size, int) or size <= 0]
        if bad:
            raise ValueError(f"MLP sizes must be positive ints; got in_dim={in_dim}, "
                             f"hidden_sizes={tuple(hidden_sizes)}, out_dim={out_dim}")
        layers: list[nn.Module] = []
        for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1]):
            layers.append(nn.Linear(fan_in, fan_out))
            if layer_norm:
                layers.append(nn.LayerNorm(fan_out, elementwise_affine=False))
            layers.append(activation())
        layers.append(nn.Linear(sizes[-2], out_dim))
        if output_activation is not None:
            layers.append(output_activation())
        super().__init__(*layers)
        self.in_dim = in_dim
        self.out_dim = out_dim

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.shape[-1] != self.in_dim:
            raise ValueError(f"MLP expected inputs with last dim {self.in_dim}; got shape {tuple(inputs.shape)}")
        return super().forward(inputs)
