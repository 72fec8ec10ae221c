"""hf-ext's trainers and the registry entries that make them reachable by name.

TRL's own ``sft``, ``dpo``, ``reward`` and ``grpo`` are registered too, so ``hf-ext train dpo --config ...``
works like TRL's scripts. Classes are named by ``"module:Class"`` strings: nothing heavy is imported here.
Each entry's ``model_kind`` tells the CLI which Auto class loads the model (``"causal-lm"`` by default) and
``needs_reward_funcs`` whether the recipe must name reward functions (online trainers).
"""

from hf_ext.registry import register_trainer

register_trainer(
    "sft",
    "trl:SFTTrainer",
    "trl:SFTConfig",
    dataset_columns=(),  # messages, text or prompt/completion: TRL's SFTTrainer names what it misses
    description="TRL's supervised fine-tuning",
)
register_trainer("dpo", "trl:DPOTrainer", "trl:DPOConfig", description="TRL's Direct Preference Optimization")
register_trainer(
    "reward",
    "trl:RewardTrainer",
    "trl:RewardConfig",
    model_kind="sequence-classification",
    description="TRL's Bradley-Terry reward model trainer",
)
register_trainer(
    "grpo",
    "trl:GRPOTrainer",
    "trl:GRPOConfig",
    needs_reward_funcs=True,
    description="TRL's Group Relative Policy Optimization",
)
register_trainer(
    "adaptive-dpo",
    "hf_ext.trainers.adaptive_dpo_trainer:AdaptiveDPOTrainer",
    "hf_ext.trainers.adaptive_dpo_config:AdaptiveDPOConfig",
    description="DPO with adaptive per-pair preference scaling (Hong et al. 2024, arXiv 2406.02764)",
)
register_trainer(
    "adaptive-reward",
    "hf_ext.trainers.adaptive_reward_trainer:AdaptiveRewardTrainer",
    "hf_ext.trainers.adaptive_reward_config:AdaptiveRewardConfig",
    model_kind="sequence-classification",
    description="Reward modelling with adaptive per-pair preference scaling (arXiv 2406.02764)",
)
register_trainer(
    "cvar-ppo",
    "hf_ext.trainers.cvar_ppo_trainer:CVaRPPOTrainer",
    "hf_ext.trainers.cvar_ppo_config:CVaRPPOConfig",
    needs_reward_funcs=True,
    description="PPO for causal LMs, risk-averse (CVaR) on request (RA-RLHF)",
)
register_trainer(
    "cvar-grpo",
    "hf_ext.trainers.cvar_grpo_trainer:CVaRGRPOTrainer",
    "hf_ext.trainers.cvar_grpo_config:CVaRGRPOConfig",
    needs_reward_funcs=True,
    description="TRL's GRPO trained on the CVaR tail of its rewards (RA-RLHF soft-risk schedule)",
)
register_trainer(
    "tree-dpo",
    "hf_ext.trainers.tree_preference_trainer:TreePreferenceTrainer",
    "hf_ext.trainers.tree_preference_config:TreePreferenceConfig",
    dataset_loader="hf_ext.trainers.tree_preference_trainer:load_tree_recipe_dataset",
    description="DPO on step-wise pairs mined from tool-use inference trees (TP-LLaMA, arXiv 2406.07115)",
)
register_trainer(
    "hvfa-sft",
    "hf_ext.trainers.hvfa_sft_trainer:HVFASFTTrainer",
    "hf_ext.trainers.hvfa_sft_config:HVFASFTConfig",
    model_kind="image-text-to-text",
    dataset_columns=("prompt", "completion"),
    description="SFT of HVFA document readers with the reconstruction loss (Park et al., NeurIPS 2024)",
)
