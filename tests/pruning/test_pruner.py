"""SlimGPTPruner end to end on tiny models: GQA/MHA shapes, loadable output, resume, bad input."""

import json

import pytest
import torch
from transformers import AutoModelForCausalLM, Qwen3Config

from hf_ext import SlimGPTConfig, SlimGPTPruner
from hf_ext.pruning.baselines import MagnitudeSPPruner, WandaSPPruner
from hf_ext.testing import reference_lm, save_tiny_causal_lm, tiny_causal_lm, tiny_tokenizer

SMALL = {"num_calibration_samples": 8, "calibration_seq_len": 64}


def tiny_qwen3():
    config = Qwen3Config(
        vocab_size=512,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(config).eval(), tiny_tokenizer(vocab_size=512)


def model_and_tokenizer(arch):
    if arch == "qwen3":
        return tiny_qwen3()
    return tiny_causal_lm(arch)


def folder_snapshot(path):
    return {p.name: p.stat().st_mtime_ns for p in sorted(path.iterdir())}


@pytest.mark.parametrize("arch", ["llama", "mistral", "qwen2", "qwen3"])
def test_prune_save_reload_generate(arch, prose, tmp_path):
    model, tokenizer = model_and_tokenizer(arch)
    decoder_before = sum(p.numel() for p in model.model.layers.parameters())
    source = tmp_path / "source"
    model.save_pretrained(source)
    tokenizer.save_pretrained(source)
    before = folder_snapshot(source)
    config = SlimGPTConfig(sparsity=0.45, **SMALL)
    pruner = SlimGPTPruner.from_pretrained(str(source), config=config)
    pruned = pruner.prune(calibration_dataset=prose, save_dir=tmp_path / "pruned")

    dense_kv = model.config.num_key_value_heads
    group_size = model.config.num_attention_heads // dense_kv
    sizes = pruner.summary["layer_sizes"]
    assert any(s["num_key_value_heads"] < dense_kv for s in sizes)  # some heads really went
    for layer, size in zip(pruned.model.layers, sizes):
        attention = layer.self_attn
        assert size["num_attention_heads"] == size["num_key_value_heads"] * group_size  # still valid (G)QA
        assert attention.q_proj.out_features == size["num_attention_heads"] * attention.head_dim
        assert attention.k_proj.out_features == size["num_key_value_heads"] * attention.head_dim
        assert (
            layer.mlp.gate_proj.out_features == size["intermediate_size"] == layer.mlp.down_proj.in_features
        )
    assert abs(pruner.summary["achieved_sparsity"] - 0.45) <= 0.02
    decoder_after = sum(p.numel() for p in pruned.model.layers.parameters())
    assert 1 - decoder_after / decoder_before == pytest.approx(pruner.summary["achieved_sparsity"], abs=1e-3)
    assert folder_snapshot(source) == before  # nothing written into the source folder

    saved = json.loads((tmp_path / "pruned" / "config.json").read_text())
    assert saved["model_type"] == f"hfx_slim_{arch}" and "auto_map" not in saved
    assert saved["per_layer_config"]
    assert json.loads((tmp_path / "pruned" / "slimgpt_config.json").read_text())["sparsity"] == 0.45

    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "pruned")
    inputs = torch.randint(3, 500, (2, 16))
    torch.testing.assert_close(reloaded(inputs).logits, pruned(inputs).logits, rtol=0, atol=0)
    cached = reloaded.generate(inputs[:1], max_new_tokens=6, do_sample=False, use_cache=True)
    uncached = reloaded.generate(inputs[:1], max_new_tokens=6, do_sample=False, use_cache=False)
    assert torch.equal(cached, uncached)
    assert sum(p.numel() for p in reloaded.parameters()) == pruner.summary["parameters_after"]


def two_layer_reference_lm():
    """The trained reference LM cut to its first two decoder layers (keeps the test short)."""
    model, tokenizer = reference_lm()
    model.model.layers = model.model.layers[:2]
    model.config.num_hidden_layers = 2
    return model, tokenizer


def layer0_outputs(model, tokens):
    with torch.no_grad():
        return model(input_ids=tokens, output_hidden_states=True).hidden_states[1]


@pytest.mark.slow
def test_slimgpt_layer_error_is_lower_than_magnitude_and_wanda(prose):
    from hf_ext.pruning.calibration import calibration_tokens

    settings = {
        "sparsity": 0.3,
        "schedule": "uniform",
        "num_calibration_samples": 16,
        "calibration_seq_len": 128,
    }
    dense, tokenizer = two_layer_reference_lm()
    tokens = calibration_tokens(prose, tokenizer, 16, 64)  # the windows the pruners calibrate on
    dense_outputs = layer0_outputs(dense, tokens)
    errors, sizes = {}, {}
    for pruner_class in (SlimGPTPruner, WandaSPPruner, MagnitudeSPPruner):
        model, tokenizer = two_layer_reference_lm()
        pruner = pruner_class(model, tokenizer, pruner_class.config_class(**settings))
        pruned = pruner.prune(calibration_dataset=prose)
        name = pruner.config.method_name()
        errors[name] = (layer0_outputs(pruned, tokens) - dense_outputs).pow(2).mean().item()
        sizes[name] = pruner.summary["layer_sizes"]
    assert sizes["slimgpt"] == sizes["wanda-sp"] == sizes["magnitude-sp"]  # equal parameter counts
    assert errors["slimgpt"] < errors["wanda-sp"]
    assert errors["slimgpt"] < errors["magnitude-sp"]


