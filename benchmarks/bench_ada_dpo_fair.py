"""Ada-DPO against a beta-tuned DPO on the reference LM: gold reward and KL to the reference.

The LLM half of the paper's claim (Hong et al. 2024): preference optimisation with adaptive per-pair scaling
gives a better policy than DPO. Protocol, in miniature:

- Policy and reference: the 4M-parameter reference LM trained here (``hf_ext.testing.reference_lm``; no
  pretrained LM weights exist on this machine).
- Gold reward: the sentiment classifier of ``bench_ra_rlhf_tail.py`` (logit of the completion).
- Data per seed: for each training prompt (the first ``--prompt-tokens`` tokens of a paragraph of one half of
  the held-out prose) two reference samples of ``--new-tokens`` tokens, labelled by Bradley-Terry noise on
  the gold reward (the first wins with probability ``sigmoid(g1 - g2)``).
- Equal tuning grids: DPO with beta in {0.03, 0.1, 0.3, 1}; Ada-DPO with beta 0.1 (tau in the code
  convention, tau_min 0.1, so ``beta / tau`` spans 0.033-1, the DPO grid's range) and rho in {0.05, 0.1, 0.3}
  x tau_max in {1, 3}. Same data, optimiser (Adam, ``--lr``), epochs and batch for every setting of a seed.
  The losses are :func:`hf_ext.objectives.adaptive_preference_loss` on ``z = beta * h`` (the trainer's math)
  and ``-log sigmoid(beta * h)``; the loop is a plain PyTorch one so that the grid fits on a CPU.
- Metrics on the other half's prompts (fixed sampling seed, ``--eval-samples`` per prompt): gold reward of
  the policy's samples and their KL to the reference (mean over samples of the summed log-ratio).
- Each method's best setting by mean gold reward on the selection seeds (every setting runs there); paired
  differences (gold reward and KL) of the two best on the held-out seeds (only those two run there).

    python benchmarks/bench_ada_dpo_fair.py [--select-seeds 5] [--heldout-seeds 10]

Writes ``benchmarks/results/ada_dpo_fair.json`` (or ``--out``) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from hf_ext.objectives import adaptive_preference_loss
from hf_ext.testing import reference_lm, reference_texts
from hf_ext.utils import atomic_write_text

sys.path.insert(0, str(Path(__file__).parent))
from bench_ra_rlhf_tail import classifier, resumed  # noqa: E402  (gold reward and resume, shared with RA-RLHF)

RESULTS = Path(__file__).parent / "results" / "ada_dpo_fair.json"
PROMPT_WORDS = 6
DPO_BETAS = (0.03, 0.1, 0.3, 1.0)
ADA_BETA, TAU_MIN = 0.1, 0.1
ADA_GRID = tuple((rho, tau_max) for rho in (0.05, 0.1, 0.3) for tau_max in (1.0, 3.0))
SETTINGS = [("dpo", beta, 0.0, 0.0) for beta in DPO_BETAS] + [
    ("ada", ADA_BETA, rho, tau_max) for rho, tau_max in ADA_GRID
]


def setting_name(setting: tuple) -> str:
    method, beta, rho, tau_max = setting
    return (
        f"DPO beta={beta:g}" if method == "dpo" else f"Ada-DPO beta={beta:g} rho={rho:g} tau_max={tau_max:g}"
    )


def gold_reward(texts: list[str]) -> torch.Tensor:
    return torch.tensor(classifier().score(texts))


def prompt_ids(tokenizer, paragraphs: list[str], length: int) -> torch.Tensor:
    """``[len(paragraphs), length]``: the first ``length`` tokens of each paragraph (no special tokens).

    Prompts of equal token length need no padding, so no step spends compute on pad positions (with
    word-count openings, the longest of 256 prompts set a width of 30 tokens where the median is 8).
    """
    rows = [tokenizer(p, add_special_tokens=False)["input_ids"][:length] for p in paragraphs]
    short = [i for i, row in enumerate(rows) if len(row) < length]
    if short:
        raise ValueError(f"paragraph {short[0]} has fewer than {length} tokens")
    return torch.tensor(rows)


@torch.no_grad()
def sample(model, tokenizer, prompts: torch.Tensor, per_prompt: int, new_tokens: int, seed: int):
    """``(input_ids [N, P + T], prompt mask [N, P], prompt width P, completion texts)``, N = prompts x
    per_prompt; exactly ``new_tokens`` sampled tokens per completion (``min_new_tokens``)."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    model.eval()
    output = model.generate(
        input_ids=prompts, attention_mask=torch.ones_like(prompts), max_new_tokens=new_tokens,
        min_new_tokens=new_tokens, do_sample=True, top_k=0, num_return_sequences=per_prompt,
        pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    torch.random.set_rng_state(state)
    width = prompts.shape[1]
    prompt_mask = torch.ones(len(output), width, dtype=torch.long)
    texts = tokenizer.batch_decode(output[:, width:], skip_special_tokens=True)
    return output, prompt_mask, width, texts


def sequence_logprobs(model, input_ids: torch.Tensor, prompt_mask: torch.Tensor, width: int) -> torch.Tensor:
    """Summed log-probability of the completion tokens (positions ``width`` on) of each row; the model
    computes logits only where they predict a completion token (``logits_to_keep``)."""
    attention = torch.cat([prompt_mask, torch.ones_like(input_ids[:, width:])], dim=1)
    positions = (attention.cumsum(dim=1) - 1).clamp(min=0)
    keep = input_ids.shape[1] - width + 1
    logits = model(
        input_ids=input_ids, attention_mask=attention, position_ids=positions, logits_to_keep=keep
    ).logits
    logprobs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    return logprobs.gather(2, input_ids[:, width:, None]).squeeze(2).sum(dim=1)


def preference_data(reference, tokenizer, prompts: torch.Tensor, new_tokens: int, seed: int) -> dict:
    """Two reference samples per prompt, BT-labelled by the gold reward, with reference log-probs."""
    ids, mask, width, texts = sample(reference, tokenizer, prompts, 2, new_tokens, seed)
    gold = gold_reward(texts).view(-1, 2)
    generator = torch.Generator().manual_seed(seed)
    first_wins = torch.rand(len(prompts), generator=generator) < torch.sigmoid(gold[:, 0] - gold[:, 1])
    order = torch.stack([(~first_wins).long(), first_wins.long()], dim=1)  # [chosen index, rejected index]
    rows = torch.arange(len(prompts))[:, None] * 2 + order
    with torch.no_grad():
        reference_logprobs = sequence_logprobs(reference, ids, mask, width)
    return {
        "chosen": rows[:, 0], "rejected": rows[:, 1], "ids": ids, "mask": mask, "width": width,
        "reference_logprobs": reference_logprobs,
    }  # fmt: skip


def train(setting: tuple, data: dict, seed: int, arguments):
    method, beta, rho, tau_max = setting
    policy, _ = reference_lm()
    policy.train()
    optimizer = torch.optim.Adam(policy.parameters(), lr=arguments.lr)
    generator = torch.Generator().manual_seed(seed)
    pairs = len(data["chosen"])
    for _ in range(arguments.epochs):
        for batch in torch.randperm(pairs, generator=generator).split(arguments.batch):
            rows = torch.cat([data["chosen"][batch], data["rejected"][batch]])
            logratio = sequence_logprobs(policy, data["ids"][rows], data["mask"][rows], data["width"])
            logratio = logratio - data["reference_logprobs"][rows]
            h = logratio[: len(batch)] - logratio[len(batch) :]
            if method == "dpo":
                loss = -F.logsigmoid(beta * h).mean()
            else:
                per_pair, _ = adaptive_preference_loss(beta * h, rho, TAU_MIN, tau_max)
                loss = per_pair.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return policy.eval()


@torch.no_grad()
def evaluate(policy, reference, tokenizer, prompts: torch.Tensor, arguments) -> dict[str, float]:
    ids, mask, width, texts = sample(
        policy, tokenizer, prompts, arguments.eval_samples, arguments.new_tokens, 4321
    )
    kl = sequence_logprobs(policy, ids, mask, width) - sequence_logprobs(reference, ids, mask, width)
    return {"gold_reward": gold_reward(texts).mean().item(), "kl": kl.mean().item()}


def best_settings(per_setting: dict, names: list[str], selection: list[int]) -> tuple[str, str]:
    """Each method's setting with the highest mean gold reward on the selection seeds."""

    def best(prefix: str) -> str:
        candidates = [n for n in names if n.startswith(prefix)]
        return max(
            candidates,
            key=lambda n: statistics.mean(per_setting[n]["gold_reward"][str(i)] for i in selection),
        )

    return best("DPO "), best("Ada-DPO ")


def compare(per_setting: dict, names: list[str], selection: list[int], heldout: list[int]) -> dict:
    """The two best settings (chosen on ``selection``) paired seed by seed on ``heldout``; ``per_setting``
    maps a setting's name to ``{"gold_reward": {seed: value}, "kl": {seed: value}}`` (seeds as strings)."""
    best_dpo, best_ada = best_settings(per_setting, names, selection)
    result = {"best_dpo": best_dpo, "best_ada": best_ada}
    for key in ("gold_reward", "kl"):
        dpo = [per_setting[best_dpo][key][str(i)] for i in heldout]
        ada = [per_setting[best_ada][key][str(i)] for i in heldout]
        differences = [a - d for a, d in zip(ada, dpo)]
        result[key] = {
            "dpo_mean": statistics.mean(dpo),
            "ada_mean": statistics.mean(ada),
            "difference_mean": statistics.mean(differences),
            "difference_se": statistics.stdev(differences) / math.sqrt(len(differences)),
            "ada_wins": sum(d > 0 for d in differences),
        }
    gain = result["gold_reward"]
    if gain["difference_mean"] > 2 * gain["difference_se"] > 0:
        result["verdict"] = "Ada-DPO better"
    elif gain["difference_mean"] < -2 * gain["difference_se"] < 0:
        result["verdict"] = "DPO better"
    else:
        result["verdict"] = "no significant difference"
    return result


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--select-seeds", type=int, default=5)
    parser.add_argument("--heldout-seeds", type=int, default=10)
    parser.add_argument("--train-prompts", type=int, default=256)
    parser.add_argument("--eval-prompts", type=int, default=64)
    parser.add_argument("--eval-samples", type=int, default=4)
    parser.add_argument("--prompt-tokens", type=int, default=8, help="first tokens of a paragraph")
    parser.add_argument("--new-tokens", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=32, help="pairs per optimiser step")
    parser.add_argument("--lr", type=float, default=4e-4)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--resume", action="store_true",
        help="keep the runs of an unfinished --out written with the same settings and run only the rest",
    )  # fmt: skip
    return parser.parse_args(argv)


