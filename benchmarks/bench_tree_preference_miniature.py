"""Offline miniature of TP-LLaMA's experiment: SFT vs SFT + step-wise / path-wise / adaptive tree DPO.

Everything is built here, on CPU, with no pretrained weights (none are reachable on these machines):

1. the offline tool world's scripted expert (``noise`` mistakes per step, injected API faults) grows DFSDT
   trees on training queries of the chosen groups (default G1, G2 and G3); their success paths are the SFT
   data (``tree_sft_dataset``, loss on the assistant steps only);
2. a small Llama (random init; by default a byte-level BPE trained on those SFT conversations, in which a
   value such as ``Osaka`` is the same tokens in the query, the call and the observation, and a compact
   rendering of the system prompt) first learns to copy (``copy_pretrain``: synthetic induction-head
   sequences, ``--copy-pretrain-steps``; without it the model never copies a value into a call) and is then
   trained on them with TRL's SFT (by default once, with seed 0, and shared by all seeds: SFT is the
   costliest stage);
3. the SFT model grows its own DFSDT trees on training queries; TP-LLaMA's pairs are mined from them and
   from the expert's trees (``--pairs-from own|expert|both``);
4. four policies: (a) SFT only, (b) SFT + step-wise DPO, (c) SFT + path-wise DPO, (d) SFT + step-wise DPO
   with adaptive preference scaling (all through ``TreePreferenceTrainer``, reference = the SFT model);
5. each grows DFSDT trees on held-out test queries (never seen in training; new ones for every seed); we
   report the pass rate (the world's exact gold check; unanswered queries are failures) and the mean
   number of policy calls per query ("steps") per group, for every seed, and the mean over seeds.

Every field of :class:`Setting` is a command-line flag (``--sft-epochs 12``, ``--groups G1 G2 G3``...).

    python benchmarks/bench_tree_preference_miniature.py [--seeds 3] [--sft-epochs 14] ...
    python benchmarks/bench_tree_preference_miniature.py --tiny      # the smoke setting the tests run

Writes ``benchmarks/results/tree_preference_miniature.json`` (``--out`` to change) and prints a Markdown
table. The model is tiny and trained for minutes, so read the numbers as a check of the whole pipeline and
of the direction of effects at this scale, not as a replication of the paper's 7B results.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "tree_preference_miniature.json"
# The tiny tokenizer's chat template with the assistant turns marked for TRL's ``assistant_only_loss``; it
# renders exactly the same text as the original.
MARKED_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|assistant|>' }}{% generation %}{{ message['content'] + '</s>' }}{% endgeneration %}{{ '\n' }}"
    "{% else %}{{ '<|' + message['role'] + '|>' + message['content'] + '</s>' + '\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)
# ``system_prompt="compact"``: the same template, but the system message (ToolLLaMA's instructions + one JSON
# schema per function, as hf_ext.data.tool_trees renders it) is shown as one short instruction and one
# ``name(required arguments)`` per function. It is a rendering of the same messages, so SFT, DPO and the
# search all see it alike; the trees on disk keep the full prompt.
COMPACT_TEMPLATE = MARKED_TEMPLATE.replace(
    "{% else %}",
    "{% elif message['role'] == 'system' and 'one per line):' in message['content'] %}"
    "{{ '<|system|>Solve the task step by step: Action: <function>, Action Input: <JSON>; end with Finish"
    " (give_answer with final_answer, or give_up_and_restart). Functions:' }}"
    "{% for line in message['content'].split('one per line):\n')[1].split('\n') %}"
    "{{ ' ' + line.split('\"name\":\"')[1].split('\"')[0] + '('"
    " + line.split('\"required\":[')[1].split(']')[0].replace('\"', '') + ')' }}"
    "{% endfor %}{{ '</s>\n' }}"
    "{% else %}",
    1,
)
VARIANTS = ("sft", "sft+step-dpo", "sft+path-dpo", "sft+step-adaptive-dpo")
GROUPS = ("G1", "G2", "G3")  # the groups the world has


@dataclass
class Setting:
    """Sizes of one run (defaults: the real miniature; :meth:`tiny`: the smoke test)."""

    seeds: int = 3
    groups: tuple[str, ...] = ("G1", "G2", "G3")
    # training queries per group, or all there are when a group has fewer (train split: G1 491, G2 142, G3 71)
    train_per_group: int = 140
    test_per_group: int = 6
    distractors: int = 0  # the system prompt lists only the query's APIs (and Finish)
    expert_noise: float = 0.3
    fault_rate: float = 0.1
    hidden_size: int = 128
    layers: int = 2
    vocab_size: int = 2048
    # "prose": the package's byte-level BPE trained on English prose; "world": a byte-level BPE of the same
    # size trained here on the training split's SFT conversations only (held-out queries stay unseen), split
    # on spaces and punctuation but not on "_", so function names and the world's entity values are short
    tokenizer: str = "world"
    # "full": the system message as the trees hold it (ToolLLaMA's instructions + every function's JSON
    # schema); "compact": one short instruction and ``name(required arguments)`` per function (shorter
    # sequences for a small model; same messages, rendered by the chat template)
    system_prompt: str = "compact"
    batch_size: int = 8  # sequences per optimizer step (SFT and DPO)
    sft_epochs: int = 14
    sft_lr: float = 3e-3
    sft_schedule: str = "cosine"  # SFT learning-rate schedule (transformers' lr_scheduler_type), 5 % warmup
    sft_loss: str = "assistant"  # "assistant": loss on the model's steps only; "all": on every token
    thoughts: bool = (
        False  # train (SFT and DPO) on steps with their Thought, or on Action + Action Input only
    )
    shared_sft: bool = True  # one SFT model (seed 0) for every seed; seeds then vary the rest
    own_tree_queries: int = 36  # training queries the SFT model grows its own trees on (0: all)
    sft_format: str = "conversation"  # "conversation": one example per success path; "steps": one per step
    dpo_steps: int = 12
    dpo_lr: float = 5e-4
    beta: float = 0.1
    max_length: int = (
        512  # tokens per training sequence; the policy sees the last max_length - max_new_tokens
    )
    max_new_tokens: int = 48
    temperature: float = 0.0  # sampling temperature of the test runs; 0: greedy decoding
    own_temperature: float = 0.7  # temperature of the SFT model's own (pair-mining) trees; < 0: temperature
    beam_width: int = 2
    max_steps: int = 12
    max_queries: int = 5
    variants: tuple[str, ...] = VARIANTS
    # DPO pairs from "own": the SFT model's trees (the wording), "expert": the expert's trees (as
    # TP-LLaMA mines ToolBench's ChatGPT trees), or "both"
    pairs_from: str = "both"
    # steps of synthetic copy pretraining before SFT (random world-token sequences in which a span reappears;
    # see copy_pretrain); 0: SFT starts from the random init (results/tree_preference_miniature_no_copy.json)
    copy_pretrain_steps: int = 1500
    notes: list[str] = field(default_factory=list)

    @classmethod
    def tiny(cls) -> Setting:
        return cls(
            seeds=1,
            groups=("G1",),
            train_per_group=3,
            test_per_group=1,
            hidden_size=32,
            layers=1,
            vocab_size=512,
            batch_size=2,
            thoughts=True,
            sft_schedule="constant",
            own_temperature=-1.0,
            sft_epochs=1,
            dpo_steps=1,
            max_new_tokens=8,
            max_queries=2,
            max_length=1024,
            variants=("sft", "sft+step-dpo"),
            pairs_from="expert",
            shared_sft=False,
            distractors=1,
            own_tree_queries=0,
            sft_format="steps",
            temperature=0.7,
            copy_pretrain_steps=2,
        )

    def __post_init__(self) -> None:
        from hf_ext.errors import HFExtError

        if self.tokenizer not in ("prose", "world"):
            raise HFExtError(f"tokenizer must be 'prose' or 'world', got {self.tokenizer!r}")
        if self.system_prompt not in ("full", "compact"):
            raise HFExtError(f"system_prompt must be 'full' or 'compact', got {self.system_prompt!r}")
        if self.batch_size < 1:
            raise HFExtError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.temperature < 0:
            raise HFExtError(f"temperature must be >= 0 (0: greedy), got {self.temperature}")
        unknown = sorted(set(self.groups) - set(GROUPS))
        if unknown:
            raise HFExtError(f"groups: unknown {unknown}; the world has {list(GROUPS)}")


def _common_args(
    output_dir: str, seed: int, batch_size: int = 2, schedule: str = "constant"
) -> dict[str, Any]:
    return {
        "output_dir": output_dir,
        "report_to": "none",
        "use_cpu": True,
        "bf16": False,
        "disable_tqdm": True,
        "save_strategy": "no",
        "logging_steps": 1,
        "seed": seed,
        "per_device_train_batch_size": batch_size,
        "lr_scheduler_type": schedule,
        "warmup_steps": 0 if schedule == "constant" else 0.05,  # a float < 1: a fraction of the steps
    }


def world_tokenizer(trees_dir: Path, vocab_size: int, model_max_length: int):
    """A byte-level BPE trained on the text of the SFT conversations in ``trees_dir`` (the training split),
    with the tiny tokenizer's special tokens and chat template. Pre-tokenization cuts text into letter runs
    (``_`` included, so ``weather_for_weathernow`` can be one token), digit runs, punctuation runs and
    spaces, and spaces never join a word: ``Osaka`` is the same token in the query, in ``{"city": "Osaka"}``
    and in an observation, so copying a value is copying a token."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    from hf_ext.data.tool_trees import tree_sft_dataset
    from hf_ext.testing.tokenizer import BOS, CHAT_TEMPLATE, EOS, PAD, ROLE_TOKENS, SPECIAL_TOKENS, UNK

    texts = [m["content"] for row in tree_sft_dataset(trees_dir)["messages"] for m in row]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"[A-Za-z_]+|[0-9]+|[^\sA-Za-z0-9_]+|\s+"), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])  # fmt: skip
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )  # fmt: skip
    backend.train_from_iterator(texts, trainer=trainer)
    bos = backend.token_to_id(BOS)
    backend.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token=BOS, eos_token=EOS, pad_token=PAD, unk_token=UNK,
        additional_special_tokens=list(ROLE_TOKENS), chat_template=CHAT_TEMPLATE,
        model_max_length=model_max_length,
    )  # fmt: skip


