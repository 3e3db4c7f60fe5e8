"""Every D4RL dataset name and the file name D4RL downloads it to, as data.

D4RL saves a dataset under the last component of its download URL, in ``$D4RL_DATASET_DIR`` or
``~/.d4rl/datasets`` (``d4rl.offline_env.filepath_from_url``), so a user who once ran ``env.get_dataset()`` has e.g.
``~/.d4rl/datasets/hopper_medium-v2.hdf5`` for ``hopper-medium-v2``. The table holds, for every environment id that
d4rl registers with a ``dataset_url`` (d4rl's ``infos.py`` and the ``register`` calls of its sub-packages, deprecated
versions included), that file name. Some ids share a file (the Adroit ``-longhorizon`` ids read the ``-human`` file).
``rlkit.data.names`` resolves names with it and ``rlkit.data.d4rl_reference_scores`` covers the same names.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

D4RL_FILE_BASENAMES: Final[Mapping[str, str]] = MappingProxyType(
    {
        # Gym-MuJoCo v0 (deprecated by D4RL)
        "ant-expert-v0": "ant_expert.hdf5",
        "ant-medium-expert-v0": "ant_medium_expert.hdf5",
        "ant-medium-replay-v0": "ant_mixed.hdf5",
        "ant-medium-v0": "ant_medium.hdf5",
        "ant-random-expert-v0": "ant_random_expert.hdf5",
        "ant-random-v0": "ant_random.hdf5",
        "halfcheetah-expert-v0": "halfcheetah_expert.hdf5",
        "halfcheetah-medium-expert-v0": "halfcheetah_medium_expert.hdf5",
        "halfcheetah-medium-replay-v0": "halfcheetah_mixed.hdf5",
        "halfcheetah-medium-v0": "halfcheetah_medium.hdf5",
        "halfcheetah-random-v0": "halfcheetah_random.hdf5",
        "hopper-expert-v0": "hopper_expert.hdf5",
        "hopper-medium-expert-v0": "hopper_medium_expert.hdf5",
        "hopper-medium-replay-v0": "hopper_mixed.hdf5",
        "hopper-medium-v0": "hopper_medium.hdf5",
        "hopper-random-v0": "hopper_random.hdf5",
        "walker2d-expert-v0": "walker2d_expert.hdf5",
        "walker2d-medium-expert-v0": "walker2d_medium_expert.hdf5",
        "walker2d-medium-replay-v0": "walker_mixed.hdf5",
        "walker2d-medium-v0": "walker2d_medium.hdf5",
        "walker2d-random-v0": "walker2d_random.hdf5",
        # Gym-MuJoCo v1 (deprecated by D4RL)
        "ant-expert-v1": "ant_expert-v1.hdf5",
        "ant-full-replay-v1": "ant_full_replay-v1.hdf5",
        "ant-medium-expert-v1": "ant_medium_expert-v1.hdf5",
        "ant-medium-replay-v1": "ant_medium_replay-v1.hdf5",
        "ant-medium-v1": "ant_medium-v1.hdf5",
        "ant-random-v1": "ant_random-v1.hdf5",
        "halfcheetah-expert-v1": "halfcheetah_expert-v1.hdf5",
        "halfcheetah-full-replay-v1": "halfcheetah_full_replay-v1.hdf5",
        "halfcheetah-medium-expert-v1": "halfcheetah_medium_expert-v1.hdf5",
        "halfcheetah-medium-replay-v1": "halfcheetah_medium_replay-v1.hdf5",
        "halfcheetah-medium-v1": "halfcheetah_medium-v1.hdf5",
        "halfcheetah-random-v1": "halfcheetah_random-v1.hdf5",
        "hopper-expert-v1": "hopper_expert-v1.hdf5",
        "hopper-full-replay-v1": "hopper_full_replay-v1.hdf5",
        "hopper-medium-expert-v1": "hopper_medium_expert-v1.hdf5",
        "hopper-medium-replay-v1": "hopper_medium_replay-v1.hdf5",
        "hopper-medium-v1": "hopper_medium-v1.hdf5",
        "hopper-random-v1": "hopper_random-v1.hdf5",
        "walker2d-expert-v1": "walker2d_expert-v1.hdf5",
        "walker2d-full-replay-v1": "walker2d_full_replay-v1.hdf5",
        "walker2d-medium-expert-v1": "walker2d_medium_expert-v1.hdf5",
        "walker2d-medium-replay-v1": "walker2d_medium_replay-v1.hdf5",
        "walker2d-medium-v1": "walker2d_medium-v1.hdf5",
        "walker2d-random-v1": "walker2d_random-v1.hdf5",
        # Gym-MuJoCo v2
        "ant-expert-v2": "ant_expert-v2.hdf5",
        "ant-full-replay-v2": "ant_full_replay-v2.hdf5",
        "ant-medium-expert-v2": "ant_medium_expert-v2.hdf5",
        "ant-medium-replay-v2": "ant_medium_replay-v2.hdf5",
        "ant-medium-v2": "ant_medium-v2.hdf5",
        "ant-random-v2": "ant_random-v2.hdf5",
        "halfcheetah-expert-v2": "halfcheetah_expert-v2.hdf5",
        "halfcheetah-full-replay-v2": "halfcheetah_full_replay-v2.hdf5",
        "halfcheetah-medium-expert-v2": "halfcheetah_medium_expert-v2.hdf5",
        "halfcheetah-medium-replay-v2": "halfcheetah_medium_replay-v2.hdf5",
        "halfcheetah-medium-v2": "halfcheetah_medium-v2.hdf5",
        "halfcheetah-random-v2": "halfcheetah_random-v2.hdf5",
        "hopper-expert-v2": "hopper_expert-v2.hdf5",
        "hopper-full-replay-v2": "hopper_full_replay-v2.hdf5",
        "hopper-medium-expert-v2": "hopper_medium_expert-v2.hdf5",
        "hopper-medium-replay-v2": "hopper_medium_replay-v2.hdf5",
        "hopper-medium-v2": "hopper_medium-v2.hdf5",
        "hopper-random-v2": "hopper_random-v2.hdf5",
        "walker2d-expert-v2": "walker2d_expert-v2.hdf5",
        "walker2d-full-replay-v2": "walker2d_full_replay-v2.hdf5",
        "walker2d-medium-expert-v2": "walker2d_medium_expert-v2.hdf5",
        "walker2d-medium-replay-v2": "walker2d_medium_replay-v2.hdf5",
        "walker2d-medium-v2": "walker2d_medium-v2.hdf5",
        "walker2d-random-v2": "walker2d_random-v2.hdf5",
        # Maze2D (v0 deprecated; -dense and -eval variants)
        "maze2d-eval-large-dense-v1": "maze2d-eval-large-dense-v1.hdf5",
        "maze2d-eval-large-v1": "maze2d-eval-large-sparse-v1.hdf5",
        "maze2d-eval-medium-dense-v1": "maze2d-eval-medium-dense-v1.hdf5",
        "maze2d-eval-medium-v1": "maze2d-eval-medium-sparse-v1.hdf5",
        "maze2d-eval-umaze-dense-v1": "maze2d-eval-umaze-dense-v1.hdf5",
        "maze2d-eval-umaze-v1": "maze2d-eval-umaze-sparse-v1.hdf5",
        "maze2d-large-dense-v0": "maze2d-large-dense.hdf5",
        "maze2d-large-dense-v1": "maze2d-large-dense-v1.hdf5",
        "maze2d-large-v0": "maze2d-large-sparse.hdf5",
        "maze2d-large-v1": "maze2d-large-sparse-v1.hdf5",
        "maze2d-medium-dense-v0": "maze2d-medium-dense.hdf5",
        "maze2d-medium-dense-v1": "maze2d-medium-dense-v1.hdf5",
        "maze2d-medium-v0": "maze2d-medium-sparse.hdf5",
        "maze2d-medium-v1": "maze2d-medium-sparse-v1.hdf5",
        "maze2d-open-dense-v0": "maze2d-open-dense.hdf5",
        "maze2d-open-v0": "maze2d-open-sparse.hdf5",
        "maze2d-umaze-dense-v0": "maze2d-umaze-dense.hdf5",
        "maze2d-umaze-dense-v1": "maze2d-umaze-dense-v1.hdf5",
        "maze2d-umaze-v0": "maze2d-umaze-sparse.hdf5",
        "maze2d-umaze-v1": "maze2d-umaze-sparse-v1.hdf5",
        # AntMaze v0 (deprecated by D4RL; -eval variants)
        "antmaze-eval-large-diverse-v0": "Ant_maze_large_eval_noisy_multistart_True_multigoal_False_sparse.hdf5",
        "antmaze-eval-large-play-v0": "Ant_maze_large_eval_noisy_multistart_True_multigoal_True_sparse.hdf5",
        "antmaze-eval-medium-diverse-v0": "Ant_maze_medium_eval_noisy_multistart_True_multigoal_False_sparse.hdf5",
        "antmaze-eval-medium-play-v0": "Ant_maze_medium_eval_noisy_multistart_True_multigoal_True_sparse.hdf5",
        "antmaze-eval-umaze-diverse-v0": "Ant_maze_umaze_eval_noisy_multistart_True_multigoal_True_sparse.hdf5",
        "antmaze-eval-umaze-v0": "Ant_maze_umaze_eval_noisy_multistart_True_multigoal_False_sparse.hdf5",
        "antmaze-large-diverse-v0": "Ant_maze_hardest-maze_noisy_multistart_True_multigoal_True_sparse.hdf5",
        "antmaze-large-play-v0": "Ant_maze_hardest-maze_noisy_multistart_True_multigoal_False_sparse.hdf5",
        "antmaze-medium-diverse-v0": "Ant_maze_big-maze_noisy_multistart_True_multigoal_True_sparse.hdf5",
        "antmaze-medium-play-v0": "Ant_maze_big-maze_noisy_multistart_True_multigoal_False_sparse.hdf5",
        "antmaze-umaze-diverse-v0": "Ant_maze_u-maze_noisy_multistart_True_multigoal_True_sparse.hdf5",
        "antmaze-umaze-v0": "Ant_maze_u-maze_noisy_multistart_False_multigoal_False_sparse.hdf5",
        # AntMaze v1 (deprecated by D4RL)
        "antmaze-large-diverse-v1": "Ant_maze_large_noisy_multistart_True_multigoal_True_sparse.hdf5",
        "antmaze-large-play-v1": "Ant_maze_large_noisy_multistart_True_multigoal_False_sparse.hdf5",
        "antmaze-medium-diverse-v1": "Ant_maze_medium_noisy_multistart_True_multigoal_True_sparse.hdf5",
        "antmaze-medium-play-v1": "Ant_maze_medium_noisy_multistart_True_multigoal_False_sparse.hdf5",
        "antmaze-umaze-diverse-v1": "Ant_maze_umaze_noisy_multistart_True_multigoal_True_sparse.hdf5",
        "antmaze-umaze-v1": "Ant_maze_umaze_noisy_multistart_False_multigoal_False_sparse.hdf5",
        # AntMaze v2
        "antmaze-large-diverse-v2": "Ant_maze_hardest-maze_noisy_multistart_True_multigoal_True_sparse_fixed.hdf5",
        "antmaze-large-play-v2": "Ant_maze_hardest-maze_noisy_multistart_True_multigoal_False_sparse_fixed.hdf5",
        "antmaze-medium-diverse-v2": "Ant_maze_big-maze_noisy_multistart_True_multigoal_True_sparse_fixed.hdf5",
        "antmaze-medium-play-v2": "Ant_maze_big-maze_noisy_multistart_True_multigoal_False_sparse_fixed.hdf5",
        "antmaze-umaze-diverse-v2": "Ant_maze_u-maze_noisy_multistart_True_multigoal_True_sparse_fixed.hdf5",
        "antmaze-umaze-v2": "Ant_maze_u-maze_noisy_multistart_False_multigoal_False_sparse_fixed.hdf5",
        # Franka Kitchen
        "kitchen-complete-v0": "mini_kitchen_microwave_kettle_light_slider-v0.hdf5",
        "kitchen-mixed-v0": "kitchen_microwave_kettle_bottomburner_light-v0.hdf5",
        "kitchen-partial-v0": "kitchen_microwave_kettle_light_slider-v0.hdf5",
        # Adroit v0 (deprecated by D4RL)
        "door-cloned-v0": "door-demos-v0-bc-combined.hdf5",
        "door-expert-v0": "door-v0_expert_clipped.hdf5",
        "door-human-longhorizon-v0": "door-v0_demos_clipped.hdf5",
        "door-human-v0": "door-v0_demos_clipped.hdf5",
        "hammer-cloned-v0": "hammer-demos-v0-bc-combined.hdf5",
        "hammer-expert-v0": "hammer-v0_expert_clipped.hdf5",
        "hammer-human-longhorizon-v0": "hammer-v0_demos_clipped.hdf5",
        "hammer-human-v0": "hammer-v0_demos_clipped.hdf5",
        "pen-cloned-v0": "pen-demos-v0-bc-combined.hdf5",
        "pen-expert-v0": "pen-v0_expert_clipped.hdf5",
        "pen-human-longhorizon-v0": "pen-v0_demos_clipped.hdf5",
        "pen-human-v0": "pen-v0_demos_clipped.hdf5",
        "relocate-cloned-v0": "relocate-demos-v0-bc-combined.hdf5",
        "relocate-expert-v0": "relocate-v0_expert_clipped.hdf5",
        "relocate-human-longhorizon-v0": "relocate-v0_demos_clipped.hdf5",
        "relocate-human-v0": "relocate-v0_demos_clipped.hdf5",
        # Adroit v1
        "door-cloned-v1": "door-cloned-v1.hdf5",
        "door-expert-v1": "door-expert-v1.hdf5",
        "door-human-longhorizon-v1": "door-human-v1.hdf5",
        "door-human-v1": "door-human-v1.hdf5",
        "hammer-cloned-v1": "hammer-cloned-v1.hdf5",
        "hammer-expert-v1": "hammer-expert-v1.hdf5",
        "hammer-human-longhorizon-v1": "hammer-human-v1.hdf5",
        "hammer-human-v1": "hammer-human-v1.hdf5",
        "pen-cloned-v1": "pen-cloned-v1.hdf5",
        "pen-expert-v1": "pen-expert-v1.hdf5",
        "pen-human-longhorizon-v1": "pen-human-v1.hdf5",
        "pen-human-v1": "pen-human-v1.hdf5",
        "relocate-cloned-v1": "relocate-cloned-v1.hdf5",
        "relocate-expert-v1": "relocate-expert-v1.hdf5",
        "relocate-human-longhorizon-v1": "relocate-human-v1.hdf5",
        "relocate-human-v1": "relocate-human-v1.hdf5",
        # Flow
        "flow-merge-controller-v0": "flow-merge-v0-idm.hdf5",
        "flow-merge-random-v0": "flow-merge-v0-random.hdf5",
        "flow-ring-controller-v0": "flow-ring-v0-idm.hdf5",
        "flow-ring-random-v0": "flow-ring-v0-random.hdf5",
        # CARLA
        "carla-lane-render-v0": "carla_lane_follow-v0.hdf5",
        "carla-lane-v0": "carla_lane_follow_flat-v0.hdf5",
        "carla-town-full-v0": "carla_town_flat-v0.hdf5",
        "carla-town-render-v0": "carla_town_flat-v0.hdf5",
        "carla-town-v0": "carla_town_subsamp_flat-v0.hdf5",
        # MiniGrid
        "minigrid-fourrooms-random-v0": "minigrid4rooms_random.hdf5",
        "minigrid-fourrooms-v0": "minigrid4rooms.hdf5",
        # PyBullet
        "bullet-ant-expert-v0": "bullet-ant_expert.hdf5",
        "bullet-ant-medium-expert-v0": "bullet-ant_medium_expert.hdf5",
        "bullet-ant-medium-replay-v0": "bullet-ant_medium_replay.hdf5",
        "bullet-ant-medium-v0": "bullet-ant_medium.hdf5",
        "bullet-ant-random-v0": "bullet-ant_random.hdf5",
        "bullet-halfcheetah-expert-v0": "bullet-halfcheetah_expert.hdf5",
        "bullet-halfcheetah-medium-expert-v0": "bullet-halfcheetah_medium_expert.hdf5",
        "bullet-halfcheetah-medium-replay-v0": "bullet-halfcheetah_medium_replay.hdf5",
        "bullet-halfcheetah-medium-v0": "bullet-halfcheetah_medium.hdf5",
        "bullet-halfcheetah-random-v0": "bullet-halfcheetah_random.hdf5",
        "bullet-hopper-expert-v0": "bullet-hopper_expert.hdf5",
        "bullet-hopper-medium-expert-v0": "bullet-hopper_medium_expert.hdf5",
        "bullet-hopper-medium-replay-v0": "bullet-hopper_medium_replay.hdf5",
        "bullet-hopper-medium-v0": "bullet-hopper_medium.hdf5",
        "bullet-hopper-random-v0": "bullet-hopper_random.hdf5",
        "bullet-maze2d-large-v0": "bullet-maze2d-large-sparse.hdf5",
        "bullet-maze2d-medium-v0": "bullet-maze2d-medium-sparse.hdf5",
        "bullet-maze2d-open-v0": "bullet-maze2d-open-sparse.hdf5",
        "bullet-maze2d-umaze-v0": "bullet-maze2d-umaze-sparse.hdf5",
        "bullet-walker2d-expert-v0": "bullet-walker2d_expert.hdf5",
        "bullet-walker2d-medium-expert-v0": "bullet-walker2d_medium_expert.hdf5",
        "bullet-walker2d-medium-replay-v0": "bullet-walker2d_medium_replay.hdf5",
        "bullet-walker2d-medium-v0": "bullet-walker2d_medium.hdf5",
        "bullet-walker2d-random-v0": "bullet-walker2d_random.hdf5",
    }
)
"""D4RL dataset name -> the file name D4RL stores it under (the basename of its download URL)."""


def is_d4rl_name(name: str) -> bool:
    """True if ``name`` is a D4RL dataset name (an id d4rl registers with a dataset file)."""
    return name in D4RL_FILE_BASENAMES


def d4rl_file_basename(name: str) -> str | None:
    """The file name D4RL downloads ``name`` to, or None if ``name`` is not a D4RL dataset name."""
    return D4RL_FILE_BASENAMES.get(name)
