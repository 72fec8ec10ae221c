"""Ada-Pref against a tuned Bradley-Terry baseline, scored by the policy the learned reward produces.

The question the paper's claim raises (Hong et al. 2024, reward learning from preferences): does the adaptive
loss learn a reward that yields a better policy than a *tuned* Bradley-Terry (BT) loss? Protocol:

- Items are (context, action) pairs with a known true reward ``r*(c, a)`` (contexts and actions in R^4,
  a bilinear term plus a nonlinear action term plus a context offset). As in the paper's reward learning,
  every pair of items within a batch of ``--batch-items`` items is labelled.
- Three label models: ``deterministic`` (the truly better item wins, the paper's setting), ``bradley-terry``
  (the first item wins with probability ``sigmoid(r*_1 - r*_2)``) and ``heterogeneous`` (``sigmoid(s (r*_1 -
  r*_2))`` with a per-pair strength ``s`` log-uniform in [0.1, 10]); two data budgets (``--budgets`` batches).
- Equal tuning grids: BT with temperature ``T`` (loss ``-T log sigmoid(z / T)``) for T in {0.1, 0.3, 1, 3};
  Ada with rho in {0.05, 0.1, 0.3} x tau_max in {1, 3} (tau_min 0.1). Same MLP (8-64-64-1), initialisation,
  data, optimiser (Adam, ``--lr``) and steps for every setting of a seed, so differences are paired.
- Primary metric: the true-reward gain of the KL-regularised policy ``pi(a | c) ∝ exp(r_hat(c, a) / beta)``
  over ``--actions`` candidate actions per held-out context (reference: uniform), with beta set per model so
  that the mean KL to the reference is ``--kl`` nats (matched KL, so the reward's scale does not matter).
  Secondary: pairwise accuracy against the true order and Spearman correlation on held-out items.
- Each method's best setting is picked on the selection seeds (0-4) by the primary metric; the two best are
  compared on held-out seeds (5-14): paired differences, their standard error, and wins.

All models of a condition (settings x seeds) train at once as one batched MLP, so the whole run takes a few
minutes on a CPU. No language model is involved.

    python benchmarks/bench_ada_pref_fair.py [--select-seeds 5] [--heldout-seeds 10] [--steps 400]

Writes ``benchmarks/results/ada_pref_fair.json`` (or ``--out``) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from hf_ext.objectives import adaptive_preference_loss

RESULTS = Path(__file__).parent / "results" / "ada_pref_fair.json"
CONTEXT_DIM, ACTION_DIM, HIDDEN = 4, 4, 64
LABEL_MODELS = ("deterministic", "bradley-terry", "heterogeneous")
BT_TEMPERATURES = (0.1, 0.3, 1.0, 3.0)
ADA_GRID = tuple((rho, tau_max) for rho in (0.05, 0.1, 0.3) for tau_max in (1.0, 3.0))
TAU_MIN = 0.1


@dataclass(frozen=True)
class Setting:
    method: str  # "bt" or "ada"
    temperature: float = 1.0
    rho: float = 0.0
    tau_max: float = 0.0

    @property
    def name(self) -> str:
        if self.method == "bt":
            return f"BT T={self.temperature:g}"
        return f"Ada rho={self.rho:g} tau_max={self.tau_max:g}"


SETTINGS = [Setting("bt", temperature=t) for t in BT_TEMPERATURES] + [
    Setting("ada", rho=rho, tau_max=tau_max) for rho, tau_max in ADA_GRID
]


def true_reward(contexts: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """``r*(c, a)`` for broadcastable ``[..., 4]`` contexts and actions (the same function for every seed)."""
    generator = torch.Generator().manual_seed(1234)
    mixing = torch.randn(ACTION_DIM, CONTEXT_DIM, generator=generator) / 2
    direction = torch.randn(ACTION_DIM, generator=generator) / 2
    offset = torch.randn(CONTEXT_DIM, generator=generator) / 2
    bilinear = torch.einsum("...a,ac,...c->...", actions, mixing, contexts)
    return bilinear + torch.sin(3 * actions @ direction) + contexts @ offset


def features(contexts: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    contexts, actions = torch.broadcast_tensors(contexts, actions)
    return torch.cat([contexts, actions], dim=-1)


def labelled_batches(label_model: str, batches: int, items: int, generator: torch.Generator):
    """``(x [batches, items, 8], wins [batches, items, items])``; ``wins[b, i, j]`` = item i preferred over j,
    one entry per unordered pair (all pairs of a batch are labelled)."""
    contexts = torch.randn(batches, items, CONTEXT_DIM, generator=generator)
    actions = torch.randn(batches, items, ACTION_DIM, generator=generator)
    reward = true_reward(contexts, actions)
    gap = reward[:, :, None] - reward[:, None, :]
    if label_model == "deterministic":
        first_wins = gap > 0
    else:
        strength = torch.ones_like(gap)
        if label_model == "heterogeneous":
            strength = torch.exp(torch.empty_like(gap).uniform_(-2.3026, 2.3026, generator=generator))
        first_wins = torch.rand(gap.shape, generator=generator) < torch.sigmoid(strength * gap)
    upper = torch.ones(items, items, dtype=torch.bool).triu(diagonal=1)
    wins = (first_wins & upper) | (~first_wins & upper).transpose(1, 2)
    return features(contexts, actions), wins


class BatchedMLP(torch.nn.Module):
    """Independent 8-64-64-1 MLPs evaluated together; model m's initialisation follows ``seeds[m]``."""

    def __init__(self, seeds: list[int]):
        super().__init__()
        shapes = [(CONTEXT_DIM + ACTION_DIM, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, 1)]
        weights = [[] for _ in shapes]
        biases = [[] for _ in shapes]
        for seed in seeds:
            generator = torch.Generator().manual_seed(10_000 + seed)
            for k, (fan_in, fan_out) in enumerate(shapes):
                bound = 1 / math.sqrt(fan_in)
                weights[k].append(torch.empty(fan_in, fan_out).uniform_(-bound, bound, generator=generator))
                biases[k].append(torch.empty(fan_out).uniform_(-bound, bound, generator=generator))
        self.weights = torch.nn.ParameterList([torch.nn.Parameter(torch.stack(w)) for w in weights])
        self.biases = torch.nn.ParameterList([torch.nn.Parameter(torch.stack(b)) for b in biases])

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [models, ..., 8] -> [models, ...]
        shape = x.shape[:-1]
        hidden = x.reshape(shape[0], -1, x.shape[-1])
        for k, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            hidden = torch.baddbmm(bias[:, None, :], hidden, weight)
            if k < len(self.weights) - 1:
                hidden = F.relu(hidden)
        return hidden.reshape(shape)


