"""How much the tie rule matters: tail size under ``tail_ties="exact_count"`` and ``"quantile"``.

Reference-LM continuations (12 tokens) of held-out openings, in batches of ``--batch`` episodes, scored by
two rewards: VADER compound sentiment of the completion (``hf_ext.rewards.sentiment_reward``, 0 for most
continuations of this technical prose) and the dense classifier reward of ``bench_ra_rlhf_tail.py``. For each
batch and level, the kept fraction under the exact-count rule (hf-ext's default) and the quantile rule (the
official RA-RLHF code) is reported, averaged over batches.

    python benchmarks/bench_cvar_ties.py [--prompts 256] [--batch 16]

Writes ``benchmarks/results/cvar_ties.json`` (or ``--out``) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from hf_ext.objectives.risk import cvar_mask
from hf_ext.rewards import sentiment_reward
from hf_ext.testing import reference_lm, reference_texts

sys.path.insert(0, str(Path(__file__).parent))
from bench_ra_rlhf_tail import classifier_reward  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "cvar_ties.json"
LEVELS = (0.2, 0.4, 0.7)


@torch.no_grad()
def continuations(prompts: list[str], seed: int = 0) -> list[str]:
    model, tokenizer = reference_lm()
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    torch.manual_seed(seed)
    texts = []
    for start in range(0, len(prompts), 32):
        encoded = tokenizer(
            prompts[start : start + 32], return_tensors="pt", padding=True, add_special_tokens=False
        )
        output = model.generate(
            **encoded, max_new_tokens=12, do_sample=True, top_k=0, pad_token_id=tokenizer.pad_token_id
        )
        texts += tokenizer.batch_decode(output[:, encoded["input_ids"].shape[1] :], skip_special_tokens=True)
    return texts


def kept_fractions(rewards: torch.Tensor, batch: int) -> dict[str, dict[str, float]]:
    """Mean kept fraction per level and tie rule over consecutive batches of ``batch`` episodes."""
    batches = rewards[: len(rewards) // batch * batch].view(-1, batch)
    result = {}
    for level in LEVELS:
        result[str(level)] = {
            ties: torch.stack([cvar_mask(row, level, gather=False, ties=ties) for row in batches])
            .float()
            .mean()
            .item()
            for ties in ("exact_count", "quantile")
        }
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--out", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    torch.set_num_threads(1)
    prompts = [" ".join(p.split()[:6]) for p in reference_texts("heldout")][: arguments.prompts]
    texts = continuations(prompts)
    rewards = {
        "VADER compound of the completion": torch.tensor(sentiment_reward(prompts, texts)),
        "classifier logit of prompt + completion": torch.tensor(classifier_reward(prompts, texts)),
    }
    report = {
        "settings": {"prompts": len(prompts), "batch": arguments.batch, "new_tokens": 12},
        "zero_share": {name: (r == 0).float().mean().item() for name, r in rewards.items()},
        "kept_fraction": {name: kept_fractions(r, arguments.batch) for name, r in rewards.items()},
    }
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(
        "| reward | share of exact zeros | "
        + " | ".join(f"kept at level {lv}: exact / quantile" for lv in LEVELS)
        + " |"
    )
    print("|---|---|" + "---|" * len(LEVELS))
    for name, fractions in report["kept_fraction"].items():
        cells = [
            f"{fractions[str(lv)]['exact_count']:.2f} / {fractions[str(lv)]['quantile']:.2f}" for lv in LEVELS
        ]
        print(f"| {name} | {report['zero_share'][name]:.0%} | " + " | ".join(cells) + " |")
    return report


if __name__ == "__main__":
    main()
