"""rlkit: reinforcement-learning building blocks on PyTorch, TorchRL and TensorDict."""

__version__ = "0.1.0"
