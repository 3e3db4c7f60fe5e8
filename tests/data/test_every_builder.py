"""Every registered dataset builds through ``build_dataset`` at a tiny size and loads back in rlkit's layout."""

import warnings

import pytest

from rlkit.data import build_dataset, load_d4rl, load_d4rl_metadata, registered_names, validate_transitions

# Tiny sizes: enough for each builder's own episode logic to run (an antmaze shard is whole 1000-step episodes, so
# its size is not the cost; the number of steps simulated is).
TINY_STEPS = {"antmaze": 600, "kitchen": 200, "maze2d": 400, "random": 300, "bandit": 16}


def tiny_steps(name: str) -> int:
    for family, steps in TINY_STEPS.items():
        if family in name:
            return steps
    return 300


@pytest.mark.parametrize("name", [n for n in registered_names() if not n.endswith("-medium-v2")])
def test_tiny_build_loads(name, tmp_path):
    steps = tiny_steps(name)
    path = tmp_path / f"{name}.hdf5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_dataset(name, out=path, steps=steps, seed=1, progress=False)
    td = load_d4rl(path)
    validate_transitions(td, source=str(path))
    assert td.batch_size[0] == steps
    metadata = load_d4rl_metadata(path)
    assert metadata["name"] == name and int(metadata["steps"]) == steps
