"""RA-RLHF with a real prompt-dependent tail: reference LM vs PPO vs CVaR-PPO, in miniature.

What the paper's claim needs (Chaudhary et al. 2024): a reward whose bad tail depends on the prompt, a policy
that RL measurably improves, and an evaluation tail large enough to see a difference. Here:

- **Reward** on prompt + completion, dense and tie-free: the logit of a small bag-of-words sentiment
  classifier trained in this script (logistic regression on the reference LM's training prose, sentences
  labelled by the sign of their VADER compound score). No downloaded model exists here.
- **Prompts**: openings (first 6 words) of held-out paragraphs. An opening is *hard* when the reference LM's
  continuations of it score low (lowest quarter of the mean reward of 4 reference samples). Training prompts:
  half hard, half others, from one half of the paragraphs; test prompts from the other half: every hard
  opening (>= 64 in the full setting) plus as many others.
- **Methods**: the reference LM; PPO (alpha 1) and CVaR-PPO (alpha 0.4, warm-up, level reaching alpha at 0.95
  of training: the paper's schedule), both from the recipe ``hf_ext/recipes/cvar_ppo/ra_rlhf_miniature.yaml``
  with the classifier reward, over ``--seeds`` seeds.
- **Evaluation** with fixed sampling seeds: 4 samples per test prompt; per-prompt reward = their mean.
  Reported: mean reward, tail reward (mean over hard test prompts, the paper's definition of the tail),
  CVaR_0.2 of the per-prompt rewards, and perplexity on held-out prose.
- **Preconditions**, checked and printed before comparing: the reference's tail reward is well below its mean
  (by more than 3 standard errors, on sampling seeds other than those that chose the hard prompts; the share
  of hard prompts in the reference's CVaR_0.2 tail is printed beside it), and PPO's mean-reward gain over the
  reference exceeds 3 standard errors (over seeds). If either fails, the comparison says nothing about the
  claim, and the script says so.

    python benchmarks/bench_ra_rlhf_tail.py [--seeds 3] [--steps 48]

Writes ``benchmarks/results/ra_rlhf_tail.json`` (or ``--out``) and prints a Markdown table. The policy is the
4M-parameter reference LM trained here (no pretrained LM weights exist on this machine).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import tempfile
import time
from collections import Counter
from functools import lru_cache
from pathlib import Path

import torch
import yaml

from hf_ext.evaluation.perplexity import perplexity
from hf_ext.recipes import recipe_path
from hf_ext.rewards import sentiment_scores
from hf_ext.testing import reference_lm, reference_texts
from hf_ext.utils import atomic_write_text

RESULTS = Path(__file__).parent / "results" / "ra_rlhf_tail.json"
PROMPT_WORDS = 6
SAMPLES = 4
NEW_TOKENS = 12
WORD = re.compile(r"[a-z']+")


# ----------------------------------------------------------------------------------------------- the reward


class SentimentClassifier:
    """Logistic regression on normalised word counts; ``score(texts)`` is the logit (dense, tie-free)."""

    def __init__(self, vocabulary: dict[str, int], weight: torch.Tensor, bias: float):
        self.vocabulary, self.weight, self.bias = vocabulary, weight, bias

    def features(self, texts: list[str]) -> torch.Tensor:
        """Sparse ``[len(texts), vocabulary]`` word counts, each row divided by sqrt(its known words)."""
        rows, columns, values = [], [], []
        for row, text in enumerate(texts):
            words = [self.vocabulary[w] for w in WORD.findall(text.lower()) if w in self.vocabulary]
            for index, count in Counter(words).items():
                rows.append(row)
                columns.append(index)
                values.append(count / math.sqrt(len(words)))
        indices = torch.tensor([rows, columns], dtype=torch.long).view(2, -1)
        shape = (len(texts), len(self.vocabulary))
        return torch.sparse_coo_tensor(indices, torch.tensor(values), shape, check_invariants=False)

    def score(self, texts: list[str]) -> list[float]:
        return (torch.sparse.mm(self.features(texts), self.weight[:, None]).squeeze(1) + self.bias).tolist()


@lru_cache(maxsize=1)
def classifier(vocabulary_size: int = 4000, steps: int = 300) -> SentimentClassifier:
    """Trained on sentences of the reference LM's training prose with a nonzero VADER compound score."""
    sentences = [s for p in reference_texts("train") for s in re.split(r"(?<=[.!?])\s+", p) if len(s) > 20]
    labels = sentiment_scores(sentences)
    kept = [(s, 1.0 if y > 0 else 0.0) for s, y in zip(sentences, labels) if y != 0]
    counts = Counter(w for s, _ in kept for w in WORD.findall(s.lower()))
    vocabulary = {w: i for i, (w, _) in enumerate(counts.most_common(vocabulary_size))}
    model = SentimentClassifier(vocabulary, torch.zeros(len(vocabulary)), 0.0)
    x = model.features([s for s, _ in kept])
    y = torch.tensor([label for _, label in kept])
    weight = torch.zeros(len(vocabulary), requires_grad=True)
    bias = torch.zeros((), requires_grad=True)
    optimizer = torch.optim.Adam([weight, bias], lr=0.05)
    with torch.enable_grad():  # the first call may come from inside a no_grad evaluation
        for _ in range(steps):
            logits = torch.sparse.mm(x, weight[:, None]).squeeze(1) + bias
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
            loss = loss + 1e-4 * weight.pow(2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return SentimentClassifier(vocabulary, weight.detach(), float(bias.detach()))


def prompt_text(prompt) -> str:
    return prompt if isinstance(prompt, str) else str(prompt[-1]["content"])


def classifier_reward(prompts, completions, **columns) -> list[float]:
    """TRL-convention reward: the classifier's logit of prompt + completion (the paper's convention)."""
    return classifier().score([prompt_text(p) + c for p, c in zip(prompts, completions)])


# ---------------------------------------------------------------------------------------- prompts and evals


@torch.no_grad()
def sample_rewards(model, tokenizer, prompts: list[str], seed: int) -> torch.Tensor:
    """``[len(prompts), SAMPLES]`` rewards of sampled continuations; sampling seed fixed by ``seed``."""
    model.eval()
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    rewards = []
    for start in range(0, len(prompts), 16):
        chunk = prompts[start : start + 16]
        encoded = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False)
        output = model.generate(
            **encoded, max_new_tokens=NEW_TOKENS, do_sample=True, top_k=0, num_return_sequences=SAMPLES,
            pad_token_id=tokenizer.pad_token_id,
        )  # fmt: skip
        texts = tokenizer.batch_decode(output[:, encoded["input_ids"].shape[1] :], skip_special_tokens=True)
        prompts_repeated = [p for p in chunk for _ in range(SAMPLES)]
        rewards.append(torch.tensor(classifier_reward(prompts_repeated, texts)).view(len(chunk), SAMPLES))
    torch.random.set_rng_state(generator_state)
    return torch.cat(rewards)