def build_model(setting: Setting, seed: int, trees_dir: Path | None = None):
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    from hf_ext.testing import tiny_tokenizer

    if setting.tokenizer == "world":
        tokenizer = world_tokenizer(trees_dir, setting.vocab_size, setting.max_length + 256)
    else:
        tokenizer = tiny_tokenizer(vocab_size=setting.vocab_size, model_max_length=setting.max_length + 256)
    # same text (or the compact system message); lets SFT put the loss on the assistant turns only
    tokenizer.chat_template = COMPACT_TEMPLATE if setting.system_prompt == "compact" else MARKED_TEMPLATE
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=setting.hidden_size,
        intermediate_size=4 * setting.hidden_size, num_hidden_layers=setting.layers, num_attention_heads=4,
        num_key_value_heads=4, max_position_embeddings=setting.max_length + 256, tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def train_sft(model, tokenizer, trees_dir: Path, setting: Setting, seed: int, workdir: Path):
    from trl import SFTConfig, SFTTrainer

    from hf_ext.data.tool_trees import tree_sft_dataset

    data = tree_sft_dataset(trees_dir, include_thought=setting.thoughts).remove_columns(["query_id"])
    if setting.sft_format == "steps":
        data = step_examples(data)
    args = SFTConfig(
        **_common_args(str(workdir / "sft"), seed, setting.batch_size, setting.sft_schedule),
        num_train_epochs=setting.sft_epochs,
        learning_rate=setting.sft_lr, max_length=setting.max_length, truncation_mode="keep_end",
        assistant_only_loss=setting.sft_loss == "assistant",
    )  # fmt: skip
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer)
    trainer.train()
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    return trainer.model.eval(), {
        "sft_examples": len(data),
        "sft_loss_first": losses[0],
        "sft_loss_last": losses[-1],
    }


