"""Offline miniature of RA-RLHF's experiment: reference LM vs PPO vs CVaR-PPO (and GRPO vs CVaR-GRPO).

Policy: ``hf_ext.testing.reference_lm()`` (4M-parameter Llama trained on prose). Prompts: the first words of
held-out paragraphs; training and test sets both over-sample openings with negative sentiment (half of the
training prompts; every such opening of the test half), which tend to lead to negative continuations.
Reward: VADER compound sentiment of the continuation (``hf_ext.rewards``). For every method and seed we
report, on separate held-out test prompts: mean reward, tail reward (mean reward on the test prompts whose
own sentiment score is negative, the paper's definition of the tail) and perplexity of the trained
policy on held-out prose.

    python benchmarks/bench_cvar_miniature.py [--seeds 3] [--steps 24]

Writes ``benchmarks/results/cvar_miniature.json`` and prints a Markdown table. The run is tiny (minutes on
2 CPU cores) and so are its effects: read the numbers as a smoke test of the mechanism, not as a replication.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from hf_ext.evaluation.perplexity import perplexity
from hf_ext.rewards import sentiment_reward, sentiment_scores
from hf_ext.testing import reference_lm, reference_texts

RESULTS = Path(__file__).parent / "results" / "cvar_miniature.json"
PROMPT_WORDS = 6
COMMON = {
    "report_to": "none",
    "use_cpu": True,
    "disable_tqdm": True,
    "save_strategy": "no",
    "logging_steps": 1,
}


def prompt_sets(num_train: int = 64, num_test: int = 96) -> tuple[list[str], list[str], list[float]]:
    """(training prompts, test prompts, test prompt scores) from disjoint halves of the held-out prose."""
    openings = [" ".join(p.split()[:PROMPT_WORDS]) for p in reference_texts("heldout")]
    train_pool, test_pool = openings[0::2], openings[1::2]
    train_scores = sentiment_scores(train_pool)
    negative = [p for p, s in zip(train_pool, train_scores) if s < 0]
    others = [p for p, s in zip(train_pool, train_scores) if s >= 0]
    train = negative[: num_train // 2] + others[: num_train - min(len(negative), num_train // 2)]
    test_scores = sentiment_scores(test_pool)
    tail = [p for p, s in zip(test_pool, test_scores) if s < 0]
    test = tail + [p for p, s in zip(test_pool, test_scores) if s >= 0][: num_test - len(tail)]
    return train, test, sentiment_scores(test)


@torch.no_grad()
def evaluate(model, tokenizer, test_prompts, test_scores, seed: int) -> dict[str, float]:
    """Mean and tail reward of 2 sampled continuations per test prompt; perplexity on held-out prose."""
    model.eval()
    tokenizer.padding_side = "left"
    torch.manual_seed(1000 + seed)
    rewards = []
    for start in range(0, len(test_prompts), 16):
        chunk = test_prompts[start : start + 16]
        encoded = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False)
        output = model.generate(
            **encoded, max_new_tokens=12, do_sample=True, top_k=0, num_return_sequences=2,
            pad_token_id=tokenizer.pad_token_id,
        )  # fmt: skip
        texts = tokenizer.batch_decode(output[:, encoded["input_ids"].shape[1] :], skip_special_tokens=True)
        scores = sentiment_scores(texts)
        rewards.extend((scores[2 * i] + scores[2 * i + 1]) / 2 for i in range(len(chunk)))
    tail = [r for r, s in zip(rewards, test_scores) if s < 0]
    texts = [t[:500] for t in reference_texts("heldout")[1::2]]
    return {
        "reward": statistics.mean(rewards),
        "tail_reward": statistics.mean(tail),
        "perplexity": perplexity(model, tokenizer, texts, seq_len=128, max_windows=48),
    }


def train_ppo(train_prompts, alpha: float, seed: int, steps: int, workdir: Path):
    from datasets import Dataset

    from hf_ext.trainers.cvar_ppo_config import CVaRPPOConfig
    from hf_ext.trainers.cvar_ppo_trainer import CVaRPPOTrainer

    model, tokenizer = reference_lm()
    args = CVaRPPOConfig(
        output_dir=str(workdir / f"ppo-{alpha}-{seed}"), max_steps=steps, per_device_train_batch_size=16,
        num_ppo_epochs=2, num_mini_batches=2, learning_rate=2e-4, lr_scheduler_type="constant",
        kl_coef=0.05, kl_target=6.0, max_new_tokens=12, alpha=alpha, risk_warmup_steps=steps // 4,
        risk_reach_fraction=0.75, seed=seed, **COMMON,
    )  # fmt: skip
    trainer = CVaRPPOTrainer(
        model=model.train(), args=args, processing_class=tokenizer, reward_funcs=sentiment_reward,
        train_dataset=Dataset.from_dict({"prompt": train_prompts}),
    )  # fmt: skip
    trainer.train()
    return trainer.policy, tokenizer


def train_grpo(train_prompts, alpha: float, seed: int, steps: int, workdir: Path):
    from datasets import Dataset

    from hf_ext.trainers.cvar_grpo_config import CVaRGRPOConfig
    from hf_ext.trainers.cvar_grpo_trainer import CVaRGRPOTrainer

    model, tokenizer = reference_lm()
    args = CVaRGRPOConfig(
        output_dir=str(workdir / f"grpo-{alpha}-{seed}"), max_steps=steps, per_device_train_batch_size=16,
        num_generations=4, max_completion_length=12, learning_rate=2e-4, lr_scheduler_type="constant",
        alpha=alpha, risk_warmup_steps=steps // 4, risk_reach_fraction=0.75, seed=seed, bf16=False,
        gradient_checkpointing=False, **COMMON,
    )  # fmt: skip
    trainer = CVaRGRPOTrainer(
        model=model.train(), reward_funcs=sentiment_reward, args=args, processing_class=tokenizer,
        train_dataset=Dataset.from_dict({"prompt": train_prompts}),
    )  # fmt: skip
    trainer.train()
    return trainer.model, tokenizer


METHODS = {
    "reference LM (no RL)": None,
    "PPO (alpha=1)": (train_ppo, 1.0),
    "CVaR-PPO (alpha=0.4)": (train_ppo, 0.4),
    "GRPO (alpha=1)": (train_grpo, 1.0),
    "CVaR-GRPO (alpha=0.4)": (train_grpo, 0.4),
}


def summarize(values: list[float]) -> str:
    mean = statistics.mean(values)
    return f"{mean:+.3f} ± {statistics.stdev(values):.3f}" if len(values) > 1 else f"{mean:+.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    options = parser.parse_args()
    torch.set_num_threads(1)  # the machine is shared; one thread per process is the steadier choice
    train_prompts, test_prompts, test_scores = prompt_sets()
    results: dict[str, list[dict[str, float]]] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in options.methods:
            for seed in range(options.seeds):
                if METHODS[name] is None:
                    model, tokenizer = reference_lm()
                else:
                    train, alpha = METHODS[name]
                    model, tokenizer = train(train_prompts, alpha, seed, options.steps, Path(tmp))
                row = evaluate(model, tokenizer, test_prompts, test_scores, seed)
                results.setdefault(name, []).append(row)
                print(name, seed, row, f"{time.perf_counter() - started:.0f} s", flush=True)
    settings = {
        "steps": options.steps, "seeds": options.seeds, "train_prompts": len(train_prompts),
        "test_prompts": len(test_prompts), "tail_prompts": sum(s < 0 for s in test_scores),
        "batch": 16, "max_new_tokens": 12, "alpha": 0.4, "risk_warmup_steps": options.steps // 4,
        "risk_reach_fraction": 0.75, "learning_rate": 2e-4,
        "wall_seconds": round(time.perf_counter() - started),
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"settings": settings, "runs": results}, indent=2), encoding="utf-8")
    print("\n| method | reward ↑ | tail reward ↑ | perplexity ↓ |\n|---|---|---|---|")
    for name, rows in results.items():
        cells = [summarize([row[key] for row in rows]) for key in ("reward", "tail_reward")]
        ppl = [row["perplexity"] for row in rows]
        ppl_cell = f"{statistics.mean(ppl):.1f}" + (f" ± {statistics.stdev(ppl):.1f}" if len(ppl) > 1 else "")
        print(f"| {name} | {cells[0]} | {cells[1]} | {ppl_cell} |")
    print(f"\nsettings: {settings}")


if __name__ == "__main__":
    main()
