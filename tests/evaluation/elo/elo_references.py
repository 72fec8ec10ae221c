"""Independent references the Elo tests compare against: the textbook loop and a per-battle MLE."""

import math

import numpy as np
from scipy.optimize import minimize

SCORES = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": 0.5}


def plain_online_elo(frame, k=4.0, scale=400.0, base=10.0, init=1000.0):
    """The textbook loop over rows, as FastChat's first compute_elo."""
    ratings = {}
    for a, b, winner in zip(frame["model_a"], frame["model_b"], frame["winner"]):
        ra, rb = ratings.setdefault(a, init), ratings.setdefault(b, init)
        ea = 1 / (1 + base ** ((rb - ra) / scale))
        eb = 1 / (1 + base ** ((ra - rb) / scale))
        ratings[a] = ra + k * (SCORES[winner] - ea)
        ratings[b] = rb + k * (1 - SCORES[winner] - eb)
    return ratings


def scipy_bt(frame, scale=400.0, base=10.0, init=1000.0, reg=0.0):
    """Independent MLE: BFGS on the per-battle log-likelihood (no aggregation), ties as half wins."""
    models = sorted(set(frame["model_a"]) | set(frame["model_b"]))
    index = {m: i for i, m in enumerate(models)}
    a = frame["model_a"].map(index).to_numpy()
    b = frame["model_b"].map(index).to_numpy()
    s = frame["winner"].map(SCORES).to_numpy()
    alpha = math.log(base)

    def objective(theta):
        d = alpha * (theta[a] - theta[b])
        value = np.sum(s * np.logaddexp(0, -d) + (1 - s) * np.logaddexp(0, d)) + 0.5 * reg * theta @ theta
        p = 1 / (1 + np.exp(-d))
        per_battle = -alpha * (s - p)
        grad = np.bincount(a, per_battle, len(models)) - np.bincount(b, per_battle, len(models)) + reg * theta
        return value, grad

    fit = minimize(objective, np.zeros(len(models)), jac=True, method="BFGS", options={"gtol": 1e-9})
    theta = fit.x - (fit.x.mean() if reg == 0 else 0.0)
    return dict(zip(models, scale * theta + init))
