"""``reference_lm()``: a small Llama *trained* on offline English prose, so perplexity means something.

The model (about 4M parameters: 4 layers, width 256, 8 heads, vocabulary 4096, tied embeddings) is trained
from scratch with AdamW for 300 steps of 16 x 128 tokens on the training split of
:mod:`hf_ext.data.prose` (CPython's bundled documentation, PSF License). That takes about 5.5 minutes on
2 CPU cores; the build uses every core the process may use, whatever torch thread count the caller set.
The result is saved with safetensors under ``cache_dir()/reference_lm/<key>`` together with
``reference_lm.json`` (perplexities before and after training, data source, timing), so it is built once per
machine. Concurrent callers (two ranks, parallel tests) wait on a file lock instead of building twice.

Example:
    >>> from hf_ext.testing import reference_lm, reference_lm_info
    >>> model, tokenizer = reference_lm()          # builds on first call, then loads from the cache
    >>> info = reference_lm_info()
    >>> info["heldout_perplexity"] < info["untrained_heldout_perplexity"] / 10
    True
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock
from tqdm.auto import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

from hf_ext.data.prose import PROSE_SOURCE, prose_split
from hf_ext.evaluation.perplexity import perplexity, token_stream
from hf_ext.testing.cache_keys import recipe_key
from hf_ext.testing.tokenizer import tiny_tokenizer
from hf_ext.utils import atomic_write_text, cache_dir

REFERENCE_MODEL = {
    "hidden_size": 256,
    "intermediate_size": 672,
    "num_hidden_layers": 4,
    "num_attention_heads": 8,
    "num_key_value_heads": 8,
    "max_position_embeddings": 1024,
    "tie_word_embeddings": True,
}
REFERENCE_TRAINING = {
    "vocab_size": 4096,
    "steps": 300,
    "batch_size": 16,
    "seq_len": 128,
    "learning_rate": 3e-3,
    "warmup_steps": 20,
    "weight_decay": 0.01,
    "seed": 0,
}
EVAL_SEQ_LEN = 128
INFO_FILE = "reference_lm.json"


def reference_lm_path() -> Path:
    """The folder of the trained reference LM (built on first use); loadable by path, e.g. by lm-eval."""
    target = cache_dir() / "reference_lm" / recipe_key(REFERENCE_MODEL, REFERENCE_TRAINING, 1)
    if (target / INFO_FILE).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not (target / INFO_FILE).exists():
            staging = target.with_name(target.name + ".partial")
            shutil.rmtree(staging, ignore_errors=True)
            with every_core():  # callers often pin torch to one thread; the build is worth all of them
                build_reference_lm(staging)
            staging.rename(target)
    return target


@contextmanager
def every_core():
    """Run torch on every CPU this process may use, then restore the caller's thread count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(max(previous, len(os.sched_getaffinity(0))))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def reference_lm(dtype: torch.dtype = torch.float32):
    """``(model, tokenizer)`` of the trained reference LM, in eval mode."""
    path = reference_lm_path()
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    return model.eval(), AutoTokenizer.from_pretrained(path)


def reference_lm_info() -> dict[str, Any]:
    """What ``reference_lm.json`` records: perplexities, data source and licence, build time."""
    return json.loads((reference_lm_path() / INFO_FILE).read_text())


def reference_texts(split: str = "heldout") -> tuple[str, ...]:
    """The prose the reference LM was trained on (``"train"``) or never saw (``"heldout"``)."""
    train, heldout = prose_split()
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', got {split!r}")
    return train if split == "train" else heldout


def train_steps(
    model,
    next_batch: Callable[[], tuple[torch.Tensor, torch.Tensor]],
    steps: int,
    optimizer,
    scheduler,
    *,
    desc: str,
    mininterval: float = 0.1,
) -> float:
    """``steps`` optimizer steps of next-token loss on ``next_batch()``'s ``(input_ids, labels)``, gradients
    clipped to norm 1, the scheduler stepped after each; returns the last loss. Shared by the reference LM's
    build and the tool-world miniature's copy pretraining.

    >>> import torch
    >>> from hf_ext.testing import tiny_causal_lm
    >>> model, _ = tiny_causal_lm("llama", seed=0)
    >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    >>> ids = torch.randint(4, 50, (2, 8), generator=torch.Generator().manual_seed(0))
    >>> train_steps(model, lambda: (ids, ids), 3, optimizer, scheduler, desc="demo") > 0
    True
    """
    progress = tqdm(range(steps), desc=desc, leave=False, mininterval=mininterval)
    loss = torch.tensor(float("nan"))
    for _ in progress:
        input_ids, labels = next_batch()
        loss = model(input_ids=input_ids, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        progress.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    return loss.item()


def build_reference_lm(save_dir: Path) -> Path:
    """Train the reference LM from scratch and save it (model, tokenizer, ``reference_lm.json``)."""
    settings = REFERENCE_TRAINING
    started = time.perf_counter()
    tokenizer = tiny_tokenizer(vocab_size=settings["vocab_size"], num_paragraphs=10**9, model_max_length=1024)
    train_texts, heldout_texts = reference_texts("train"), reference_texts("heldout")
    stream = token_stream(tokenizer, train_texts)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **REFERENCE_MODEL,
    )
    generator = torch.Generator().manual_seed(settings["seed"])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings["seed"])
        model = AutoModelForCausalLM.from_config(config)
    untrained = perplexity(model, tokenizer, heldout_texts, seq_len=EVAL_SEQ_LEN)

    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=settings["learning_rate"],
        weight_decay=settings["weight_decay"],
        betas=(0.9, 0.95),
    )
    steps, warmup = settings["steps"], settings["warmup_steps"]

    def lr_factor(step: int) -> float:  # linear warm-up, then cosine to 10%
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    seq_len, batch_size = settings["seq_len"], settings["batch_size"]

    def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
        starts = torch.randint(0, len(stream) - seq_len, (batch_size,), generator=generator)
        batch = torch.stack([stream[s : s + seq_len] for s in starts.tolist()])
        return batch, batch

    model.train()
    train_steps(model, next_batch, steps, optimizer, scheduler, desc="training reference LM")
    model.eval()

    info = {
        "untrained_heldout_perplexity": untrained,
        "heldout_perplexity": perplexity(model, tokenizer, heldout_texts, seq_len=EVAL_SEQ_LEN),
        "train_perplexity": perplexity(model, tokenizer, train_texts, seq_len=EVAL_SEQ_LEN, max_windows=256),
        "eval_seq_len": EVAL_SEQ_LEN,
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "train_tokens": len(stream),
        "data_source": PROSE_SOURCE,
        "model": REFERENCE_MODEL,
        "training": settings,
        "build_seconds": round(time.perf_counter() - started, 1),
    }
    model.save_pretrained(save_dir, safe_serialization=True)
    tokenizer.save_pretrained(save_dir)
    atomic_write_text(save_dir / INFO_FILE, json.dumps(info, indent=2))
    return save_dir
