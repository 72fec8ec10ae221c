"""The math of hf-ext's methods, free of trainer plumbing: plain functions on tensors, each with a parity
test against a brute-force or closed-form reference. Trainers import from here; nothing here imports TRL."""

from hf_ext.objectives.adaptive_scaling import adaptive_preference_loss, solve_tau  # noqa: F401
from hf_ext.objectives.risk import cvar_mask, soft_risk_level  # noqa: E402,F401
