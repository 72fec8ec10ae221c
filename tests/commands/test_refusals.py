"""Every everyday mistake and every data-losing request: one line naming what is wrong, exit status 2, no
traceback, and every input file byte-identical afterwards. docs/refusals.md links each row here."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from hf_ext.cli import main
from hf_ext.recipes import recipe_path
from hf_ext.testing.names import resolve_model_name

DPO = ["train", "dpo", "--config", str(recipe_path("dpo/tiny.yaml"))]
GRPO = ["train", "grpo", "--model_name_or_path", "hf-ext-testing:tiny-llama", "--use_cpu", "true"]
GRPO += ["--bf16", "false", "--report_to", "none"]
PRUNE = ["prune", "slimgpt", "--calibration-dataset", "hf-ext-testing:prose"]
PRUNE += ["--num-calibration-samples", "8", "--calibration-seq-len", "32"]
GENERATE = ["babilong", "generate", "--tasks", "qa1", "--lengths", "0", "--num-samples", "2"]
PREFERENCE = {"prompt": "a", "chosen": "b", "rejected": "c"}


def _lines(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def _write_lm_eval_run(folder: Path, name: str, hashes: list[str]) -> Path:
    run = folder / name / name
    run.mkdir(parents=True)
    (run / "results_2026-01-01T00-00-00.json").write_text(json.dumps({"model_name": name}))
    samples = [{"doc_id": i, "doc_hash": h, "metrics": ["acc"], "acc": i % 2} for i, h in enumerate(hashes)]
    _lines(run / "samples_hfx_t_2026-01-01T00-00-00.jsonl", samples)
    return folder / name


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    """Inputs of every case: a model folder, data files, a previous run, a checkpoint, battle logs."""
    root = tmp_path_factory.mktemp("refusals")
    shutil.copytree(resolve_model_name("hf-ext-testing:tiny-llama"), root / "model")
    (root / "model-link").symlink_to(root / "model")
    data = root / "data"
    data.mkdir()
    _lines(data / "good.jsonl", [PREFERENCE] * 8)
    (data / "bad.jsonl").write_text(json.dumps(PREFERENCE) + '\n{"prompt": "a", \n' + json.dumps(PREFERENCE))
    (data / "empty.jsonl").write_text("")
    (data / "header.csv").write_text("prompt,chosen,rejected\n")
    _lines(data / "no_chosen.jsonl", [{"prompt": "a", "answer": "b", "rejected": "c"}] * 4)
    _lines(data / "no_prompt.jsonl", [{"question": "a"}] * 4)
    (data / "notes").mkdir()
    (data / "notes" / "readme.md").write_text("not a dataset\n")
    (data / "empty.txt").write_text("\n  \n")
    (data / "empty.yaml").write_text("")
    _lines(data / "battles.jsonl", [{"model_a": "a", "model_b": "b", "winner": "model_a"}] * 3)
    _lines(data / "no_winner.jsonl", [{"model_a": "a", "model_b": "b"}])
    (data / "no_battles.jsonl").write_text("")
    (data / "results.json").write_text(json.dumps({"results": {}}))
    _write_lm_eval_run(data / "runs", "alpha", ["h0", "h1"])
    _write_lm_eval_run(data / "runs", "beta", ["x0", "x1"])
    previous = root / "previous"  # a folder holding a previous run, and a plot from one
    previous.mkdir()
    (previous / "model.safetensors").write_text("earlier weights")
    (root / "plots_heatmap.png").write_text("an earlier picture")
    checkpoint = root / "run" / "checkpoint-1"  # a checkpoint that lost its optimizer state
    checkpoint.mkdir(parents=True)
    for name in ("trainer_state.json", "scheduler.json", "rng_state.json"):
        (checkpoint / name).write_text("{}")
    (root / "ckpt").mkdir()
    (root / "ckpt" / "progress.json").write_text("{not json")
    return root


def _digest(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


# (id, command, expected part of the one-line message); {ws} is the workspace of inputs above.
CASES = [
    # --- data loss ---
    ("train-output-is-model", [*DPO, "--model_name_or_path", "{ws}/model", "--output_dir", "{ws}/model"],
     "output_dir {ws}/model overlaps the input {ws}/model"),
    ("train-output-inside-model",
     [*DPO, "--model_name_or_path", "{ws}/model", "--output_dir", "{ws}/model/run"], "overlaps the input"),
    ("train-output-is-symlink-to-model",
     [*DPO, "--model_name_or_path", "{ws}/model", "--output_dir", "{ws}/model-link"], "overlaps the input"),
    ("train-output-holds-previous-run", [*DPO, "--output_dir", "{ws}/previous"],
     "holds a previous run: pass --resume_from_checkpoint CHECKPOINT to continue it, or "
     "--overwrite_output_dir"),
    ("train-resume-without-optimizer-state",
     [*DPO, "--output_dir", "{ws}/run", "--resume_from_checkpoint", "{ws}/run/checkpoint-1"],
     "lacks optimizer state (optimizer.json+optimizer.safetensors or optimizer.pt"),
    ("prune-save-dir-is-model", [*PRUNE, "--model", "{ws}/model", "--save-dir", "{ws}/model"],
     "--save-dir {ws}/model overlaps the input {ws}/model"),
    ("prune-save-dir-not-empty", [*PRUNE, "--model", "{ws}/model", "--save-dir", "{ws}/previous"],
     "--save-dir {ws}/previous exists and is not empty; pass --overwrite"),
    ("prune-checkpoint-dir-in-save-dir",
     [*PRUNE, "--model", "{ws}/model", "--save-dir", "{ws}/out", "--checkpoint-dir", "{ws}/out/ckpt"],
     "--checkpoint-dir {ws}/out/ckpt may not be the --save-dir or inside it"),
    ("babilong-out-not-empty",
     [*GENERATE, "--tokenizer", "{ws}/model", "--out", "{ws}/previous"],
     "--out {ws}/previous exists and is not"),
    ("babilong-plot-over-a-png", ["babilong", "plot", "{ws}/data/results.json", "--out", "{ws}/plots"],
     "{ws}/plots_heatmap.png exists; pass --overwrite"),
    ("elo-out-not-empty", ["elo", "{ws}/data/battles.jsonl", "--out", "{ws}/previous"],
     "--out {ws}/previous exists and is not empty"),
    ("elo-out-is-input-folder", ["elo", "{ws}/data/battles.jsonl", "--out", "{ws}/data"],
     "overlaps the input"),
    ("quickstart-output-dir-not-empty", ["quickstart", "--output-dir", "{ws}/previous"],
     "--output-dir {ws}/previous exists and is not empty; pass --overwrite"),
    # --- everyday mistakes ---
    ("train-no-config", ["train", "dpo"],
     "missing required field(s) model_name_or_path, dataset_name (no --config was given)"),
    ("train-empty-recipe", ["train", "dpo", "--config", "{ws}/data/empty.yaml"],
     "missing required field(s) model_name_or_path, dataset_name (not in {ws}/data/empty.yaml"),
    ("train-missing-model-path", [*DPO, "--model_name_or_path", "{ws}/no-model", "--output_dir", "{ws}/o"],
     "no model folder at {ws}/no-model (model_name_or_path)"),
    ("train-hub-id-offline",
     [*DPO, "--model_name_or_path", "someorg/no-such-model", "--output_dir", "{ws}/o"],
     "cannot reach the Hub for someorg/no-such-model: HF_HUB_OFFLINE is set; pass a local folder"),
    ("train-jsonl-malformed-line", [*DPO, "--dataset_name", "{ws}/data/bad.jsonl", "--output_dir", "{ws}/o"],
     "{ws}/data/bad.jsonl, line 2: not valid JSON"),
    ("train-empty-jsonl", [*DPO, "--dataset_name", "{ws}/data/empty.jsonl", "--output_dir", "{ws}/o"],
     "{ws}/data/empty.jsonl: empty data file (no rows)"),
    ("train-header-only-csv", [*DPO, "--dataset_name", "{ws}/data/header.csv", "--output_dir", "{ws}/o"],
     "{ws}/data/header.csv: only a header line"),
    ("train-folder-not-a-dataset", [*DPO, "--dataset_name", "{ws}/data/notes", "--output_dir", "{ws}/o"],
     "dataset_name {ws}/data/notes: a folder that is not a dataset"),
    ("train-missing-data-path", [*DPO, "--dataset_name", "{ws}/data/nope.jsonl", "--output_dir", "{ws}/o"],
     "no dataset file or folder at {ws}/data/nope.jsonl"),
    ("train-max-train-samples-zero", [*DPO, "--max_train_samples", "0", "--output_dir", "{ws}/o"],
     "max_train_samples must be >= 1, got 0"),
    ("train-missing-chosen-column",
     [*DPO, "--dataset_name", "{ws}/data/no_chosen.jsonl", "--output_dir", "{ws}/o"],
     "the train split has no 'chosen' column, which trainer 'dpo' needs"),
    ("train-missing-chosen-column-adaptive",
     ["train", "adaptive-dpo", "--config", str(recipe_path("adaptive_dpo/tiny.yaml")),
      "--dataset_name", "{ws}/data/no_chosen.jsonl", "--output_dir", "{ws}/o"],
     "no 'chosen' column, which trainer 'adaptive-dpo' needs"),
    ("train-missing-prompt-column",
     [*GRPO, "--dataset_name", "{ws}/data/no_prompt.jsonl", "--reward_funcs",
      "hf_ext.rewards:sentiment_reward", "--output_dir", "{ws}/o"],
     "no 'prompt' column, which trainer 'grpo' needs"),
    ("reward-funcs-missing-module",
     [*GRPO, "--dataset_name", "hf-ext-testing:prompts", "--reward_funcs", "no_such_module:f",
      "--output_dir", "{ws}/o"], "module 'no_such_module' cannot be imported"),
    ("reward-funcs-missing-attribute",
     [*GRPO, "--dataset_name", "hf-ext-testing:prompts", "--reward_funcs", "hf_ext.rewards:nope",
      "--output_dir", "{ws}/o"], "module 'hf_ext.rewards' has no attribute 'nope'"),
    ("reward-funcs-without-colon",
     [*GRPO, "--dataset_name", "hf-ext-testing:prompts", "--reward_funcs", "hf_ext.rewards.sentiment_reward",
      "--output_dir", "{ws}/o"], "not 'module:function' (no colon)"),
    ("prune-missing-model-path", [*PRUNE, "--model", "{ws}/no-model", "--save-dir", "{ws}/o"],
     "no model folder at {ws}/no-model (--model)"),
    ("prune-no-model", ["prune", "slimgpt", "--save-dir", "{ws}/o"], "missing required field(s) model"),
    ("prune-calibration-c4-offline",
     ["prune", "slimgpt", "--model", "{ws}/model", "--calibration-dataset", "c4", "--save-dir", "{ws}/o"],
     "cannot reach the Hub for c4: HF_HUB_OFFLINE is set"),
    ("prune-empty-calibration-txt",
     ["prune", "slimgpt", "--model", "{ws}/model", "--calibration-dataset", "{ws}/data/empty.txt",
      "--save-dir", "{ws}/o"], "{ws}/data/empty.txt: the text file is empty"),
    ("prune-eval-dataset-missing-file",
     [*PRUNE, "--model", "{ws}/model", "--eval-dataset", "{ws}/data/heldout.txt", "--save-dir", "{ws}/o"],
     "no file at {ws}/data/heldout.txt (--eval-dataset)"),
    ("prune-eval-dataset-unknown-name",
     [*PRUNE, "--model", "{ws}/model", "--eval-dataset", "wikitext", "--save-dir", "{ws}/o"],
     "unknown dataset 'wikitext' (--eval-dataset)"),
    ("prune-unreachable-sparsity",
     [*PRUNE, "--model", "{ws}/model", "--sparsity", "0.99", "--save-dir", "{ws}/o"],
     "sparsity 0.99 cannot be reached: with schedule 'log_increase' at most 0.8"),
    ("prune-corrupt-progress-json",
     [*PRUNE, "--model", "{ws}/model", "--checkpoint-dir", "{ws}/ckpt", "--save-dir", "{ws}/o"],
     "{ws}/ckpt/progress.json: not a readable pruning checkpoint"),
    ("babilong-missing-tokenizer", [*GENERATE, "--tokenizer", "{ws}/no-tokenizer", "--out", "{ws}/o"],
     "no tokenizer folder at {ws}/no-tokenizer (--tokenizer)"),
    ("babilong-plot-missing-results", ["babilong", "plot", "{ws}/data/none.json", "--out", "{ws}/o"],
     "no lm-eval results file or folder at {ws}/data/none.json"),
    ("elo-missing-column", ["elo", "{ws}/data/no_winner.jsonl"],
     "{ws}/data/no_winner.jsonl: the battle log is missing column(s) winner"),
    ("elo-empty-log", ["elo", "{ws}/data/no_battles.jsonl"],
     "{ws}/data/no_battles.jsonl: the battle log is empty"),
    ("elo-lm-eval-documents-differ", ["elo", "--from-lm-eval", "{ws}/data/runs/alpha", "{ws}/data/runs/beta"],
     "doc_id 0 has doc_hash h0 in {ws}/data/runs/alpha/alpha but x0 in {ws}/data/runs/beta/beta"),
]  # fmt: skip


@pytest.mark.parametrize(("command", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refusal_is_one_line_with_exit_2_and_inputs_untouched(ws, command, expected, capsys):
    before = _digest(ws)
    argv = [part.replace("{ws}", str(ws)) for part in command]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]  # progress bars may come before it
    assert error.startswith("hf-ext: error: ")
    assert expected.replace("{ws}", str(ws)) in error
    assert "Traceback" not in error
    assert _digest(ws) == before
    assert not (ws / "o").exists() and not (ws / "out").exists()  # nothing written for a refused command


def test_unexpected_exception_is_reported_as_a_bug_in_one_line(monkeypatch, capsys):
    """A KeyError is not a user mistake any more (the CLI used to print its key as if it were one)."""
    from hf_ext.cli import build_parser

    def broken(args):
        raise KeyError("chosen")

    monkeypatch.delenv("HF_EXT_DEBUG", raising=False)
    monkeypatch.setattr("hf_ext.cli.build_parser", lambda: _with_func(build_parser(), "list", broken))
    assert main(["list"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert error.startswith("hf-ext: bug: KeyError: 'chosen'")
    assert "set HF_EXT_DEBUG=1 for the traceback" in error
    monkeypatch.setenv("HF_EXT_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["list"])


def _with_func(parser, command, func):
    subparsers = next(a for a in parser._actions if a.dest == "command")
    subparsers.choices[command].set_defaults(func=func)
    return parser


def test_the_refusal_table_in_the_docs_lists_every_case():
    table = (Path(__file__).resolve().parents[2] / "docs" / "refusals.md").read_text(encoding="utf-8")
    missing = [case[0] for case in CASES if f"[`{case[0]}`](../tests/commands/test_refusals.py)" not in table]
    assert not missing, f"docs/refusals.md lacks rows for {missing}"
