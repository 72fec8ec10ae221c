"""Style control: Bradley-Terry with style features as covariates (contextual BT), as Chatbot Arena does.

The chance that ``model_a`` wins is ``sigmoid(alpha * (theta_a - theta_b) + gamma . d)``, where
``alpha = ln(base)``, ``theta`` are the model strengths and ``d`` are the battle's standardised style
differences: for each feature, ``(f_a - f_b) / (f_a + f_b)`` (0 when both are 0), then centred and scaled to
unit variance over the log. A tie scores one half (a soft label). The fit is the exact maximum of the
likelihood by Newton's method, with the Hessian built from per-model sums (no battles x models matrix);
``theta`` comes out on the Elo scale of the rule, centred on ``init_rating``. With all
features zero it is Bradley-Terry.

:func:`style_features` computes features from response texts (length in characters, markdown headers, list
items, bold spans) or reads FastChat's ``conv_metadata`` (token counts and markdown counts).

Example:
    >>> import numpy as np
    >>> from hf_ext.evaluation.elo.style import style_control
    >>> from hf_ext.evaluation.elo.synthetic import synthetic_battles
    >>> battles = synthetic_battles({"a": 1100.0, "b": 1000.0, "c": 900.0}, n_battles=3000, seed=0)
    >>> zeros = np.zeros((len(battles), 1))
    >>> result = style_control(battles, zeros, zeros, ["length"])
    >>> list(result.ratings)
    ['a', 'b', 'c']
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hf_ext.evaluation.elo.battles import encode_battles
from hf_ext.evaluation.elo.rule import EloRule

FASTCHAT_FEATURES = ("sum_assistant_tokens", "header_count", "list_count", "bold_count")


@dataclass
class StyleControlResult:
    """``ratings``: model -> style-controlled rating, best first; ``coefficients``: feature -> gamma (logit
    change per standard deviation of the normalised difference); ``intervals``: bootstrap quantiles of both
    (a DataFrame with ``ci_low``/``ci_high`` per model and per feature) when bootstrap rounds were asked."""

    ratings: dict[str, float]
    coefficients: dict[str, float]
    intervals: pd.DataFrame | None = None


def normalized_differences(
    features_a: np.ndarray, features_b: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """``(f_a - f_b) / (f_a + f_b)`` per battle and feature, 0 where both are 0, then standardised (with the
    battles' ``weights``, so that an integer weight is the same as repeating the battle)."""
    a = np.asarray(features_a, dtype=float)
    b = np.asarray(features_b, dtype=float)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(
            f"features_a and features_b must be (battles, features) arrays of one shape: {a.shape}, {b.shape}"
        )
    total = a + b
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.where(total != 0, (a - b) / total, 0.0)
    w = np.ones(len(diff)) if weights is None else np.asarray(weights, dtype=float)
    mean = (w @ diff) / w.sum()
    std = np.sqrt((w @ (diff - mean) ** 2) / w.sum())
    return np.where(std > 0, (diff - mean) / np.where(std > 0, std, 1.0), 0.0)


def _fit(
    a: np.ndarray,
    b: np.ndarray,
    score: np.ndarray,
    d: np.ndarray,
    n_models: int,
    alpha: float,
    w: np.ndarray,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """Newton's method on (theta_1..theta_{m-1}, gamma) with theta_0 = 0; returns (theta centred, gamma)."""
    k = d.shape[1]
    params = np.zeros(n_models - 1 + k)

    def unpack(p):
        return np.concatenate([[0.0], p[: n_models - 1]]), p[n_models - 1 :]

    def loss_and_logits(p):
        theta, gamma = unpack(p)
        logits = alpha * (theta[a] - theta[b]) + d @ gamma
        return float(w @ (np.logaddexp(0.0, logits) - score * logits)), logits

    current, logits = loss_and_logits(params)
    for _ in range(max_iter):
        prob = 1.0 / (1.0 + np.exp(-logits))
        residual = w * (score - prob)  # gradient of the log-likelihood w.r.t. the logits
        weight = w * prob * (1.0 - prob)
        grad_theta = alpha * (np.bincount(a, residual, n_models) - np.bincount(b, residual, n_models))
        grad = np.concatenate([grad_theta[1:], d.T @ residual])
        cells = n_models * n_models
        h_tt = (
            np.bincount(a * (n_models + 1), weight, cells)
            + np.bincount(b * (n_models + 1), weight, cells)
            - np.bincount(a * n_models + b, weight, cells)
            - np.bincount(b * n_models + a, weight, cells)
        ).reshape(n_models, n_models) * alpha**2
        wd = d * weight[:, None]
        h_tg = (
            alpha
            * (
                np.stack([np.bincount(a, wd[:, j], n_models) for j in range(k)], axis=1)
                - np.stack([np.bincount(b, wd[:, j], n_models) for j in range(k)], axis=1)
            )
            if k
            else np.zeros((n_models, 0))
        )
        h_gg = d.T @ wd
        hessian = np.block([[h_tt[1:, 1:], h_tg[1:]], [h_tg[1:].T, h_gg]])
        try:
            step = np.linalg.solve(hessian + 1e-12 * np.eye(len(params)), grad)
        except np.linalg.LinAlgError:
            raise ValueError(
                "the style-controlled fit has no unique maximum (a model without wins or losses?)"
            ) from None
        size = 1.0
        while True:
            candidate = params + size * step
            value, candidate_logits = loss_and_logits(candidate)
            if value <= current + 1e-12 * (1.0 + abs(current)) or size < 1e-8:  # rounding noise of the sum
                break
            size /= 2.0
        params, current, logits = candidate, value, candidate_logits
        if np.max(np.abs(size * step)) < tol:
            break
    theta, gamma = unpack(params)
    return theta - theta.mean(), gamma


def style_control(
    battles: Any,
    features_a: np.ndarray,
    features_b: np.ndarray,
    feature_names: Sequence[str],
    rule: EloRule | None = None,
    bootstrap_rounds: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    weights: Any = None,
) -> StyleControlResult:
    """Style-controlled ratings and style coefficients; ``features_a``/``features_b`` are the raw features of
    each battle's two responses, in battle order, one column per name in ``feature_names``. Per-battle
    ``weights`` (or the log's ``weight`` column) scale each battle's likelihood term."""
    rule = EloRule.of(rule)
    log = encode_battles(battles, weights)
    w = log.battle_weights()
    d = normalized_differences(features_a, features_b, w)
    if d.shape != (len(log), len(feature_names)):
        raise ValueError(f"features must be ({len(log)}, {len(feature_names)}), got {d.shape}")
    alpha = math.log(rule.base)
    theta, gamma = _fit(log.a, log.b, log.score_a, d, log.n_models, alpha, w)
    ratings = rule.scale * theta + rule.init_rating
    order = np.argsort(-ratings, kind="stable")
    result = StyleControlResult(
        ratings={log.models[i]: float(ratings[i]) for i in order},
        coefficients=dict(zip(feature_names, gamma.tolist())),
    )
    if bootstrap_rounds:
        rng = np.random.default_rng(seed)
        samples = []
        for _ in range(bootstrap_rounds):
            rows = rng.integers(0, len(log), len(log))
            t, g = _fit(log.a[rows], log.b[rows], log.score_a[rows], d[rows], log.n_models, alpha, w[rows])
            samples.append(np.concatenate([rule.scale * t + rule.init_rating, g]))
        samples = np.array(samples)
        tail = (1.0 - confidence) / 2.0
        names = [*log.models, *feature_names]
        result.intervals = pd.DataFrame(
            {
                "ci_low": np.quantile(samples, tail, axis=0),
                "ci_high": np.quantile(samples, 1.0 - tail, axis=0),
            },
            index=pd.Index(names, name="name"),
        )
    return result


_HEADER = re.compile(r"^#{1,6}\s", re.MULTILINE)
_LIST = re.compile(r"^\s*(?:[-*+]|\d+\.)\s", re.MULTILINE)
_BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")


def style_features(responses: Sequence[str]) -> np.ndarray:
    """Per response: length in characters, markdown headers, list items and bold spans (one row each)."""
    return np.array(
        [
            [len(text), len(_HEADER.findall(text)), len(_LIST.findall(text)), len(_BOLD.findall(text))]
            for text in responses
        ],
        dtype=float,
    ).reshape(len(responses), 4)


def fastchat_style_features(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The style features of FastChat's ``clean_battle`` rows (their ``conv_metadata``): tokens, headers,
    lists and bold counts of each side (markdown counts summed over their kinds)."""
    if "conv_metadata" not in frame:
        raise ValueError("the battle log has no 'conv_metadata' column (FastChat's clean_battle format)")

    def count(meta: dict, feature: str, side: str) -> float:
        value = (
            meta.get(f"{feature}_{side}", 0)
            if feature != "sum_assistant_tokens"
            else meta.get(f"sum_assistant_{side}_tokens", 0)
        )
        return float(sum(value.values())) if isinstance(value, dict) else float(value or 0)

    metas = frame["conv_metadata"].tolist()
    a = np.array([[count(m, f, "a") for f in FASTCHAT_FEATURES] for m in metas])
    b = np.array([[count(m, f, "b") for f in FASTCHAT_FEATURES] for m in metas])
    return a, b, list(FASTCHAT_FEATURES)