class Interrupted(RuntimeError):
    pass


def test_resume_after_interruption_gives_the_same_model(prose, tmp_path, monkeypatch):
    config = SlimGPTConfig(sparsity=0.4, **SMALL)
    inputs = torch.randint(3, 500, (2, 16))

    model, tokenizer = tiny_causal_lm("qwen2", num_hidden_layers=3)
    uninterrupted = SlimGPTPruner(model, tokenizer, config).prune(calibration_dataset=prose)

    original = SlimGPTPruner._prune_layer

    def crash_on_layer_1(self, index, *args):
        if index == 1:
            raise Interrupted("simulated crash")
        return original(self, index, *args)

    monkeypatch.setattr(SlimGPTPruner, "_prune_layer", crash_on_layer_1)
    model, tokenizer = tiny_causal_lm("qwen2", num_hidden_layers=3)
    with pytest.raises(Interrupted):
        SlimGPTPruner(model, tokenizer, config).prune(
            calibration_dataset=prose, checkpoint_dir=tmp_path / "ckpt"
        )
    assert json.loads((tmp_path / "ckpt" / "progress.json").read_text())["completed_layers"] == 1

    monkeypatch.setattr(SlimGPTPruner, "_prune_layer", original)
    calls = []
    monkeypatch.setattr(
        SlimGPTPruner,
        "_prune_layer",
        lambda self, index, *a: (calls.append(index), original(self, index, *a)),
    )
    model, tokenizer = tiny_causal_lm("qwen2", num_hidden_layers=3)
    resumed = SlimGPTPruner(model, tokenizer, config).prune(
        calibration_dataset=prose, checkpoint_dir=tmp_path / "ckpt"
    )
    assert calls == [1, 2]  # layer 0 came from the checkpoint
    torch.testing.assert_close(resumed(inputs).logits, uninterrupted(inputs).logits, rtol=0, atol=0)

    other = SlimGPTConfig(sparsity=0.2, **SMALL)
    model, tokenizer = tiny_causal_lm("qwen2", num_hidden_layers=3)
    with pytest.raises(ValueError, match="different run"):
        SlimGPTPruner(model, tokenizer, other).prune(
            calibration_dataset=prose, checkpoint_dir=tmp_path / "ckpt"
        )


def test_unsupported_architecture_is_rejected():
    model, tokenizer = tiny_causal_lm("gpt2")
    with pytest.raises(ValueError, match="unsupported architecture 'gpt2'.*llama, mistral, qwen2, qwen3"):
        SlimGPTPruner(model, tokenizer, SlimGPTConfig())


def test_too_little_calibration_text_is_rejected():
    model, tokenizer = tiny_causal_lm("llama")
    pruner = SlimGPTPruner(model, tokenizer, SlimGPTConfig(**SMALL))
    with pytest.raises(ValueError, match="too little calibration text"):
        pruner.prune(calibration_dataset=["Only one short sentence here."])
    with pytest.raises(ValueError, match="needs calibration_dataset"):
        pruner.prune()


def test_save_dir_equal_to_or_inside_the_source_is_rejected(prose, tmp_path):
    source = save_tiny_causal_lm(tmp_path / "tiny", "llama")
    before = folder_snapshot(source)
    for target in (source, source / "pruned"):
        pruner = SlimGPTPruner.from_pretrained(str(source), config=SlimGPTConfig(**SMALL))
        with pytest.raises(ValueError, match="source model's folder"):
            pruner.prune(calibration_dataset=prose, save_dir=target)
    assert folder_snapshot(source) == before


def test_calibration_forms_give_the_same_windows(prose):
    from datasets import Dataset

    from hf_ext.pruning.calibration import calibration_tokens

    tokenizer = tiny_tokenizer()
    from_texts = calibration_tokens(prose, tokenizer, 4, 32, seed=3)
    assert tuple(from_texts.shape) == (4, 32)
    from_dataset = calibration_tokens(Dataset.from_dict({"text": prose}), tokenizer, 4, 32, seed=3)
    assert torch.equal(from_texts, from_dataset)
    assert torch.equal(calibration_tokens(from_texts, tokenizer, 4, 32), from_texts)
    optimum_style = [{"input_ids": row[None], "attention_mask": torch.ones(1, 32)} for row in from_texts]
    assert torch.equal(calibration_tokens(optimum_style, tokenizer, 4, 32), from_texts)
    assert torch.equal(calibration_tokens(from_texts.tolist(), tokenizer, 4, 16), from_texts[:, :16])
    with pytest.raises(ValueError, match="'text' column"):
        calibration_tokens(Dataset.from_dict({"body": prose}), tokenizer, 4, 32)
    with pytest.raises(ValueError, match="unknown calibration dataset 'c5'"):
        calibration_tokens("c5", tokenizer, 4, 32)
    with pytest.raises(ValueError, match="too little calibration data"):
        calibration_tokens(from_texts, tokenizer, 5, 32)