def pair_losses(z: torch.Tensor, setting: Setting) -> torch.Tensor:
    """Per-pair loss of ``setting`` for reward gaps ``z`` (winner minus loser)."""
    if setting.method == "bt":
        return -setting.temperature * F.logsigmoid(z / setting.temperature)
    per_pair, _ = adaptive_preference_loss(z, setting.rho, TAU_MIN, setting.tau_max)
    return per_pair


def train(settings: list[Setting], seeds: list[int], data: dict[int, tuple], arguments) -> BatchedMLP:
    """One model per (setting, seed), all trained together: model index = setting * len(seeds) + seed."""
    model_seeds = [seed for _ in settings for seed in seeds]
    model = BatchedMLP(model_seeds)
    optimizer = torch.optim.Adam(model.parameters(), lr=arguments.lr)
    x_all = torch.stack([data[seed][0] for seed in model_seeds])  # [models, batches, items, 8]
    wins_all = torch.stack([data[seed][1] for seed in model_seeds])
    num_batches = x_all.shape[1]
    order = torch.Generator().manual_seed(0)
    for step in range(arguments.steps):
        if step % num_batches == 0:
            permutation = torch.randperm(num_batches, generator=order)
        batch = int(permutation[step % num_batches])
        rewards = model(x_all[:, batch])  # [models, items]
        wins = wins_all[:, batch]
        z = rewards[:, :, None] - rewards[:, None, :]  # z[m, i, j] = r_i - r_j
        total = torch.zeros(())
        for index, setting in enumerate(settings):
            rows = slice(index * len(seeds), (index + 1) * len(seeds))
            labelled, gaps = wins[rows], z[rows]  # gaps[labelled]: winner minus loser, every labelled pair
            total = total + pair_losses(gaps[labelled], setting).sum() / labelled[0].sum()
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
    return model


