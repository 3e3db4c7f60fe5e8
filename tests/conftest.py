"""Suite-wide settings: one thread (a busy second process makes multi-thread torch very slow), no wandb network."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("WANDB_MODE", "disabled")

import torch  # noqa: E402

torch.set_num_threads(1)
