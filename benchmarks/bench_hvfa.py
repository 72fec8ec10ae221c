"""HVFA against single-scale and naive multi-scale reading: visual tokens, LLM prefill time, images per
second, and a miniature quality comparison on synthetic pages.

Part 1 (speed). One random-init Idefics3 host per mode, identical except for the HVFA switches: crops of 64
pixels (8x8 patches of 8, pixel shuffle 2: 16 tokens per crop), a 4-layer Llama of width 256. For page sizes
from a receipt to a poster (the pixel sizes of real pages scaled to the crop size, as 512-pixel crops would
see them), it measures the visual tokens the language model reads, the language model's prefill time on the
whole prompt, and the full forward (vision encoder + aggregation + prefill) as images per second; medians of
``--repeats`` runs, one thread. Modes: single scale (global + base grid), naive multi-scale (global + base +
2x grid, every crop becomes tokens) and HVFA (the 2x grid pooled into the base grid).

Part 2 (miniature quality). Tiny random-init models (32-pixel crops, 16 tokens per crop) trained here from
scratch, full fine-tuning, on synthetic pages with RTPP and DocVQA-style targets, same steps and data per
mode, over ``--seeds`` seeds; held-out pages (other seeds) give the mean answer-token NLL and exact match of
greedy answers. No pretrained weights exist on this machine: these models start from noise and see a few
thousand examples, so absolute numbers say little; only the comparison between modes at equal steps does.

Writes ``benchmarks/results/hvfa.json`` and prints Markdown tables.

    nice -n 10 python benchmarks/bench_hvfa.py [--repeats 5] [--seeds 3] [--steps 150] [--skip-miniature]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from hf_ext.multimodal.documents import render_page, synthetic_pages, synthetic_qa, synthetic_rtpp
from hf_ext.multimodal.hvfa.layout import select_grid
from hf_ext.testing.hvfa import tiny_hvfa

RESULTS = Path(__file__).parent / "results" / "hvfa.json"
MODES = {
    "single-scale": {"hvfa_scales": 2},
    "naive multi-scale": {"hvfa_scales": 3, "multiscale_mode": "concat"},
    "HVFA": {"hvfa_scales": 3, "multiscale_mode": "aggregate"},
}
# name, height, width of real pages at 512-pixel crops (scaled below to the benchmark's crop size)
PAGES = [("receipt", 1200, 400), ("letter", 1100, 850), ("report", 1600, 1200), ("poster", 1800, 2400)]
SPEED_MODEL = {
    "vision": {"image_size": 64, "patch_size": 8, "hidden_size": 64, "intermediate_size": 128},
    "text": {"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 4, "num_attention_heads": 4,
             "num_key_value_heads": 4},
    "num_pooling_heads": 4,
}  # fmt: skip
QUALITY_MODEL = {"vision": {"image_size": 32, "patch_size": 4}, "max_crops": 6}


class PrefillTimer:
    """Times the language model's forward with hooks (the vision tower and aggregation run before it)."""

    def __init__(self, module: torch.nn.Module):
        self.seconds: list[float] = []
        module.register_forward_pre_hook(lambda *_: setattr(self, "_start", time.perf_counter()))
        module.register_forward_hook(lambda *_: self.seconds.append(time.perf_counter() - self._start))