PROTOCOL_FIELDS = (
    "select_seeds", "heldout_seeds", "train_prompts", "eval_prompts", "eval_samples", "prompt_tokens",
    "new_tokens", "epochs", "batch", "lr",
)  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    """Selection seeds: every setting. Held-out seeds: only the two settings chosen on the selection seeds
    (all the comparison needs). Writes the results file after every run (``"complete": false`` until the
    end), so an interrupted run can be continued with ``--resume``."""
    arguments = parse_arguments(argv)
    if arguments.heldout_seeds < 2:
        raise SystemExit("--heldout-seeds must be >= 2")
    torch.set_num_threads(arguments.threads)
    started = time.perf_counter()
    reference, tokenizer = reference_lm()
    paragraphs = reference_texts("heldout")
    train_prompts = prompt_ids(
        tokenizer, list(paragraphs[0::2][: arguments.train_prompts]), arguments.prompt_tokens
    )
    eval_prompts = prompt_ids(
        tokenizer, list(paragraphs[1::2][: arguments.eval_prompts]), arguments.prompt_tokens
    )
    seeds = list(range(arguments.select_seeds + arguments.heldout_seeds))
    selection, heldout = seeds[: arguments.select_seeds], seeds[arguments.select_seeds :]
    names = [setting_name(s) for s in SETTINGS]
    by_name = dict(zip(names, SETTINGS))
    saved = resumed(arguments, PROTOCOL_FIELDS)
    per_setting = saved["per_setting"] if saved else {name: {"gold_reward": {}, "kl": {}} for name in names}
    baseline = evaluate(reference, reference, tokenizer, eval_prompts, arguments)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(arguments).items()}

    def save(complete: bool, comparison: dict | None = None) -> dict:
        settings["wall_seconds"] = round(time.perf_counter() - started)
        report = {
            "settings": settings, "complete": complete, "reference": baseline, "comparison": comparison,
            "per_setting": per_setting,
        }  # fmt: skip
        atomic_write_text(arguments.out, json.dumps(report, indent=2) + "\n")
        return report

    def run(seed: int, chosen: list[str]) -> None:
        missing = [n for n in chosen if str(seed) not in per_setting[n]["gold_reward"]]
        if not missing:
            return
        data = preference_data(reference, tokenizer, train_prompts, arguments.new_tokens, seed)
        for name in missing:
            policy = train(by_name[name], data, seed, arguments)
            for key, value in evaluate(policy, reference, tokenizer, eval_prompts, arguments).items():
                per_setting[name][key][str(seed)] = value
            save(complete=False)
            print(f"seed {seed} {name}: {time.perf_counter() - started:.0f} s", flush=True)

    for seed in tqdm(selection, desc="selection seeds (all settings)"):
        run(seed, names)
    best_dpo, best_ada = best_settings(per_setting, names, selection)
    print(f"chosen on seeds {selection}: {best_dpo}; {best_ada}", flush=True)
    for seed in tqdm(heldout, desc="held-out seeds (the two chosen settings)"):
        run(seed, [best_dpo, best_ada])
    report = save(complete=True, comparison=compare(per_setting, names, selection, heldout))
    print(markdown(report))
    print(f"wrote {arguments.out}")
    return report


def markdown(report: dict) -> str:
    c = report["comparison"]
    gold, kl = c["gold_reward"], c["kl"]
    seeds = report["settings"]["heldout_seeds"]
    return "\n".join(
        [
            "| policy | gold reward ↑ | KL to reference |",
            "|---|---|---|",
            f"| reference LM | {report['reference']['gold_reward']:.3f} | 0 |",
            f"| {c['best_dpo']} (best DPO) | {gold['dpo_mean']:.3f} | {kl['dpo_mean']:.3f} |",
            f"| {c['best_ada']} (best Ada-DPO) | {gold['ada_mean']:.3f} | {kl['ada_mean']:.3f} |",
            f"| paired Ada - DPO (± s.e., Ada wins of {seeds}) | {gold['difference_mean']:+.3f} ± "
            f"{gold['difference_se']:.3f} ({gold['ada_wins']}) "
            f"| {kl['difference_mean']:+.3f} ± {kl['difference_se']:.3f} |",
            f"\nverdict: {c['verdict']}",
        ]
    )


if __name__ == "__main__":
    main()