def prompt_sets(num_train: int, num_test_hard: int, pool: int | None = None) -> dict[str, list[str]]:
    """Hard and other openings of disjoint halves of the held-out prose (``pool`` openings per half, default
    all), hard by the reward of reference continuations."""
    openings = [" ".join(p.split()[:PROMPT_WORDS]) for p in reference_texts("heldout")][
        : 2 * pool if pool else None
    ]
    model, tokenizer = reference_lm()
    sets = {}
    for name, pool in (("train", openings[0::2]), ("test", openings[1::2])):
        mean_reward = sample_rewards(model, tokenizer, pool, seed=4242).mean(dim=1)
        order = mean_reward.argsort().tolist()
        quarter = len(pool) // 4
        sets[f"{name}_hard"] = [pool[i] for i in order[:quarter]]
        sets[f"{name}_other"] = [pool[i] for i in order[quarter:]]
    half = num_train // 2
    hard_test = sets["test_hard"][:num_test_hard]
    return {
        "train": sets["train_hard"][:half] + sets["train_other"][: num_train - half],
        "test_hard": hard_test,
        "test_other": sets["test_other"][: len(hard_test)],
    }


def tail_gap(hard: torch.Tensor, other: torch.Tensor) -> dict[str, float]:
    """Mean minus tail reward over the per-prompt rewards of both sets, and its standard error.

    mean - tail = n_o / n * (mean_o - mean_h), so its s.e. is n_o / n * sqrt(var_o / n_o + var_h / n_h)
    (per-prompt sample variances; nan with fewer than two prompts in a set).
    """
    n_hard, n_other = len(hard), len(other)
    share = n_other / (n_hard + n_other)
    gap = share * (other.mean() - hard.mean()).item()
    if min(n_hard, n_other) < 2:
        return {"tail_gap": gap, "tail_gap_se": float("nan")}
    error = share * math.sqrt(other.var().item() / n_other + hard.var().item() / n_hard)
    return {"tail_gap": gap, "tail_gap_se": error}


def evaluate(model, tokenizer, prompts: dict[str, list[str]], perplexity_windows: int) -> dict[str, float]:
    hard = sample_rewards(model, tokenizer, prompts["test_hard"], seed=777).mean(dim=1)
    other = sample_rewards(model, tokenizer, prompts["test_other"], seed=778).mean(dim=1)
    per_prompt = torch.cat([hard, other])
    tail_count = max(1, math.ceil(0.2 * len(per_prompt)))
    in_tail = per_prompt.argsort()[:tail_count]
    texts = [t[:500] for t in reference_texts("heldout")[1::2]]
    return {
        "reward": per_prompt.mean().item(),
        "tail_reward": hard.mean().item(),
        "cvar_0.2": per_prompt.sort().values[:tail_count].mean().item(),
        "per_prompt_std": per_prompt.std().item(),
        **tail_gap(hard, other),
        "hard_share_of_cvar_tail": (in_tail < len(hard)).float().mean().item(),
        "perplexity": perplexity(model, tokenizer, texts, seq_len=128, max_windows=perplexity_windows),
    }


