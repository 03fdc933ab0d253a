"""Registers the toy-text stand-ins under Gymnasium's ids, with Gymnasium's
registered kwargs and max_episode_steps (FrozenLake-v1 100,
FrozenLake8x8-v1 200, Taxi-v3 200; Blackjack-v1 and CliffWalking have no
time limit)."""

from gymnasium.envs.registration import make, register, registry, spec  # noqa: F401

register(id="FrozenLake-v1", entry_point="frozenlake_like:FrozenLakeEnv",
         kwargs={"map_name": "4x4"}, max_episode_steps=100, reward_threshold=0.70)
register(id="FrozenLake8x8-v1", entry_point="frozenlake_like:FrozenLakeEnv",
         kwargs={"map_name": "8x8"}, max_episode_steps=200, reward_threshold=0.85)
register(id="Blackjack-v1", entry_point="blackjack_like:BlackjackEnv",
         kwargs={"sab": True, "natural": False})
register(id="Taxi-v3", entry_point="taxi_like:TaxiEnv", reward_threshold=8, max_episode_steps=200)
register(id="CliffWalking-v0", entry_point="cliffwalking_like:CliffWalkingEnv")
register(id="CliffWalking-v1", entry_point="cliffwalking_like:CliffWalkingEnv")
register(id="SpacesLike-v0", entry_point="spaces_like:SpacesEnv", max_episode_steps=3)