def speed(repeats: int) -> list[dict]:
    """Round-robin over the modes inside every repeat, so a shared machine's load hits all modes alike."""
    built = {mode: tiny_hvfa(**SPEED_MODEL, **switches, max_crops=9) for mode, switches in MODES.items()}
    timers = {mode: PrefillTimer(model.model.text_model) for mode, (model, _) in built.items()}
    crop = next(iter(built.values()))[0].config.crop_size
    rows = []
    for name, height, width in PAGES:
        image = render_page(0, name).image.resize((width * crop // 512, height * crop // 512))
        inputs = {mode: processor(text=["<image>What is the total?"], images=[[image]], return_tensors="pt")
                  for mode, (_, processor) in built.items()}  # fmt: skip
        totals: dict[str, list[float]] = {mode: [] for mode in MODES}
        with torch.no_grad():
            for mode, (model, _) in built.items():
                model(**inputs[mode])  # warm-up
                timers[mode].seconds.clear()
            for _ in range(repeats):
                for mode, (model, _) in built.items():
                    start = time.perf_counter()
                    model(**inputs[mode])
                    totals[mode].append(time.perf_counter() - start)
        grid = select_grid(image.height, image.width, crop, 9)
        for mode, (_, processor) in built.items():
            median = statistics.median(totals[mode])
            rows.append({
                "mode": mode, "page": name, "pixels": [image.width, image.height], "grid": list(grid),
                "visual_tokens": int((inputs[mode]["input_ids"] == processor.image_token_id).sum()),
                "prompt_tokens": int(inputs[mode]["input_ids"].shape[1]),
                "prefill_ms": 1000 * statistics.median(timers[mode].seconds), "forward_ms": 1000 * median,
                "images_per_second": 1 / median,
            })  # fmt: skip
    return rows


def examples(num_pages: int, seed: int, max_words: int) -> list[dict]:
    """RTPP and QA (prompt, target, image) rows for ``num_pages`` pages of one seed."""
    pages = synthetic_pages(num_pages, seed=seed, scale=0.3)
    rtpp = synthetic_rtpp(pages, seed=seed, max_target_words=max_words)
    qa = synthetic_qa(pages, seed=seed)
    rows = [{"prompt": r["prompt"], "target": r["target"], "image": r["image"]} for r in rtpp]
    return rows + [{"prompt": r["question"], "target": r["answer"], "image": r["image"]} for r in qa]


def batch_for(processor, rows: list[dict]) -> dict:
    """Prompt + target + eos; labels only on the target and eos."""
    tokenizer = processor.tokenizer
    prompts = [f"<image>{row['prompt']}\n" for row in rows]
    full = [prompt + row["target"] + tokenizer.eos_token for prompt, row in zip(prompts, rows)]
    inputs = processor(text=full, images=[[row["image"]] for row in rows], padding=True, return_tensors="pt")
    labels = inputs["input_ids"].clone()
    labels[inputs["attention_mask"] == 0] = -100
    for index, prompt in enumerate(prompts):
        prompt_length = len(processor(text=[prompt], images=[[rows[index]["image"]]])["input_ids"][0])
        labels[index, :prompt_length] = -100
    inputs["labels"] = labels
    return inputs


def train_and_evaluate(mode: str, seed: int, steps: int, train: list[dict], heldout: list[dict], batch: int):
    model, processor = tiny_hvfa(seed=seed, **QUALITY_MODEL, **MODES[mode], reconstruction_weight=0.1)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(steps):
        picked = torch.randint(len(train), (batch,), generator=generator).tolist()
        output = model(**batch_for(processor, [train[i] for i in picked]))
        loss = output.loss + (0.1 * output.reconstruction_loss if mode == "HVFA" else 0.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    train_seconds = time.perf_counter() - start
    model.eval()
    nll, exact = [], []
    with torch.no_grad():
        for row in heldout:
            nll.append(float(model(**batch_for(processor, [row])).loss))
            prompt = processor(
                text=[f"<image>{row['prompt']}\n"], images=[[row["image"]]], return_tensors="pt"
            )
            new = model.generate(**prompt, max_new_tokens=12, do_sample=False)[
                0, prompt["input_ids"].shape[1] :
            ]
            answer = processor.tokenizer.decode(new, skip_special_tokens=True).strip()
            exact.append(float(answer == row["target"]))
    return {"mode": mode, "seed": seed, "heldout_nll": statistics.mean(nll),
            "exact_match": statistics.mean(exact), "train_seconds": train_seconds}  # fmt: skip


def miniature(seeds: int, steps: int, train_pages: int, heldout_pages: int, batch: int, max_words: int):
    train = examples(train_pages, seed=0, max_words=max_words)
    heldout = examples(heldout_pages, seed=1000, max_words=max_words)
    return [
        train_and_evaluate(mode, seed, steps, train, heldout, batch)
        for seed in range(seeds)
        for mode in MODES
    ]


def summarise(rows: list[dict]) -> dict:
    out = {}
    for mode in MODES:
        mine = [row for row in rows if row["mode"] == mode]
        out[mode] = {
            key: [statistics.mean(r[key] for r in mine), statistics.pstdev(r[key] for r in mine)]
            for key in ("heldout_nll", "exact_match", "train_seconds")
        }
    return out


def main(argv: list[str] | None = None, results: Path = RESULTS) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--train-pages", type=int, default=64)
    parser.add_argument("--heldout-pages", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max-words", type=int, default=8)
    parser.add_argument("--skip-miniature", action="store_true")
    parser.add_argument("--skip-speed", action="store_true", help="keep the speed rows of the results file")
    parser.add_argument("--out", type=Path, default=None, help=f"results file (default {RESULTS})")
    options = parser.parse_args(argv)
    results = options.out or results
    torch.set_num_threads(1)
    previous = json.loads(results.read_text(encoding="utf-8")) if results.exists() else {}
    result: dict = dict(previous)
    if not (options.skip_speed and "speed" in previous):
        result["speed"], result["speed_settings"] = speed(options.repeats), {"repeats": options.repeats}
    print("| page | mode | grid | visual tokens | prefill (ms) | forward (ms) | images/s |")
    print("|---|---|---|---|---|---|---|")
    for row in sorted(result["speed"], key=lambda r: [p[0] for p in PAGES].index(r["page"])):
        print(f"| {row['page']} {row['pixels'][0]}x{row['pixels'][1]} | {row['mode']} "
              f"| {row['grid'][0]}x{row['grid'][1]} "
              f"| {row['visual_tokens']} | {row['prefill_ms']:.1f} | {row['forward_ms']:.1f} "
              f"| {row['images_per_second']:.1f} |")  # fmt: skip
    if not options.skip_miniature:
        rows = miniature(options.seeds, options.steps, options.train_pages, options.heldout_pages,
                         options.batch, options.max_words)  # fmt: skip
        settings = {key: getattr(options, key) for key in ("seeds", "steps", "train_pages", "heldout_pages",
                                                             "batch", "max_words")}  # fmt: skip
        result["miniature"] = {"settings": settings, "runs": rows, "summary": summarise(rows)}
        print("\n| mode | held-out answer NLL | exact match | train time (s) |\n|---|---|---|---|")
        for mode, stats in result["miniature"]["summary"].items():
            print(f"| {mode} | {stats['heldout_nll'][0]:.3f} ± {stats['heldout_nll'][1]:.3f} "
                  f"| {stats['exact_match'][0]:.3f} ± {stats['exact_match'][1]:.3f} "
                  f"| {stats['train_seconds'][0]:.0f} |")  # fmt: skip
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
