"""Local dataset generators; importing this package registers their names with ``rlkit.data.registry``.

- ``maze2d``: maze2d-{umaze,medium,large}[-dense]-v1 from a waypoint controller in gymnasium-robotics' PointMaze.
- ``antmaze``: antmaze-*-v2 from a CEM-tuned trotting gait walking maze waypoints in gymnasium-robotics' AntMaze.
- ``kitchen``: kitchen-{complete,partial,mixed}-v0 from a scripted controller in FrankaKitchen-v1.
- ``mujoco_random``: {hopper,halfcheetah,walker2d,ant}-random-v2 from uniform random actions in MuJoCo v5 envs.
- ``medium``: {hopper,halfcheetah,walker2d,ant}-medium-v2 from a TD3 policy trained online to a medium return.
"""

from rlkit.data.generators import antmaze, kitchen, maze2d, medium, mujoco_random

__all__ = ["maze2d", "mujoco_random", "medium", "antmaze", "kitchen"]
