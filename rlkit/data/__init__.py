"""rlkit.data: read and write offline-RL datasets, sample them, and build them locally.

Names are imported lazily so that ``import rlkit.data`` stays fast; see each module for details.
"""

from __future__ import annotations

from rlkit.utils.lazy import lazy_exports

_EXPORTS = {
    # layout
    "transitions_from_arrays": "rlkit.data.layout",
    "validate_transitions": "rlkit.data.layout",
    "transitions_only": "rlkit.data.layout",
    "DatasetError": "rlkit.data.errors",
    "DatasetNotFoundError": "rlkit.data.errors",
    # files
    "load_d4rl": "rlkit.data.d4rl_io",
    "save_d4rl": "rlkit.data.d4rl_io",
    "load_d4rl_metadata": "rlkit.data.d4rl_io",
    "load_minari": "rlkit.data.minari_io",
    "resolve_dataset": "rlkit.data.names",
    "load_dataset": "rlkit.data.names",
    "normalized_score": "rlkit.data.scores",
    "rlkit_data_dir": "rlkit.data.paths",
    "default_dataset_path": "rlkit.data.paths",
    # building
    "register_dataset": "rlkit.data.registry",
    "registered_names": "rlkit.data.registry",
    "build_dataset": "rlkit.data.build",
    # sampling
    "TransitionSampler": "rlkit.data.samplers",
    "WindowSampler": "rlkit.data.samplers",
    "WindowReplayBuffer": "rlkit.data.samplers",
    "sample_windows": "rlkit.data.episode_index",
    "episode_table_of": "rlkit.data.episode_index",
    "EpisodeTable": "rlkit.data.episode_index",
    "PrioritizedSampler": "rlkit.data.prioritized",
    "SumTree": "rlkit.data.sum_tree",
    "MixedReplay": "rlkit.data.mixing",
    # normalisation
    "RunningMeanStd": "rlkit.data.normalizers",
    "ObservationNormalizer": "rlkit.data.normalizers",
    # BOReL: per-task folders, relabelling, hyper-states, collection
    "MetaDataset": "rlkit.data.task_folders",
    "load_task_folders": "rlkit.data.task_folders",
    "save_task_folders": "rlkit.data.task_folders",
    "read_task_folder": "rlkit.data.task_folders",
    "write_task_folder": "rlkit.data.task_folders",
    "to_trajectories": "rlkit.data.task_folders",
    "from_trajectories": "rlkit.data.task_folders",
    "task_folder_name": "rlkit.data.task_folders",
    "reward_relabel": "rlkit.data.meta_relabel",
    "policy_replay": "rlkit.data.meta_relabel",
    "relabel_hyper_states": "rlkit.data.hyper_states",
    "relabel_hyper_states_td": "rlkit.data.hyper_states",
    "HyperStates": "rlkit.data.hyper_states",
    "collect_meta_tasks": "rlkit.data.generators.meta_tasks",
    "collect_meta_dataset": "rlkit.data.generators.meta_tasks",
    # GOM: feature transitions
    "build_feature_transitions": "rlkit.data.feature_transitions",
    "FeatureTransitions": "rlkit.data.feature_transitions",
    "FeatureBatchSampler": "rlkit.data.feature_transitions",
    # PTGM: goal datasets
    "GoalDataset": "rlkit.data.ptgm_data",
    "load_maze_goal_data": "rlkit.data.ptgm_data",
    "load_kitchen_goal_data": "rlkit.data.ptgm_data",
    "check_goal_dims": "rlkit.data.ptgm_data",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
