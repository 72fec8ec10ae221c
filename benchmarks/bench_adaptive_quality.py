"""Rank quality of adaptive preference scaling on synthetic reward learning (one untuned baseline).

Superseded as evidence for the paper's claim by ``bench_ada_pref_fair.py`` (equal tuning grids, held-out
seeds, a policy metric): here the baseline gets one setting and the metrics are rank-only. The paper itself
has no synthetic experiment; its reward learning is robotic control.

A known true reward over feature vectors, ``r*(x) = w . x + sin(3 v . x)`` (x in R^8), and pairs whose
true gaps range from ambiguous to clear (mixed preference strength: each pair's gap is multiplied by a
strength drawn log-uniformly from [0.1, 10]). Labels are drawn from Bradley-Terry on the scaled true gap,
so ambiguous pairs are often labelled "wrong". The same reward model (an MLP 8-64-64-1, the paper's 2x64)
is trained with the standard Bradley-Terry loss and with the adaptive loss
(:func:`hf_ext.objectives.adaptive_preference_loss`): same data, initialisation, optimiser and steps,
over several seeds and a small grid of (rho, tau_max). Reported on held-out data:

- preference accuracy: how often the learned reward orders a fresh pair as the true reward does;
- Spearman correlation between learned and true rewards of held-out points;

as mean +- std over seeds, and a picture of tau against the true gap
(``docs/images/adaptive_tau_vs_gap.png``, first adaptive setting, seed 0).

Writes ``benchmarks/results/adaptive_quality.json`` and prints a Markdown table. A few minutes on CPU.

    python benchmarks/bench_adaptive_quality.py [--seeds 5] [--rho 0.05 0.1 0.3] [--tau-max 3 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch
import torch.nn.functional as F
from scipy.stats import spearmanr

from hf_ext.objectives import adaptive_preference_loss
from hf_ext.utils import save_figure

RESULTS = Path(__file__).parent / "results" / "adaptive_quality.json"
PICTURE = Path(__file__).parents[1] / "docs" / "images" / "adaptive_tau_vs_gap.png"
DIMENSION = 8


def true_reward(x: torch.Tensor, generator_seed: int = 1234) -> torch.Tensor:
    generator = torch.Generator().manual_seed(generator_seed)  # the same true reward for every seed
    w = torch.randn(DIMENSION, generator=generator)
    v = torch.randn(DIMENSION, generator=generator)
    return x @ w / DIMENSION**0.5 + torch.sin(3 * x @ v / DIMENSION**0.5)


def preference_pairs(count: int, generator: torch.Generator):
    """(x_chosen, x_rejected, true gap of the labelled order, strength) with Bradley-Terry labels."""
    first, second = (
        torch.randn(count, DIMENSION, generator=generator),
        torch.randn(count, DIMENSION, generator=generator),
    )
    strength = torch.exp(torch.empty(count).uniform_(-2.3, 2.3, generator=generator))  # 0.1 .. 10
    gap = strength * (true_reward(first) - true_reward(second))
    first_wins = torch.rand(count, generator=generator) < torch.sigmoid(gap)
    chosen = torch.where(first_wins[:, None], first, second)
    rejected = torch.where(first_wins[:, None], second, first)
    return chosen, rejected, torch.where(first_wins, gap, -gap), strength


def reward_model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(DIMENSION, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 1),
    )  # fmt: skip


def train(loss_name: str, seed: int, data, settings) -> tuple[torch.nn.Module, torch.Tensor]:
    chosen, rejected = data[0], data[1]
    model = reward_model(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings["lr"])
    generator = torch.Generator().manual_seed(seed)
    for _ in range(settings["epochs"]):
        order = torch.randperm(len(chosen), generator=generator)
        for batch in order.split(settings["batch_size"]):
            z = (model(chosen[batch]) - model(rejected[batch])).squeeze(-1)
            if loss_name == "standard":
                loss = -F.logsigmoid(z).mean()
            else:
                per_pair, _ = adaptive_preference_loss(
                    z, settings["rho"], settings["tau_min"], settings["tau_max"]
                )
                loss = per_pair.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        z = (model(chosen) - model(rejected)).squeeze(-1)
        _, tau = adaptive_preference_loss(z, settings["rho"], settings["tau_min"], settings["tau_max"])
    return model, tau


@torch.no_grad()
def evaluate(model, generator: torch.Generator) -> dict:
    points = torch.randn(2000, DIMENSION, generator=generator)
    learned, true = model(points).squeeze(-1), true_reward(points)
    first, second = points[:1000], points[1000:]
    learned_order = model(first).squeeze(-1) > model(second).squeeze(-1)
    true_order = true_reward(first) > true_reward(second)
    return {
        "accuracy": (learned_order == true_order).float().mean().item(),
        "spearman": float(spearmanr(learned.numpy(), true.numpy()).statistic),
    }


def draw_picture(gap: torch.Tensor, tau: torch.Tensor, settings: dict) -> None:
    from matplotlib.figure import Figure

    magnitude, mislabelled = gap.abs(), gap < 0
    figure = Figure(figsize=(5.5, 3.4))
    axis = figure.add_subplot()
    for selected, colour, label in (
        (~mislabelled, "tab:blue", "label agrees"),
        (mislabelled, "tab:red", "mislabelled"),
    ):
        axis.scatter(
            magnitude[selected].numpy(), tau[selected].numpy(), s=3, alpha=0.3, color=colour, label=label
        )
    edges = torch.logspace(-3, 1.5, 10)
    centres, medians = [], []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (magnitude >= low) & (magnitude < high)
        if inside.sum() >= 20:
            centres.append(float((low * high).sqrt()))
            medians.append(float(tau[inside].median()))
    axis.plot(centres, medians, color="black", linewidth=2, label="median tau per bin")
    axis.set(xscale="log", xlabel="|true gap| of the pair", ylabel="tau after training")
    axis.set_title(f"tau vs true gap (rho={settings['rho']}, tau_max={settings['tau_max']})", fontsize=10)
    axis.legend(loc="upper left", fontsize=7, markerscale=3)
    save_figure(figure, PICTURE)


def summarise(values: list[float]) -> dict:
    return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def tau_statistics(tau: torch.Tensor, gap: torch.Tensor, settings: dict) -> dict:
    mislabelled = gap < 0
    at_max = tau >= settings["tau_max"] * (1 - 1e-6)
    return {
        "frac_at_tau_min": (tau <= settings["tau_min"] * (1 + 1e-6)).float().mean().item(),
        "frac_at_tau_max": at_max.float().mean().item(),
        "mislabelled_share_at_tau_max": mislabelled[at_max].float().mean().item() if at_max.any() else None,
        "mislabelled_share_overall": mislabelled.float().mean().item(),
    }


def run(loss_name: str, settings: dict, seeds: int) -> dict:
    """Train and evaluate over seeds; the data and initialisation of seed s are the same for every loss."""
    scores = {"accuracy": [], "spearman": []}
    for seed in range(seeds):
        data = preference_pairs(settings["pairs"], torch.Generator().manual_seed(seed))
        model, tau = train(loss_name, seed, data, settings)
        for key, value in evaluate(model, torch.Generator().manual_seed(10_000 + seed)).items():
            scores[key].append(value)
        if seed == 0:
            first_seed = (data[2], tau)
    return {
        "raw": scores,
        "summary": {key: summarise(values) for key, values in scores.items()},
        "seed0": first_seed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--rho", type=float, nargs="+", default=[0.05, 0.1, 0.3])
    parser.add_argument("--tau-max", type=float, nargs="+", default=[3.0, 1.0])
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    base = {
        "lr": 1e-3,
        "batch_size": 64,
        "epochs": arguments.epochs,
        "tau_min": 0.1,
        "pairs": arguments.pairs,
    }
    rows = []
    standard = run("standard", {**base, "rho": 0.1, "tau_max": 1.0}, arguments.seeds)
    rows.append({"loss": "standard (Bradley-Terry)", **standard["summary"], "raw": standard["raw"]})
    for rho in arguments.rho:
        for tau_max in arguments.tau_max:
            settings = {**base, "rho": rho, "tau_max": tau_max}
            adaptive = run("adaptive", settings, arguments.seeds)
            gap, tau = adaptive["seed0"]
            if len(rows) == 1:
                draw_picture(gap, tau, settings)
            name = f"adaptive rho={rho} tau_max={tau_max}"
            rows.append(
                {
                    "loss": name,
                    **adaptive["summary"],
                    "raw": adaptive["raw"],
                    "tau_seed0": tau_statistics(tau, gap, settings),
                }
            )
            print(f"done: {name}", flush=True)
    result = {"settings": base, "seeds": arguments.seeds, "rows": rows}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    print("\n| loss | held-out preference accuracy | Spearman vs true reward | paired vs standard | tau |")
    print("|---|---|---|---|---|")
    baseline = rows[0]["raw"]
    for row in rows:
        accuracy, spearman = row["accuracy"], row["spearman"]
        tau = row.get("tau_seed0")
        tau_cell = f"{tau['frac_at_tau_min']:.0%} at min, {tau['frac_at_tau_max']:.0%} at max" if tau else "-"
        paired = "-"
        if row is not rows[0]:
            differences = {key: [a - b for a, b in zip(row["raw"][key], baseline[key])] for key in baseline}
            row["paired_difference"] = {key: summarise(values) for key, values in differences.items()}
            wins = sum(value > 0 for value in differences["accuracy"])
            paired = (
                f"acc {statistics.mean(differences['accuracy']):+.4f}, "
                f"Spearman {statistics.mean(differences['spearman']):+.4f}, "
                f"acc better in {wins}/{len(differences['accuracy'])} seeds"
            )
        print(
            f"| {row['loss']} | {accuracy['mean']:.4f} +- {accuracy['std']:.4f} "
            f"| {spearman['mean']:.4f} +- {spearman['std']:.4f} | {paired} | {tau_cell} |"
        )
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nmean +- std over {arguments.seeds} seeds; wrote {RESULTS} and {PICTURE}")


if __name__ == "__main__":
    main()