def copy_batch(vocab, batch_size: int, length: int, generator):
    """Induction-head data: ``batch_size`` rows of ``length`` tokens; the first half is drawn uniformly from
    ``vocab`` (a 1-D tensor of token ids), the second half is spans of 3 to 8 tokens, each copied from a
    random place of the first half (so the distance to the source varies and only its content tells where
    to look). Returns ``(ids, labels)``; ``labels`` is -100 except where the token follows from the copy
    (every token of a span but its first), so the loss and the copy accuracy count copying only (chance:
    ``1 / len(vocab)``).

    >>> import torch
    >>> ids, labels = copy_batch(torch.arange(10, 60), 4, 32, torch.Generator().manual_seed(0))
    >>> ids.shape, bool(((labels == -100) | (labels == ids)).all()), bool((labels[:, :16] == -100).all())
    (torch.Size([4, 32]), True, True)
    """
    import torch

    half = length // 2
    ids = vocab[torch.randint(len(vocab), (batch_size, length), generator=generator)]
    labels = torch.full_like(ids, -100)
    for row in range(batch_size):
        position = half
        while position < length:
            span = min(int(torch.randint(3, 9, (1,), generator=generator)), length - position)
            source = int(torch.randint(0, half - span + 1, (1,), generator=generator))
            ids[row, position : position + span] = ids[row, source : source + span]
            labels[row, position + 1 : position + span] = ids[row, position + 1 : position + span]
            position += span
    return ids, labels


