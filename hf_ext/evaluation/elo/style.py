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

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from hf_ext.evaluation.elo.battles import check_indices, encode_battles
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
    from hf_ext.evaluation.elo._bt_kernels import normalized_differences as compiled

    a = np.ascontiguousarray(features_a, dtype=float)
    b = np.ascontiguousarray(features_b, dtype=float)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(
            f"features_a and features_b must be (battles, features) arrays of one shape: {a.shape}, {b.shape}"
        )
    w = np.empty(0) if weights is None else np.ascontiguousarray(weights, dtype=float)
    if w.ndim != 1 or (weights is not None and len(w) != len(a)):
        raise ValueError(f"weights must have one value per battle ({len(a)}), got shape {w.shape}")
    return compiled(a, b, w)


def _differences_and_moments(features_a: np.ndarray, features_b: np.ndarray, log: Any) -> tuple:
    """:func:`normalized_differences` of the log's battles and their pair moments, in one compiled call
    (the shapes checked as there; moments are None when they do not match, and the caller reports it)."""
    from hf_ext.evaluation.elo._bt_kernels import differences_and_moments

    a = np.ascontiguousarray(features_a, dtype=float)
    b = np.ascontiguousarray(features_b, dtype=float)
    if a.shape != b.shape or a.ndim != 2 or len(a) != len(log):
        return normalized_differences(features_a, features_b, log.weight), None
    w = np.empty(0) if log.weight is None else log.weight
    return differences_and_moments(a, b, w, log.a, log.b, log.score_a, log.n_models)


def _start(moments: tuple, n_models: int, alpha: float) -> np.ndarray:
    """Model strengths to start from: the plain Bradley-Terry fit when it exists (style effects are small
    beside it), else zeros; shifted so that model 0 is at 0."""
    from hf_ext.evaluation.elo._bt_kernels import fit_tables, strongly_connected

    count, wins = moments[0], moments[1]
    table = wins.reshape(n_models, n_models)
    scores = (table + (count.reshape(n_models, n_models) - table).T)[None]  # W[i, j]: i's score against j
    if not strongly_connected(scores)[0]:
        return np.zeros(n_models)
    theta = fit_tables(scores, np.zeros((1, n_models)), alpha, 0.0, 1e-6, 100)[0]
    return theta - theta[0]


def _derivatives_without_style(moments: tuple, theta: np.ndarray, alpha: float, k: int) -> tuple:
    """The loss, gradient and Hessian blocks of :func:`_fit` at ``gamma = 0``, from the pair moments: with
    no style term each battle's win chance depends only on its pair of models."""
    count, wins, sums, products, scored = moments
    m = len(theta)
    z = alpha * (theta[:, None] - theta[None, :]).ravel()
    p = 1.0 / (1.0 + np.exp(-z))
    loss = float(count @ np.logaddexp(0.0, z) - wins @ z)
    residual = (wins - count * p).reshape(m, m)
    spread = p * (1.0 - p)
    curvature = (count * spread).reshape(m, m)
    gradient = np.concatenate([alpha * (residual.sum(axis=1) - residual.sum(axis=0)), scored - p @ sums])
    both = curvature + curvature.T
    h_tt = alpha**2 * (np.diag(both.sum(axis=1)) - both)
    cross = (spread[:, None] * sums).reshape(m, m, k)
    h_tg = alpha * (cross.sum(axis=1) - cross.sum(axis=0))
    h_gg = np.tensordot(spread, products, axes=1)
    return loss, gradient, h_tt, h_tg, h_gg


@functools.cache
def _blas_controller() -> ThreadpoolController:
    """Found once: scanning the loaded libraries costs milliseconds, more than a small solve."""
    return ThreadpoolController()


