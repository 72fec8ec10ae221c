"""The HVFA step of ``hf-ext quickstart``: pages, RTPP data, one LoRA training step, visual-token counts.

Example:
    >>> from pathlib import Path
    >>> from hf_ext.quickstart.hvfa import step
    >>> lines = step(Path("quickstart-out"))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from hf_ext.multimodal.documents import render_page, synthetic_pages, synthetic_rtpp, to_prompt_completion
from hf_ext.multimodal.hvfa.layout import num_visual_tokens, select_grid

# (name, height, width) from a receipt to a poster, with SmolVLM-like crops: 512 pixels, 64 tokens each
PAGE_SIZES = [("receipt", 1200, 400), ("letter", 1100, 850), ("report", 1600, 1200), ("poster", 1800, 2400)]


def token_table(crop_size: int = 512, tokens_per_crop: int = 64, max_crops: int = 9) -> list[str]:
    """Visual tokens the language model reads per page size: single scale, naive multi-scale, HVFA."""
    lines = []
    for name, height, width in PAGE_SIZES:
        grid = select_grid(height, width, crop_size, max_crops)
        single = num_visual_tokens(grid, tokens_per_crop, scales=2)
        naive = num_visual_tokens(grid, tokens_per_crop, scales=3, multiscale_mode="concat")
        hvfa = num_visual_tokens(grid, tokens_per_crop, scales=3, multiscale_mode="aggregate")
        lines.append(
            f"hvfa: {name} {width}x{height}, grid {grid[0]}x{grid[1]}: single-scale {single}, "
            f"naive multi-scale {naive}, HVFA {hvfa} visual tokens"
        )
    return lines


def step(workdir: Path) -> list[str]:
    """Four rendered pages, RTPP rows, one HVFA-SFT step with LoRA on a tiny random model, token counts."""
    from peft import LoraConfig

    from hf_ext.testing.hvfa import tiny_hvfa
    from hf_ext.trainers.hvfa_sft_config import HVFASFTConfig
    from hf_ext.trainers.hvfa_sft_trainer import HVFASFTTrainer

    out = workdir / "hvfa"
    out.mkdir(parents=True, exist_ok=True)
    for kind in ("receipt", "report"):
        render_page(0, kind, scale=0.6).image.save(out / f"page_{kind}.png")
    pages = synthetic_pages(4, seed=0, scale=0.3)
    rtpp = synthetic_rtpp(pages, seed=0, max_target_words=16)
    example = rtpp[0]
    model, processor = tiny_hvfa()
    trainer = HVFASFTTrainer(
        model=model,
        args=HVFASFTConfig(
            output_dir=str(out / "sft"),
            max_steps=1,
            per_device_train_batch_size=4,
            max_length=None,
            report_to="none",
            use_cpu=True,
            save_strategy="no",
            gradient_checkpointing=False,
            logging_steps=1,
        ),
        train_dataset=to_prompt_completion(rtpp),
        processing_class=processor,
        peft_config=LoraConfig(r=4, target_modules=["q_proj", "v_proj"]),
    )
    trainer.train()
    log = next(entry for entry in trainer.state.log_history if "reconstruction_loss" in entry)
    return [
        f"hvfa: rendered pages in {out} (page_receipt.png, page_report.png)",
        f"hvfa: RTPP {example['task']} example: {example['prompt']!r} -> {example['target'][:60]!r}",
        f"hvfa: one LoRA step on a tiny random HVFA model: loss {log['loss']:.3f}, "
        f"reconstruction loss {log['reconstruction_loss']:.4f} (random weights: no pretrained model here)",
        *token_table(),
    ]