def copy_accuracy(model, vocab, length: int, seed: int, batch_size: int = 64) -> float:
    """Greedy next-token accuracy on the copyable positions of fresh :func:`copy_batch` rows."""
    import torch

    ids, labels = copy_batch(vocab, batch_size, length, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        predicted = model(input_ids=ids).logits[:, :-1].argmax(-1)
    target, mask = labels[:, 1:], labels[:, 1:] != -100
    return float((predicted[mask] == target[mask]).float().mean())


def copy_pretrain(
    model, tokenizer, steps: int, seed: int, *, length: int = 64, batch_size: int = 32, lr: float = 1e-3
) -> dict[str, Any]:
    """Give the randomly initialised model a copying mechanism before SFT: ``steps`` AdamW steps of
    next-token loss on :func:`copy_batch` sequences over the tokenizer's ordinary tokens (every token but the
    special ones), so that copying a value from the query or an observation into a call is a skill the model
    has before it sees a tool call. Trains ``model`` in place; returns the copy accuracy on fresh sequences
    before and after (the held-out rows use another seed than the training rows).

    >>> from transformers import LlamaConfig, LlamaForCausalLM
    >>> from hf_ext.testing import tiny_tokenizer
    >>> tok = tiny_tokenizer(vocab_size=300)
    >>> model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
    ...     num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2))
    >>> sorted(copy_pretrain(model, tok, 2, seed=0, length=16, batch_size=2))
    ['copy_accuracy_after', 'copy_accuracy_before', 'copy_pretrain_loss_last', 'copy_pretrain_seconds']
    """
    import torch

    from hf_ext.testing.reference import train_steps

    if steps <= 0:
        return {}
    started = time.perf_counter()
    special = set(tokenizer.all_special_ids)
    vocab = torch.tensor([i for i in range(len(tokenizer)) if i not in special])
    generator = torch.Generator().manual_seed(seed)
    model.eval()
    before = copy_accuracy(model, vocab, length, seed + 10_000)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(  # linear warmup over 5 %, then cosine to 0
        optimizer,
        lambda s: min(1.0, (s + 1) / max(1, steps // 20)) * 0.5 * (1 + math.cos(math.pi * s / steps)),
    )
    loss = train_steps(
        model,
        lambda: copy_batch(vocab, batch_size, length, generator),
        steps,
        optimizer,
        schedule,
        desc="copy pretraining",
        mininterval=10,
    )
    model.eval()
    after = copy_accuracy(model, vocab, length, seed + 10_000)
    model.train()
    return {
        "copy_accuracy_before": round(before, 4),
        "copy_accuracy_after": round(after, 4),
        "copy_pretrain_loss_last": round(loss, 4),
        "copy_pretrain_seconds": round(time.perf_counter() - started, 1),
    }


def step_examples(conversations):
    """One prompt/completion example per assistant step of each SFT conversation: the loss is on that step
    and, with ``truncation_mode="keep_end"``, the model learns from the end of the prompt it will see."""
    from datasets import Dataset

    rows = []
    for messages in conversations["messages"]:
        for index, message in enumerate(messages):
            if message["role"] == "assistant":
                rows.append({"prompt": messages[:index], "completion": [message]})
    return Dataset.from_list(rows)


def train_dpo(
    sft_model, tokenizer, trees_dir: Path, variant: str, setting: Setting, seed: int, workdir: Path
):
    import copy

    from hf_ext.trainers.tree_preference_config import TreePreferenceConfig
    from hf_ext.trainers.tree_preference_trainer import TreePreferenceTrainer

    args = TreePreferenceConfig(
        **_common_args(str(workdir / variant), seed, setting.batch_size), max_steps=setting.dpo_steps,
        learning_rate=setting.dpo_lr, beta=setting.beta, max_length=setting.max_length,
        truncation_mode="keep_end",
        pair_mode="path" if "path" in variant else "step", adaptive_scaling="adaptive" in variant,
        include_thought=setting.thoughts,
    )  # fmt: skip
    policy, reference = copy.deepcopy(sft_model).train(), copy.deepcopy(sft_model).eval()
    trainer = TreePreferenceTrainer(
        model=policy, ref_model=reference, args=args, train_dataset=str(trees_dir), processing_class=tokenizer
    )
    trainer.train()
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    return trainer.model.eval(), {"pairs": trainer.tree_stats.get("pairs"), "dpo_loss_last": losses[-1]}


def grow(model, tokenizer, world, queries, out_dir: Path, setting: Setting, seed: int, temperature=None):
    from hf_ext.agents.dfsdt import TransformersPolicy, run_dfsdt

    temperature = setting.temperature if temperature is None else temperature
    policy = TransformersPolicy(
        model, tokenizer, max_new_tokens=setting.max_new_tokens, temperature=temperature or 1.0,
        do_sample=temperature > 0, seed=seed, max_prompt_tokens=setting.max_length - setting.max_new_tokens,
    )  # fmt: skip
    return run_dfsdt(
        policy,
        world,
        queries,
        beam_width=setting.beam_width,
        max_steps=setting.max_steps,
        max_queries=setting.max_queries,
        out_dir=out_dir,
        progress=False,
    )


def expert_and_sft(setting: Setting, seed: int, workdir: Path) -> dict[str, Any]:
    """Training queries of ``seed``, the noisy expert's trees on them, and the SFT model trained on their
    success paths."""
    from hf_ext.agents.dfsdt import run_dfsdt
    from hf_ext.agents.evaluate import score_answers
    from hf_ext.agents.scripted import ScriptedWorldPolicy
    from hf_ext.agents.tools import OfflineToolWorld

    world = OfflineToolWorld(seed=seed, fault_rate=setting.fault_rate)
    train = _queries(world, setting, seed, "train", setting.train_per_group)
    expert_dir = workdir / "expert-trees"
    expert = ScriptedWorldPolicy(train, noise=setting.expert_noise, seed=seed)
    run_dfsdt(expert, world, train, out_dir=expert_dir, progress=False)
    started = time.perf_counter()
    model, tokenizer = build_model(setting, seed, expert_dir)
    copy_info = copy_pretrain(model, tokenizer, setting.copy_pretrain_steps, seed)
    sft_model, info = train_sft(model, tokenizer, expert_dir, setting, seed, workdir)
    info["sft_seconds"] = round(time.perf_counter() - started, 1)
    info["sft_seed"] = seed
    info.update(copy_info)
    info["expert_train_pass_rate"] = score_answers(expert_dir, train, world.check_answer).pass_rate
    return {
        "train": train,
        "expert_dir": expert_dir,
        "model": sft_model,
        "tokenizer": tokenizer,
        "info": info,
    }


def _queries(world, setting: Setting, seed: int, split: str, n: int) -> list[dict]:
    """``n`` queries of ``split`` per group (training: all there are when a group has fewer, e.g. G3)."""
    return [q for g in setting.groups for q in world.generate_queries(
        n, g, seed=seed, split=split, distractors=setting.distractors, strict=split == "test")]  # fmt: skip


def run_seed(setting: Setting, seed: int, workdir: Path, sft: dict[str, Any] | None = None) -> dict[str, Any]:
    """One seed: SFT (or the shared ``sft``), the SFT model's own trees, the DPO variants, the test run."""
    from hf_ext.agents.evaluate import score_answers
    from hf_ext.agents.tools import OfflineToolWorld
    from hf_ext.data.tool_trees import iter_inference_trees, mine_pairs

    started = time.perf_counter()
    sft = sft or expert_and_sft(setting, seed, workdir)
    train, expert_dir, sft_model, tokenizer = sft["train"], sft["expert_dir"], sft["model"], sft["tokenizer"]
    info = dict(sft["info"])
    world = OfflineToolWorld(seed=seed, fault_rate=setting.fault_rate)
    test = _queries(world, setting, seed, "test", setting.test_per_group)
    own_dir, own_queries = workdir / "sft-trees", train[: setting.own_tree_queries or len(train)]
    own_temperature = setting.temperature if setting.own_temperature < 0 else setting.own_temperature
    grow(sft_model, tokenizer, world, own_queries, own_dir, setting, seed, own_temperature)
    info["sft_train_pass_rate"] = score_answers(own_dir, own_queries, world.check_answer).pass_rate
    for mode in ("step", "path"):
        info[f"own_{mode}_pairs"] = sum(1 for _ in mine_pairs(iter_inference_trees(own_dir), mode))
    pairs_dir = _pairs_dir(setting.pairs_from, own_dir, expert_dir, workdir / "pair-trees")
    available = {
        mode: sum(1 for _ in mine_pairs(iter_inference_trees(pairs_dir), mode)) for mode in ("step", "path")
    }
    results: dict[str, Any] = {}
    for variant in setting.variants:
        if variant == "sft":
            model_v, extra = sft_model, {}
        else:
            if available["path" if "path" in variant else "step"] == 0:
                results[variant] = {"skipped": f"no pairs in the {setting.pairs_from} trees"}
                continue
            model_v, extra = train_dpo(sft_model, tokenizer, pairs_dir, variant, setting, seed, workdir)
        test_dir = _grown(grow(model_v, tokenizer, world, test, workdir / f"test-{variant}", setting, seed))
        report = score_answers(test_dir, test, world.check_answer)
        results[variant] = {
            "pass_rate": report.pass_rate,
            "mean_steps": report.overall.mean_steps,
            "unanswered": len(report.unanswered),
            "groups": {
                g: {"pass_rate": s.pass_rate, "mean_steps": s.mean_steps} for g, s in report.groups.items()
            },
            "step_codes": step_codes(test_dir),
            **extra,
        }
    info["seconds"] = round(time.perf_counter() - started, 1)
    return {"seed": seed, "info": info, "variants": results}


def step_codes(trees_dir: Path) -> dict[str, int]:
    """How the policy's steps ended in the trees of ``trees_dir``: observation codes of every step (``Action
    Input`` node below the root) counted by name, e.g. how many called an unknown function. Shows where a
    policy fails and whether two policies fail differently even when their pass rates are equal."""
    from hf_ext.data.tool_trees import OBSERVATION_CODES, iter_inference_trees

    counts: dict[str, int] = {}
    for tree in iter_inference_trees(trees_dir):
        for node in tree.root.walk():
            if node.node_type == "Action Input" and node is not tree.root:
                name = OBSERVATION_CODES.get(node.observation_code, str(node.observation_code))
                counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def _pairs_dir(pairs_from: str, own_dir: Path, expert_dir: Path, both_dir: Path) -> Path:
    if pairs_from in ("own", "expert"):
        return own_dir if pairs_from == "own" else expert_dir
    for name, source in (("own", own_dir), ("expert", expert_dir)):  # the loader searches sub-folders
        (both_dir / name).mkdir(parents=True, exist_ok=True)
        for tree in source.glob("*.json"):
            shutil.copyfile(tree, both_dir / name / tree.name)
    return both_dir


def _grown(results) -> Path:
    return results[0].path.parent


def _mean_sd(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0}


def summarize(runs: list[dict[str, Any]], setting: Setting) -> dict[str, Any]:
    """Per policy: pass rate and mean steps over seeds (mean and sd), overall and per group."""
    summary = {}
    for variant in setting.variants:
        done = [run["variants"][variant] for run in runs if "pass_rate" in run["variants"].get(variant, {})]
        if not done:
            summary[variant] = {"seeds": 0}
            continue
        rates = _mean_sd([v["pass_rate"] for v in done])
        summary[variant] = {
            "seeds": len(done),
            "pass_rate_mean": rates["mean"],
            "pass_rate_sd": rates["sd"],
            "mean_steps": statistics.fmean(v["mean_steps"] for v in done),
            "groups": {
                g: {
                    "pass_rate": _mean_sd([v["groups"][g]["pass_rate"] for v in done]),
                    "mean_steps": _mean_sd([v["groups"][g]["mean_steps"] for v in done]),
                }
                for g in setting.groups
            },
        }
    return summary


def table(summary: dict[str, Any], setting: Setting) -> str:
    """Markdown: pass rate (mean ± sd over seeds) overall and per group, then mean steps per group."""
    steps = [f"{g} steps" for g in setting.groups]
    head = f"| policy | seeds | pass rate | {' | '.join(setting.groups)} | {' | '.join(steps)} | mean steps |"
    lines = [head, "|" + "---|" * (4 + 2 * len(setting.groups))]
    for variant, row in summary.items():
        if not row["seeds"]:
            lines.append(f"| {variant} | 0 | not run (no pairs) |" + " |" * (2 * len(setting.groups) + 1))
            continue
        groups = [row["groups"][g] for g in setting.groups]
        rates = " | ".join(f"{g['pass_rate']['mean']:.3f} ± {g['pass_rate']['sd']:.3f}" for g in groups)
        step_cells = " | ".join(
            f"{g['mean_steps']['mean']:.2f} ± {g['mean_steps']['sd']:.2f}" for g in groups
        )
        lines.append(
            f"| {variant} | {row['seeds']} | {row['pass_rate_mean']:.3f} ± {row['pass_rate_sd']:.3f} | "
            f"{rates} | {step_cells} | {row['mean_steps']:.2f} |"
        )
    return "\n".join(lines)


def run(setting: Setting, out: Path | None = RESULTS, workdir: Path | None = None) -> dict[str, Any]:
    """Run every seed; write ``out`` (JSON) unless ``None``; return the results."""
    with tempfile.TemporaryDirectory(prefix="hfx-tp-miniature-") as scratch:
        base = Path(workdir or scratch)
        runs: list[dict[str, Any]] = []
        shared = expert_and_sft(setting, 0, base / "shared-sft") if setting.shared_sft else None
        for seed in range(setting.seeds):  # the file is rewritten after every seed: a long run shows progress
            runs.append(run_seed(setting, seed, base / f"seed{seed}", shared))
            result = {"setting": asdict(setting), "runs": runs, "summary": summarize(runs, setting)}
            result["table"] = table(result["summary"], setting)
            if out is not None:
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(result, indent=2))
    return result


def _yes_no(text: str) -> bool:
    if text.lower() not in ("yes", "no", "true", "false", "1", "0"):
        raise argparse.ArgumentTypeError(f"expected yes or no, got {text!r}")
    return text.lower() in ("yes", "true", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="the smoke setting (seconds)")
    defaults = Setting()
    for item in fields(Setting):  # every size of the setting can be changed, e.g. --sft-epochs 12
        if item.name == "notes":
            continue
        flag, value = "--" + item.name.replace("_", "-"), getattr(defaults, item.name)
        if isinstance(value, tuple):
            parser.add_argument(flag, nargs="+", help=f"default: {' '.join(value)}")
        elif isinstance(value, bool):
            parser.add_argument(flag, type=_yes_no, help=f"yes/no, default: {value}")
        else:
            parser.add_argument(flag, type=type(value), help=f"default: {value}")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    setting = Setting.tiny() if args.tiny else Setting()
    for item in fields(Setting):
        given = getattr(args, item.name, None)
        if given is not None:
            setattr(setting, item.name, tuple(given) if isinstance(given, list) else given)
    result = run(setting, args.out)
    print(result["table"])
    print("No pretrained weights: a small Llama trained from scratch here on the offline tool world.")


if __name__ == "__main__":
    main()
