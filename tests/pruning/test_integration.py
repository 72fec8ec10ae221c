"""A pruned folder in the Hugging Face ecosystem: plain transformers, lm-eval, the Hub, TRL + PEFT, CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from hf_ext import SlimGPTConfig, SlimGPTPruner
from hf_ext.recipes import recipe_path


@pytest.fixture(scope="module")
def pruner(tmp_path_factory, prose, heldout_prose):
    folder = tmp_path_factory.mktemp("slimgpt") / "pruned"
    config = SlimGPTConfig(sparsity=0.35, num_calibration_samples=8, calibration_seq_len=64)
    pruner = SlimGPTPruner.from_pretrained("hf-ext-testing:tiny-llama", config=config)
    pruner.prune(calibration_dataset=prose, save_dir=folder, eval_texts=heldout_prose[:20])
    return pruner


@pytest.fixture(scope="module")
def pruned_dir(pruner):
    return pruner.save_dir


@pytest.fixture(scope="module")
def remote_code_dir(pruner, tmp_path_factory):
    """The same model saved with ``remote_code=True`` (modeling files + ``auto_map``)."""
    folder = pruner.save_dir
    remote = pruner.save(tmp_path_factory.mktemp("slimgpt-remote") / "pruned", remote_code=True)
    pruner.save_dir = folder
    return remote


def _run_without_hf_ext(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """``script`` in a fresh interpreter that cannot import this checkout; stdin closed, as in a batch job."""
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "PYTHONPATH": ""}
    return subprocess.run(
        [sys.executable, "-c", "import sys\nassert 'hf_ext' not in sys.modules\n" + script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


REMOTE_CODE_PROMPT = "Do you wish to run the custom code?"


def test_default_folder_has_no_code_and_its_tokenizer_loads_without_hf_ext(pruned_dir, tmp_path):
    assert "auto_map" not in json.loads((pruned_dir / "config.json").read_text())
    assert not list(pruned_dir.glob("*.py"))
    text = "The statement assigns the value of the expression to the name on the left."
    expected = AutoTokenizer.from_pretrained(pruned_dir).encode(text)
    script = (
        "from transformers import AutoTokenizer\n"
        f"print(AutoTokenizer.from_pretrained({str(pruned_dir)!r}).encode({text!r}))\n"
    )
    result = _run_without_hf_ext(script, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert REMOTE_CODE_PROMPT not in result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(expected)


def test_remote_code_folder_loads_without_hf_ext_with_trust_remote_code(pruner, remote_code_dir, tmp_path):
    assert {"configuration_hfx_slim.py", "modeling_hfx_slim.py"} <= {
        p.name for p in remote_code_dir.iterdir()
    }
    assert json.loads((remote_code_dir / "config.json").read_text())["auto_map"]
    assert "trust_remote_code=True" in (remote_code_dir / "README.md").read_text()
    assert "auto_map" not in json.loads(
        (pruner.save_dir / "config.json").read_text()
    )  # no leak into later saves
    prompt = _run_without_hf_ext(
        f"from transformers import AutoTokenizer\nAutoTokenizer.from_pretrained({str(remote_code_dir)!r})\n",
        tmp_path,
    )
    assert REMOTE_CODE_PROMPT in prompt.stdout + prompt.stderr  # why the code files are opt-in
    model = AutoModelForCausalLM.from_pretrained(remote_code_dir)
    inputs = torch.randint(3, 500, (1, 12))
    save_file(
        {"inputs": inputs, "logits": model(inputs).logits.detach()}, str(tmp_path / "expected.safetensors")
    )
    script = (
        "import torch; from safetensors.torch import load_file\n"
        "from transformers import AutoModelForCausalLM, AutoTokenizer\n"
        f"expected = load_file({str(tmp_path / 'expected.safetensors')!r})\n"
        f"model = AutoModelForCausalLM.from_pretrained({str(remote_code_dir)!r}, trust_remote_code=True)\n"
        f"AutoTokenizer.from_pretrained({str(remote_code_dir)!r}, trust_remote_code=True)\n"
        "assert type(model).__module__.startswith('transformers_modules'), type(model).__module__\n"
        "print(float((model(expected['inputs']).logits - expected['logits']).abs().max()))\n"
    )
    result = _run_without_hf_ext(script, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert REMOTE_CODE_PROMPT not in result.stdout + result.stderr
    assert float(result.stdout.strip().splitlines()[-1]) == 0.0


def test_import_hf_ext_is_enough_for_auto_model_for_causal_lm(pruned_dir, tmp_path, subprocess_env):
    script = (
        "import sys, hf_ext\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
        "from transformers import AutoModelForCausalLM\n"
        f"model = AutoModelForCausalLM.from_pretrained({str(pruned_dir)!r})\n"
        "print(type(model).__name__, 'hf_ext.pruning.slimgpt' in sys.modules)\n"
    )
    env = subprocess_env()
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["SlimLlamaForCausalLM", "False"]  # the import hook did it


def test_lm_eval_hf_model_loads_it_and_scores_like_the_model(pruned_dir):
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(pretrained=str(pruned_dir), dtype="float32", device="cpu", batch_size=1)
    text = "The statement assigns the value of the expression to the name on the left."
    request = Instance(request_type="loglikelihood_rolling", doc={}, arguments=(text,), idx=0)
    (scored,) = lm.loglikelihood_rolling([request], disable_tqdm=True)

    model = AutoModelForCausalLM.from_pretrained(pruned_dir)
    assert lm.tok_encode(text) == AutoTokenizer.from_pretrained(pruned_dir).encode(text)
    ids = [lm.prefix_token_id] + lm.tok_encode(text)
    with torch.no_grad():
        logprobs = model(torch.tensor([ids])).logits.log_softmax(-1)[0, :-1]
    expected = logprobs.gather(1, torch.tensor(ids[1:])[:, None]).sum().item()
    assert scored == pytest.approx(expected, rel=1e-4)


def test_push_to_hub_uploads_the_folder_with_a_model_card(prose, tmp_path, monkeypatch):
    from huggingface_hub import HfApi

    calls = {}
    monkeypatch.setattr(
        HfApi, "create_repo", lambda self, repo_id, **kw: calls.setdefault("create", (repo_id, kw))
    )

    def fake_upload(self, **kwargs):
        calls["upload"] = kwargs
        calls["files"] = sorted(p.name for p in Path(kwargs["folder_path"]).iterdir())
        return "https://huggingface.co/user/tiny-slim/commit/0"

    monkeypatch.setattr(HfApi, "upload_folder", fake_upload)
    config = SlimGPTConfig(sparsity=0.3, num_calibration_samples=8, calibration_seq_len=64)
    pruner = SlimGPTPruner.from_pretrained("hf-ext-testing:tiny-qwen2", config=config)
    with pytest.raises(ValueError, match="saved model"):
        pruner.push_to_hub("user/tiny-slim")
    pruner.prune(
        calibration_dataset=prose, save_dir=tmp_path / "out", eval_texts=prose[:40], remote_code=True
    )
    assert pruner.push_to_hub("user/tiny-slim", private=True).endswith("/commit/0")

    assert calls["create"] == ("user/tiny-slim", {"private": True, "exist_ok": True, "repo_type": "model"})
    assert calls["upload"]["repo_id"] == "user/tiny-slim"
    assert {
        "README.md",
        "config.json",
        "model.safetensors",
        "slimgpt_config.json",
        "modeling_hfx_slim.py",
    } <= set(calls["files"])
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in calls["files"])
    card = (tmp_path / "out" / "README.md").read_text()
    summary = pruner.summary
    assert f"{summary['parameters_after']:,}" in card and "arxiv.org/abs/2412.18110" in card
    assert f"{summary['perplexity']['after']:.2f}" in card
    for index, sizes in enumerate(summary["layer_sizes"]):
        assert f"| {index} | {summary['layer_ratios'][index]:.3f} | {sizes['num_attention_heads']} |" in card


@pytest.mark.slow
def test_lora_recovery_recipe_trains_the_pruned_model(pruned_dir, tmp_path):
    from peft import PeftModel

    from hf_ext.trainers.launch import train_from_recipe

    trainer = train_from_recipe(
        "dpo",
        [
            "--config",
            str(recipe_path("slimgpt/lora_recovery.yaml")),
            "--model_name_or_path",
            str(pruned_dir),
            "--output_dir",
            str(tmp_path / "lora"),
            "--max_steps",
            "4",
        ],
    )
    assert trainer.state.global_step == 4
    base = AutoModelForCausalLM.from_pretrained(pruned_dir)
    inputs = torch.randint(3, 500, (1, 12))
    base_logits = base(inputs).logits
    adapted = PeftModel.from_pretrained(base, tmp_path / "lora")
    assert not torch.allclose(adapted(inputs).logits, base_logits)  # the adapter learned something


def test_cli_prunes_with_a_baseline_and_rejects_the_source_folder(tmp_path, capsys):
    from hf_ext.cli import main
    from hf_ext.testing.names import resolve_model_name

    source = resolve_model_name("hf-ext-testing:tiny-mistral")
    common = [
        "--model",
        source,
        "--calibration-dataset",
        "hf-ext-testing:prose",
        "--num-calibration-samples",
        "8",
    ]
    common += ["--calibration-seq-len", "32", "--sparsity", "0.3"]
    assert main(["prune", "wanda-sp", *common, "--save-dir", str(tmp_path / "out")]) == 0
    stdout = capsys.readouterr().out
    report = json.loads(stdout[: stdout.rindex("}") + 1])
    assert abs(report["achieved_sparsity"] - 0.3) <= 0.02
    saved = json.loads((tmp_path / "out" / "slimgpt_config.json").read_text())
    assert saved["method"] == "wanda-sp" and saved["schedule"] == "uniform"
    assert AutoModelForCausalLM.from_pretrained(tmp_path / "out").config.model_type == "hfx_slim_mistral"
    assert not list((tmp_path / "out").glob("*.py"))  # no code unless --remote-code
    assert main(["prune", "wanda-sp", *common, "--save-dir", str(tmp_path / "shared"), "--remote-code"]) == 0
    assert (tmp_path / "shared" / "modeling_hfx_slim.py").is_file()
    assert json.loads((tmp_path / "shared" / "config.json").read_text())["auto_map"]

    assert main(["prune", "slimgpt", *common, "--save-dir", source]) == 2
    assert "overlaps the input" in capsys.readouterr().err
    assert main(["prune", "slimgpt", *common, "--save-dir", str(tmp_path / "x"), "--sparsity", "1.5"]) == 2
    assert "sparsity must be in [0, 1)" in capsys.readouterr().err


def test_pruners_are_registered():
    from hf_ext import get_pruner, list_pruners
    from hf_ext.pruning.baselines import MagnitudeSPPruner, WandaSPPruner

    assert {"slimgpt", "wanda-sp", "magnitude-sp"} <= set(list_pruners())
    assert get_pruner("slimgpt").pruner_cls is SlimGPTPruner
    assert get_pruner("slimgpt").config_cls is SlimGPTConfig
    assert get_pruner("wanda-sp").pruner_cls is WandaSPPruner
    assert get_pruner("magnitude-sp").pruner_cls is MagnitudeSPPruner


@pytest.mark.slow
def test_hf_ext_eval_loads_the_default_folder_as_the_docs_show(pruned_dir, tmp_path, run_hf_ext):
    """docs/slimgpt.md: `hf-ext eval --model hf --model_args pretrained=DIR --tasks ...` (no remote code)."""
    result = run_hf_ext(
        *("eval", "--model", "hf", "--model_args", f"pretrained={pruned_dir},dtype=float32"),
        *("--tasks", "hfx_babilong_qa1", "--metadata", '{"max_seq_lengths": "0", "num_samples": 2}'),
        *("--limit", "2", "--device", "cpu", "--gen_kwargs", "max_gen_toks=4"),
        *("--output_path", tmp_path / "results"),
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "hfx_babilong_qa1" in result.stdout and "acc" in result.stdout