def _fit(*args: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_newton` with one BLAS thread: on a busy machine a multi-threaded BLAS makes the small dense
    solves many times slower (its threads spin waiting for cores)."""
    with _blas_controller().limit(limits=1, user_api="blas"):
        return _newton(*args, **kwargs)


def _newton(
    a: np.ndarray,
    b: np.ndarray,
    score: np.ndarray,
    d: np.ndarray,
    n_models: int,
    alpha: float,
    w: np.ndarray | None,
    tol: float = 1e-8,
    max_iter: int = 100,
    moments: tuple | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Newton's method on (theta_1..theta_{m-1}, gamma) with theta_0 = 0, from the plain BT fit; returns
    (theta centred, gamma). Each step is one compiled pass over the battles giving the likelihood, its
    gradient and its Hessian; steps are halved until the likelihood does not go down, and taken whole near
    the maximum (where the change is below the sum's rounding noise). A step below ``sqrt(tol)`` is the last:
    Newton's error after it is of the order of its square (a step of 1e-4 leaves about 1e-8, a millionth of
    an Elo point; from the plain BT start a typical fit needs one pass). ``moments``: the
    :func:`pair_moments` of these battles when already gathered."""
    from hf_ext.evaluation.elo._bt_kernels import pair_moments, style_pass

    m, k = n_models, d.shape[1]
    d = np.ascontiguousarray(d, dtype=float)
    w = np.empty(0) if w is None else np.ascontiguousarray(w, dtype=float)
    gradient, h_tt, h_tg, h_gg = np.empty(m + k), np.empty((m, m)), np.empty((m, k)), np.empty((k, k))
    if moments is None:
        moments = pair_moments(a, b, score, d, w, m)
    theta, gamma = _start(moments, m, alpha), np.zeros(k)

    def evaluate(theta, gamma):
        return style_pass(a, b, score, d, w, theta, gamma, alpha, gradient, h_tt, h_tg, h_gg)

    current, gradient[:], h_tt[:], h_tg[:], h_gg[:] = _derivatives_without_style(moments, theta, alpha, k)
    for _ in range(max_iter):
        grad = np.concatenate([gradient[1:m], gradient[m:]])
        hessian = np.block([[h_tt[1:, 1:], h_tg[1:]], [h_tg[1:].T, h_gg]])
        try:
            step = np.linalg.solve(hessian + 1e-12 * np.eye(len(grad)), grad)
        except np.linalg.LinAlgError:
            raise ValueError(
                "the style-controlled fit has no unique maximum (a model without wins or losses?)"
            ) from None
        largest = float(np.max(np.abs(step))) if len(step) else 0.0
        if largest < math.sqrt(tol):  # Newton's error after this step is of the order of its square
            theta = np.concatenate([[0.0], theta[1:] + step[: m - 1]])
            gamma = gamma + step[m - 1 :]
            break
        full = float(step @ grad) < 1e-11 * (1.0 + abs(current))
        size = 1.0
        while True:
            candidate_theta = np.concatenate([[0.0], theta[1:] + size * step[: m - 1]])
            candidate_gamma = gamma + size * step[m - 1 :]
            value = evaluate(candidate_theta, candidate_gamma)
            if full or value <= current + 1e-12 * (1.0 + abs(current)) or size < 1e-8:
                break
            size /= 2.0
        theta, gamma, current = candidate_theta, candidate_gamma, value
        if largest * size < tol:
            break
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
    check_indices(log)
    w = log.weight
    d, moments = _differences_and_moments(features_a, features_b, log)
    if d.shape != (len(log), len(feature_names)):
        raise ValueError(f"features must be ({len(log)}, {len(feature_names)}), got {d.shape}")
    alpha = math.log(rule.base)
    theta, gamma = _fit(log.a, log.b, log.score_a, d, log.n_models, alpha, w, moments=moments)
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
            t, g = _fit(
                log.a[rows], log.b[rows], log.score_a[rows], d[rows], log.n_models, alpha,
                None if w is None else w[rows],
            )  # fmt: skip
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