@torch.no_grad()
def kl_matched_gain(learned: torch.Tensor, true: torch.Tensor, kl_target: float) -> torch.Tensor:
    """True-reward gain over the uniform reference of ``pi ∝ exp(learned / beta)`` at mean KL ``kl_target``.

    ``learned``: ``[models, contexts, actions]``; ``true``: ``[contexts, actions]``. beta by bisection on
    ``log beta`` per model (the mean KL falls monotonically as beta grows)."""
    actions = learned.shape[-1]
    if not 0 < kl_target < math.log(actions):
        raise ValueError(f"kl_target must be in (0, log(actions) = {math.log(actions):.3f}), got {kl_target}")
    centred = learned - learned.mean(dim=-1, keepdim=True)
    low = torch.full((learned.shape[0], 1, 1), -12.0)
    high = torch.full_like(low, 12.0)

    def mean_kl(log_beta):
        log_pi = torch.log_softmax(centred / log_beta.exp(), dim=-1)
        return (log_pi.exp() * (log_pi + math.log(actions))).sum(-1).mean(-1, keepdim=True)[..., None]

    for _ in range(60):
        middle = (low + high) / 2
        too_sharp = mean_kl(middle) > kl_target
        low = torch.where(too_sharp, middle, low)
        high = torch.where(too_sharp, high, middle)
    policy = torch.softmax(centred / ((low + high) / 2).exp(), dim=-1)
    return ((policy * true).sum(-1) - true.mean(-1)).mean(-1)


