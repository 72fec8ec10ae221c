"""Robust ratings for pairwise LLM evaluation: online and permutation-averaged Elo, Bradley-Terry, bootstrap
intervals with interval-respecting ranks, reliability and transitivity checks, battles from lm-eval logs.

Example:
    >>> from hf_ext.evaluation.elo import bootstrap, bradley_terry, permutation_elo
    >>> from hf_ext.evaluation.elo.synthetic import synthetic_battles
    >>> battles = synthetic_battles({"a": 1100.0, "b": 1000.0, "c": 900.0}, n_battles=3000, seed=0)
    >>> list(bradley_terry(battles))
    ['a', 'b', 'c']
    >>> permutation_elo(battles, n_permutations=50)["rank"].tolist()
    [1, 2, 3]
"""

from hf_ext.evaluation.elo.arena import filter_battles
from hf_ext.evaluation.elo.battles import BattleLog, encode_battles, pair_counts, win_rates
from hf_ext.evaluation.elo.bootstrap import bootstrap
from hf_ext.evaluation.elo.bradley_terry import bradley_terry
from hf_ext.evaluation.elo.checks import check_reliability, check_transitivity
from hf_ext.evaluation.elo.lm_eval_battles import battles_from_lm_eval
from hf_ext.evaluation.elo.online import battle_order, elo_samples, online_elo, permutation_elo
from hf_ext.evaluation.elo.plots import plot_rating_spread, plot_ratings, plot_win_rates
from hf_ext.evaluation.elo.rule import EloRule
from hf_ext.evaluation.elo.style import style_control
from hf_ext.evaluation.elo.tables import battle_counts, model_summary, predicted_win_rates

__all__ = [
    "BattleLog",
    "EloRule",
    "battle_counts",
    "battle_order",
    "battles_from_lm_eval",
    "bootstrap",
    "bradley_terry",
    "check_reliability",
    "check_transitivity",
    "elo_samples",
    "encode_battles",
    "filter_battles",
    "model_summary",
    "online_elo",
    "pair_counts",
    "permutation_elo",
    "plot_rating_spread",
    "plot_ratings",
    "plot_win_rates",
    "predicted_win_rates",
    "style_control",
    "win_rates",
]
