"""The autoformalisation pipeline: stages, funnel counts, resume after an interruption, the active-learning
round trip, and the problem loaders against real miniF2F data."""

from __future__ import annotations

import json

import pytest
from lean_helpers import standin

from hf_ext.errors import HFExtError
from hf_ext.formal.autoformalization import (
    autoformalize,
    compile_filter,
    export_failures,
    import_corrections,
    run_pipeline,
)
from hf_ext.formal.lean import LeanREPLPool, RecordedLeanChecker
from hf_ext.formal.problems import load_lean_workbook, load_problems, load_prover_jsonl

PROBLEMS = [
    {"id": "good", "natural_language": "Find x with 2x = 4.", "answer": "2"},
    {"id": "broken", "natural_language": "A problem the translator garbles."},
    {"id": "drift", "natural_language": "Prove that 1 < 2."},
    {"id": "fine", "natural_language": "Prove that 2 < 3."},
]


class ScriptedTranslator:
    """Translates by problem id, back-translates faithfully except for 'drift'; counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, messages):
        self.calls += 1
        content = messages[-1]["content"]
        if content.startswith("Convert following problem"):
            if "garbles" in content:
                return " broken : BAD := by"
            name = "good" if "2x" in content else ("drift" if "1 < 2" in content else "fine")
            return f" {name} : (1 : ℕ) < 2 := by\n  norm_num"
        if "theorem drift" in content:
            return "Show that 5 is prime."
        return "Prove that 1 < 2."


def judge(messages):
    content = messages[-1]["content"]
    return "**different**" if "prime" in content else "Both ask the same. **same**"


def test_funnel_counts_each_stage_and_files_hold_every_record(tmp_path):
    translator = ScriptedTranslator()
    with LeanREPLPool(command=standin(), workers=1, header="") as checker:
        output = run_pipeline(PROBLEMS, translator, judge, checker, tmp_path / "run")
    assert output["funnel"] == {
        "collected": 4,
        "formalized": 4,
        "compiled": 3,
        "back_translated": 3,
        "passed_nli": 2,
    }
    assert sorted(r["id"] for r in output["accepted"]) == ["fine", "good"]
    assert json.loads((tmp_path / "run" / "funnel.json").read_text()) == output["funnel"]
    compiled = [json.loads(line) for line in (tmp_path / "run" / "compiled.jsonl").read_text().splitlines()]
    broken = next(r for r in compiled if r["id"] == "broken")
    assert broken["compiles"] is False and "unknown identifier 'BAD'" in broken["lean_errors"][0]
    good = next(r for r in compiled if r["id"] == "good")
    assert good["formal_statement_generated"] == "theorem good : (1 : ℕ) < 2 := by sorry"


def test_resume_after_an_interruption_redoes_only_what_is_missing(tmp_path):
    out = tmp_path / "run"
    checker = RecordedLeanChecker(
        [
            {"code": f"theorem {n} : (1 : ℕ) < 2 := by sorry", "reply": {"env": 0}}
            for n in ("good", "drift", "fine")
        ]
        + [
            {
                "code": "theorem broken : BAD := by sorry",
                "reply": {"messages": [{"severity": "error", "data": "unknown identifier 'BAD'"}]},
            }
        ]
    )
    first = ScriptedTranslator()
    calls = {"n": 0}

    def failing_judge(messages):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # stopped in the middle of the NLI stage
        return judge(messages)

    with pytest.raises(KeyboardInterrupt):
        run_pipeline(PROBLEMS, first, failing_judge, checker, out, chunk_size=1)
    # cut the last NLI line short, as a kill during a write would
    nli = out / "passed_nli.jsonl"
    nli.write_text(nli.read_text() + '{"id": "fi')
    second = ScriptedTranslator()
    result = run_pipeline(PROBLEMS, second, judge, checker, out, chunk_size=1)
    assert result["funnel"]["passed_nli"] == 2
    assert second.calls == 0  # formalisation and back-translation were not redone
    assert len(nli.read_text().splitlines()) == 3


def test_output_folder_policy(tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with pytest.raises(HFExtError, match="exists and is not empty"):
        run_pipeline(PROBLEMS, ScriptedTranslator(), judge, RecordedLeanChecker([]), tmp_path / "used")
    problems_file = tmp_path / "data" / "problems.jsonl"
    problems_file.parent.mkdir()
    problems_file.write_text("".join(json.dumps(p) + "\n" for p in PROBLEMS))
    with pytest.raises(HFExtError, match="overlaps the input"):
        run_pipeline(problems_file, ScriptedTranslator(), judge, RecordedLeanChecker([]), tmp_path / "data")
    assert (tmp_path / "used" / "notes.txt").read_text() == "mine"


def test_active_learning_round_trip(tmp_path):
    with LeanREPLPool(command=standin(), workers=1, header="") as checker:
        run_pipeline(PROBLEMS, ScriptedTranslator(), judge, checker, tmp_path / "run")
    review = tmp_path / "review.jsonl"
    assert export_failures(tmp_path / "run", review) == 2
    rows = [json.loads(line) for line in review.read_text().splitlines()]
    assert {(r["id"], r["failed_stage"]) for r in rows} == {("broken", "compile"), ("drift", "nli")}
    with pytest.raises(HFExtError, match="exists; choose a new file"):
        export_failures(tmp_path / "run", review)
    with pytest.raises(HFExtError, match="no row has a corrected_statement"):
        import_corrections(review)
    rows[0]["corrected_statement"] = "theorem fixed : (2 : ℕ) < 3 := by sorry"
    review.write_text("".join(json.dumps(r) + "\n" for r in rows))
    dataset = import_corrections(review)
    assert len(dataset) == 1
    messages = dataset[0]["messages"]
    assert messages[0]["content"].startswith("Convert following problem into LEAN 4:\n")
    assert messages[1]["content"].endswith("```lean\ntheorem fixed : (2 : ℕ) < 3 := by sorry\n```")
    review.write_text('{"id": "x", "natural_language": "y"}\n')
    with pytest.raises(HFExtError, match=r"review.jsonl, line 1: missing field 'corrected_statement'"):
        import_corrections(review)


def test_stages_work_alone():
    records = autoformalize(PROBLEMS[:1], ScriptedTranslator())
    assert records[0]["formal_statement_generated"].startswith("theorem good")
    checked = compile_filter(records, RecordedLeanChecker([], on_miss="fail"))
    assert checked[0]["compiles"] is False


def test_minif2f_fixture_loads_in_our_shape(lean_fixtures):
    path = lean_fixtures / "minif2f" / "minif2f.jsonl"
    everything = load_prover_jsonl(path)
    test = load_prover_jsonl(path, split="test")
    assert len(everything) == 488 and 0 < len(test) < 488
    first = everything[0]
    assert first["id"] == "amc12a_2019_p21"
    assert first["natural_language"].startswith("Let $z=") and not first["natural_language"].startswith("/--")
    assert first["natural_language"].endswith("Show that it is \\textbf{(C) }36.")
    assert first["formal_statement"].startswith("theorem amc12a_2019_p21")
    assert first["header"].startswith("import Mathlib")


def test_loaders_name_bad_input(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "a", "natural_language": "x"}\n{"id": "a", "natural_language": "y"}\n')
    with pytest.raises(HFExtError, match=r"p.jsonl, line 2: duplicate id 'a'"):
        load_problems(path)
    path.write_text('{"id": "a", "text": "x"}\n')
    with pytest.raises(HFExtError, match=r"p.jsonl, line 1: no problem text"):
        load_problems(path)
    path.write_text('{"name": "a", "informal_prefix": "x"}\n')
    with pytest.raises(HFExtError, match=r"line 1: missing field 'formal_statement'"):
        load_prover_jsonl(path)


def test_lean_workbook_loader_reads_the_hub_layout_from_a_local_copy(tmp_path):
    path = tmp_path / "lean_workbook.json"
    rows = [
        {
            "id": "lean_workbook_1",
            "natural_language_statement": "Prove that a^2 >= 0.",
            "answer": "",
            "tags": [],
            "formal_statement": "theorem lean_workbook_1 (a : ℝ) : a ^ 2 ≥ 0 := by sorry",
            "split": "lean_workbook",
            "proof": [],
        },
        {
            "id": "lean_workbook_2",
            "natural_language_statement": "Find 2+2.",
            "answer": "4",
            "tags": [],
            "formal_statement": "theorem lean_workbook_2 : 2 + 2 = 4 := by sorry",
            "split": "lean_workbook",
            "proof": [],
        },
    ]
    path.write_text(json.dumps(rows))
    problems = load_lean_workbook(str(path))
    assert [p["id"] for p in problems] == ["lean_workbook_1", "lean_workbook_2"]
    assert problems[1]["answer"] == "4" and problems[0]["formal_statement"].startswith(
        "theorem lean_workbook_1"
    )


@pytest.mark.slow
def test_translator_recipe_trains_on_seed_pairs_and_the_loss_goes_down(tmp_path):
    from hf_ext.formal.autoformalization import translation_sft_dataset
    from hf_ext.formal.problems import example_problems
    from hf_ext.recipes import recipe_path
    from hf_ext.trainers.launch import train_from_recipe

    data = tmp_path / "sft.jsonl"
    translation_sft_dataset(example_problems()).to_json(str(data))
    argv = [
        "--config",
        str(recipe_path("lean_translator/tiny.yaml")),
        "--dataset_name",
        str(data),
        "--output_dir",
        str(tmp_path / "out"),
        "--max_steps",
        "12",
    ]
    trainer = train_from_recipe("sft", argv)
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    assert len(losses) >= 3 and losses[-1] < losses[0]


def test_cli_runs_exports_and_imports(tmp_path, capsys):
    from hf_ext.cli import main

    checker = "command:" + " ".join(standin())
    out = tmp_path / "run"
    argv = [
        "formalize",
        "run",
        "--problems",
        "examples",
        "--translator",
        "lean_helpers:scripted_translator",
        "--judge",
        "lean_helpers:same_judge",
        "--checker",
        checker,
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    assert "collected 8 -> formalized 8 -> compiled 7" in capsys.readouterr().out
    assert (
        main(["formalize", "export-failures", "--run", str(out), "--out", str(tmp_path / "review.jsonl")])
        == 0
    )
    rows = [json.loads(line) for line in (tmp_path / "review.jsonl").read_text().splitlines()]
    assert [r["failed_stage"] for r in rows] == ["compile"]
    rows[0]["corrected_statement"] = "theorem fixed : (1 : ℕ) = 1 := by sorry"
    (tmp_path / "review.jsonl").write_text(json.dumps(rows[0]) + "\n")
    assert (
        main(
            [
                "formalize",
                "import-corrections",
                str(tmp_path / "review.jsonl"),
                "--out",
                str(tmp_path / "sft.jsonl"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "formalize",
                "import-corrections",
                str(tmp_path / "review.jsonl"),
                "--out",
                str(tmp_path / "sft.jsonl"),
            ]
        )
        == 2
    )
    assert "exists; choose a new file" in capsys.readouterr().err
