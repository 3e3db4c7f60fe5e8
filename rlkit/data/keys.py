"""TensorDict keys of rlkit's transition layout (TorchRL conventions), in one place.

Every loader returns, and every sampler, writer and generator reads, a TensorDict of batch size ``[N]``:

=============================  ===========  =========  =====================================================
key                            shape        dtype      meaning
=============================  ===========  =========  =====================================================
``"observation"``              (N, *obs)    float32    s_t
``"action"``                   (N, *act)    float32    a_t
``("next", "observation")``    (N, *obs)    float32    s_{t+1}; a placeholder where ``"has_next"`` is False
``("next", "reward")``         (N, 1)       float32    r_t
``("next", "terminated")``     (N, 1)       bool       the MDP ended at s_{t+1} (D4RL ``terminals``)
``("next", "truncated")``      (N, 1)       bool       the episode was cut by a time limit (D4RL ``timeouts``)
``("next", "done")``           (N, 1)       bool       terminated | truncated
``"episode"``                  (N,)         int64      episode index, 0, 1, 2, ... in file order
``"step"``                     (N,)         int64      step within the episode, 0 at its first row
``"has_next"``                 (N,)         bool       s_{t+1} is known (False at the last row of an episode
                                                       that a file without next_observations ends by timeout,
                                                       and at a final row cut mid-episode)
``("infos", ...)``             (N, ...)     any        the file's ``infos/*`` arrays, same names
=============================  ===========  =========  =====================================================
"""

OBS = "observation"
ACTION = "action"
NEXT_OBS = ("next", "observation")
REWARD = ("next", "reward")
TERMINATED = ("next", "terminated")
TRUNCATED = ("next", "truncated")
DONE = ("next", "done")
EPISODE = "episode"
STEP = "step"
HAS_NEXT = "has_next"
INFOS = "infos"

TRANSITION_KEYS = (OBS, ACTION, NEXT_OBS, REWARD, TERMINATED, TRUNCATED, DONE, EPISODE, STEP, HAS_NEXT)