# ------------------------------------------------------------------------------------------------ training


def recipe_settings(alpha: float, seed: int, steps: int, batch: int, workdir: Path) -> dict:
    """CVaRPPOConfig fields of the recipe, with this run's alpha, seed, length and folder."""
    from hf_ext.trainers.cvar_ppo_config import CVaRPPOConfig

    recipe = yaml.safe_load(recipe_path("cvar_ppo/ra_rlhf_miniature.yaml").read_text(encoding="utf-8"))
    known = set(CVaRPPOConfig.__dataclass_fields__)
    settings = {key: value for key, value in recipe.items() if key in known}
    settings.update(
        alpha=alpha, seed=seed, max_steps=steps, per_device_train_batch_size=batch,
        risk_warmup_steps=max(1, round(steps * recipe["risk_warmup_steps"] / recipe["max_steps"])),
        output_dir=str(workdir / f"ppo-{alpha}-{seed}"), disable_tqdm=True,
    )  # fmt: skip
    return settings


def train_ppo(train_prompts: list[str], alpha: float, seed: int, steps: int, batch: int, workdir: Path):
    from datasets import Dataset

    from hf_ext.trainers.cvar_ppo_config import CVaRPPOConfig
    from hf_ext.trainers.cvar_ppo_trainer import CVaRPPOTrainer

    model, tokenizer = reference_lm()
    trainer = CVaRPPOTrainer(
        model=model.train(), args=CVaRPPOConfig(**recipe_settings(alpha, seed, steps, batch, workdir)),
        processing_class=tokenizer, reward_funcs=classifier_reward,
        train_dataset=Dataset.from_dict({"prompt": train_prompts}),
    )  # fmt: skip
    trainer.train()
    return trainer.policy, tokenizer


# ------------------------------------------------------------------------------------------------- report