def spearman(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman correlation of each row of ``a`` with ``b`` (no ties in continuous data)."""
    rank_a = a.argsort(dim=-1).argsort(dim=-1).float()
    rank_b = b.argsort().argsort().float()
    rank_a = rank_a - rank_a.mean(dim=-1, keepdim=True)
    rank_b = rank_b - rank_b.mean()
    return (rank_a * rank_b).sum(-1) / (rank_a.norm(dim=-1) * rank_b.norm())


@torch.no_grad()
def evaluate(model: BatchedMLP, arguments) -> dict[str, torch.Tensor]:
    """Per-model metrics on held-out contexts, actions and items (the same for every seed)."""
    generator = torch.Generator().manual_seed(999)
    contexts = torch.randn(arguments.eval_contexts, 1, CONTEXT_DIM, generator=generator)
    actions = torch.randn(arguments.eval_contexts, arguments.actions, ACTION_DIM, generator=generator)
    true = true_reward(contexts, actions)
    models = model.weights[0].shape[0]
    learned = model(features(contexts, actions).expand(models, -1, -1, -1))
    items_c = torch.randn(2000, CONTEXT_DIM, generator=generator)
    items_a = torch.randn(2000, ACTION_DIM, generator=generator)
    item_true = true_reward(items_c, items_a)
    item_learned = model(features(items_c, items_a).expand(models, -1, -1))
    first, second = slice(0, 1000), slice(1000, 2000)
    agree = (item_learned[:, first] > item_learned[:, second]) == (item_true[first] > item_true[second])
    oracle = kl_matched_gain(true[None], true, arguments.kl)[0]
    return {
        "policy_gain": kl_matched_gain(learned, true, arguments.kl),
        "accuracy": agree.float().mean(dim=-1),
        "spearman": spearman(item_learned, item_true),
        "oracle_gain": oracle.expand(models),
    }


def run_condition(label_model: str, batches: int, arguments) -> dict:
    seeds = list(range(arguments.select_seeds + arguments.heldout_seeds))
    data = {
        seed: labelled_batches(
            label_model, batches, arguments.batch_items, torch.Generator().manual_seed(seed * 7919 + batches)
        )
        for seed in seeds
    }
    model = train(SETTINGS, seeds, data, arguments)
    metrics = evaluate(model, arguments)
    per_setting = {}
    for index, setting in enumerate(SETTINGS):
        rows = slice(index * len(seeds), (index + 1) * len(seeds))
        per_setting[setting.name] = {key: value[rows].tolist() for key, value in metrics.items()}
    selection = list(range(arguments.select_seeds))
    heldout = list(range(arguments.select_seeds, len(seeds)))

    def best(method: str) -> str:
        names = [s.name for s in SETTINGS if s.method == method]
        return max(names, key=lambda n: statistics.mean(per_setting[n]["policy_gain"][i] for i in selection))

    best_bt, best_ada = best("bt"), best("ada")
    comparison = {}
    for key in ("policy_gain", "accuracy", "spearman"):
        bt = [per_setting[best_bt][key][i] for i in heldout]
        ada = [per_setting[best_ada][key][i] for i in heldout]
        differences = [a - b for a, b in zip(ada, bt)]
        error = statistics.stdev(differences) / math.sqrt(len(differences)) if len(differences) > 1 else 0.0
        comparison[key] = {
            "bt_mean": statistics.mean(bt),
            "ada_mean": statistics.mean(ada),
            "difference_mean": statistics.mean(differences),
            "difference_se": error,
            "ada_wins": sum(d > 0 for d in differences),
        }
    gain = comparison["policy_gain"]
    if gain["difference_mean"] > 2 * gain["difference_se"] and gain["difference_se"] > 0:
        verdict = "Ada better"
    elif gain["difference_mean"] < -2 * gain["difference_se"] and gain["difference_se"] > 0:
        verdict = "BT better"
    else:
        verdict = "no significant difference"
    return {
        "label_model": label_model,
        "batches": batches,
        "pairs": batches * arguments.batch_items * (arguments.batch_items - 1) // 2,
        "best_bt": best_bt,
        "best_ada": best_ada,
        "oracle_gain": metrics["oracle_gain"][0].item(),
        "heldout": comparison,
        "verdict": verdict,
        "per_setting": per_setting,
    }


def markdown(report: dict) -> str:
    chosen_on = f"seeds 0-{report['settings']['select_seeds'] - 1}"
    lines = [
        f"| labels | pairs | best BT ({chosen_on}) | best Ada ({chosen_on}) | policy gain BT / Ada / oracle "
        "| paired diff (Ada - BT) +- s.e., wins | acc BT / Ada | Spearman BT / Ada | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["conditions"]:
        gain, acc, rank = (row["heldout"][k] for k in ("policy_gain", "accuracy", "spearman"))
        seeds = report["settings"]["heldout_seeds"]
        lines.append(
            f"| {row['label_model']} | {row['pairs']} | {row['best_bt']} | {row['best_ada']} "
            f"| {gain['bt_mean']:.4f} / {gain['ada_mean']:.4f} / {row['oracle_gain']:.4f} "
            f"| {gain['difference_mean']:+.4f} +- {gain['difference_se']:.4f}, {gain['ada_wins']}/{seeds} "
            f"| {acc['bt_mean']:.4f} / {acc['ada_mean']:.4f} "
            f"| {rank['bt_mean']:.4f} / {rank['ada_mean']:.4f} | {row['verdict']} |"
        )
    return "\n".join(lines)


def compact_json(report: dict) -> str:
    """Indented JSON with every list of numbers on one line (the per-seed values)."""
    text = json.dumps(report, indent=1)
    return re.sub(r"\[\s+([^\[\]{}\"]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--select-seeds", type=int, default=5)
    parser.add_argument("--heldout-seeds", type=int, default=10)
    parser.add_argument("--budgets", type=int, nargs="+", default=[4, 16], help="labelled batches per run")
    parser.add_argument("--batch-items", type=int, default=32, help="items per batch (all pairs labelled)")
    parser.add_argument("--label-models", nargs="+", default=list(LABEL_MODELS), choices=LABEL_MODELS)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--actions", type=int, default=16, help="candidate actions per held-out context")
    parser.add_argument("--eval-contexts", type=int, default=512)
    parser.add_argument("--kl", type=float, default=1.0, help="matched KL of the policies, nats")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    arguments = parse_arguments(argv)
    if arguments.select_seeds < 1 or arguments.heldout_seeds < 2:
        raise SystemExit("--select-seeds must be >= 1 and --heldout-seeds >= 2")
    torch.manual_seed(0)
    conditions = []
    for label_model in arguments.label_models:
        for batches in arguments.budgets:
            conditions.append(run_condition(label_model, batches, arguments))
            print(f"done: {label_model}, {batches} batches -> {conditions[-1]['verdict']}", flush=True)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(arguments).items()}
    report = {"settings": settings, "grid": [s.name for s in SETTINGS], "conditions": conditions}
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(compact_json(report) + "\n", encoding="utf-8")
    print(markdown(report))
    last = arguments.select_seeds + arguments.heldout_seeds - 1
    held_out = f"held-out seeds {arguments.select_seeds}-{last}"
    print(f"\npolicy gain at KL {arguments.kl} nats; {held_out}; wrote {arguments.out}")
    return report


if __name__ == "__main__":
    main()