def mean_and_error(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return statistics.mean(values), float("nan")
    return statistics.mean(values), statistics.stdev(values) / math.sqrt(len(values))


def preconditions(runs: dict[str, list[dict]]) -> dict:
    """The tail is real (the reference's mean - tail reward exceeds 3 of its standard errors, on sampling
    seeds other than those that chose the hard prompts) and PPO moves the mean (gain over 3 s.e. over seeds).

    ``gap_over_per_prompt_std`` records the first session's stricter reading (gap above one per-prompt
    standard deviation). It is not used as the test: when the tail is half of the test prompts, the gap is
    half the hard/other difference, so even a perfect split of a normal reward into its bottom quarter and
    the rest gives 0.8 of the per-prompt standard deviation (0.85 / 1.05).
    """
    reference = runs["reference LM"][0]
    gap, gap_error = reference["tail_gap"], reference["tail_gap_se"]
    gains = [row["reward"] - reference["reward"] for row in runs["PPO (alpha=1)"]]
    gain, error = mean_and_error(gains)
    return {
        "reference_tail_gap": gap,
        "reference_tail_gap_se": gap_error,
        "reference_per_prompt_std": reference["per_prompt_std"],
        "reference_hard_share_of_cvar_tail": reference["hard_share_of_cvar_tail"],
        "tail_well_below_mean": bool(gap_error == gap_error and gap > 3 * gap_error),
        "gap_over_per_prompt_std": bool(gap > reference["per_prompt_std"]),
        "ppo_gain": gain,
        "ppo_gain_se": error,
        "ppo_gain_over_3_se": bool(error == error and gain > 3 * error),
    }


def markdown(report: dict) -> str:
    lines = [
        "| method | mean reward ↑ | tail reward ↑ | CVaR_0.2 ↑ | perplexity ↓ |",
        "|---|---|---|---|---|",
    ]
    for name, rows in report["runs"].items():
        cells = []
        for key in ("reward", "tail_reward", "cvar_0.2", "perplexity"):
            mean, error = mean_and_error([row[key] for row in rows])
            cells.append(f"{mean:.3f}" + (f" ± {error:.3f}" if error == error else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=48, help="PPO iterations per run")
    parser.add_argument("--batch", type=int, default=16, help="episodes per PPO iteration")
    parser.add_argument("--train-prompts", type=int, default=64)
    parser.add_argument("--test-hard", type=int, default=64, help="hard test prompts (and as many others)")
    parser.add_argument("--perplexity-windows", type=int, default=48)
    parser.add_argument("--pool", type=int, default=None, help="openings per half of the held-out prose")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--resume", action="store_true",
        help="keep the runs of an unfinished --out written with the same settings and run only the rest",
    )  # fmt: skip
    return parser.parse_args(argv)


PROTOCOL_FIELDS = ("seeds", "steps", "batch", "train_prompts", "test_hard", "perplexity_windows", "pool")
METHODS = (("PPO (alpha=1)", 1.0), ("CVaR-PPO (alpha=0.4)", 0.4))


def resumed(arguments, protocol_fields: tuple[str, ...] = PROTOCOL_FIELDS) -> dict | None:
    """The saved results of an unfinished ``--out`` whose ``protocol_fields`` settings equal ``arguments``'s,
    or None when there is nothing to resume (shared with the Ada-DPO benchmark)."""
    if not (arguments.resume and arguments.out.exists()):
        return None
    saved = json.loads(arguments.out.read_text(encoding="utf-8"))
    if saved.get("complete", True):
        raise SystemExit(f"{arguments.out}: already complete; nothing to resume")
    for field in protocol_fields:
        if saved["settings"].get(field) != getattr(arguments, field):
            raise SystemExit(f"{arguments.out}: settings field {field!r} differs; cannot resume")
    return saved


def main(argv: list[str] | None = None) -> dict:
    """Seeds run in pairs (PPO, then CVaR-PPO, seed by seed); the results file is written after every run
    (``"complete": false`` until the end), so an interrupted run can be continued with ``--resume``."""
    arguments = parse_arguments(argv)
    torch.set_num_threads(1)  # the machine is shared; one thread per process is the steadier choice
    started = time.perf_counter()
    saved = resumed(arguments)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(arguments).items()}
    settings.update(recipe="cvar_ppo/ra_rlhf_miniature", episodes_per_run=arguments.steps * arguments.batch)
    settings["samples_per_prompt"] = SAMPLES
    if saved:
        prompts, runs = saved["prompts"], saved["runs"]
    else:
        prompts = prompt_sets(arguments.train_prompts, arguments.test_hard, arguments.pool)
        model, tokenizer = reference_lm()
        runs = {"reference LM": [evaluate(model, tokenizer, prompts, arguments.perplexity_windows)]}
    settings["test_prompts"] = {"hard": len(prompts["test_hard"]), "other": len(prompts["test_other"])}

    def save(report: dict) -> None:
        settings["wall_seconds"] = round(time.perf_counter() - started) + (
            saved["settings"]["wall_seconds"] if saved else 0
        )
        atomic_write_text(arguments.out, json.dumps({"settings": settings, **report}, indent=2) + "\n")

    save({"complete": False, "prompts": prompts, "runs": runs})
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(arguments.seeds):
            for name, alpha in METHODS:
                if len(runs.get(name, [])) > seed:
                    continue
                policy, tokenizer = train_ppo(
                    prompts["train"], alpha, seed, arguments.steps, arguments.batch, Path(tmp)
                )
                row = evaluate(policy, tokenizer, prompts, arguments.perplexity_windows)
                runs.setdefault(name, []).append(row)
                save({"complete": False, "prompts": prompts, "runs": runs})
                print(name, seed, {k: round(v, 3) for k, v in row.items()}, flush=True)
    checks = preconditions(runs)
    cvar, ppo = runs["CVaR-PPO (alpha=0.4)"], runs["PPO (alpha=1)"]
    paired = {
        key: mean_and_error([c[key] - p[key] for c, p in zip(cvar, ppo)])
        for key in ("reward", "tail_reward", "cvar_0.2", "perplexity")
    }
    report = {"preconditions": checks, "paired_cvar_minus_ppo": paired, "runs": runs}
    save({"complete": True, **report, "prompts": prompts})
    print(
        f"\npreconditions: reference tail below mean by {checks['reference_tail_gap']:.3f} ± "
        f"{checks['reference_tail_gap_se']:.3f} (s.e.) > 3 s.e.: {checks['tail_well_below_mean']} "
        f"(per-prompt std {checks['reference_per_prompt_std']:.3f}; hard prompts are "
        f"{checks['reference_hard_share_of_cvar_tail']:.0%} of the reference's CVaR_0.2 tail, base rate "
        f"{settings['test_prompts']['hard'] / sum(settings['test_prompts'].values()):.0%}); "
        f"PPO mean gain {checks['ppo_gain']:+.3f} ± {checks['ppo_gain_se']:.3f} (s.e.) > 3 s.e.: "
        f"{checks['ppo_gain_over_3_se']}"
    )
    print(markdown(report))
    print("\npaired CVaR-PPO - PPO (mean ± s.e. over seeds): " + ", ".join(
        f"{k} {m:+.3f} ± {e:.3f}" for k, (m, e) in paired.items()
    ))  # fmt: skip
    print(f"wrote {arguments.out}")
    return report


if __name__ == "__main__":
    main()
