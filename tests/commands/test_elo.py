"""``hf-ext elo`` end to end in a subprocess, the report files, and the quickstart step."""

import json

import pandas as pd
import pytest

from hf_ext.evaluation.elo import bradley_terry
from hf_ext.evaluation.elo.synthetic import synthetic_battles, true_strengths


@pytest.fixture
def hf_ext_elo(run_hf_ext):
    return lambda *args: run_hf_ext("elo", *args)


@pytest.fixture(scope="module")
def battle_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("logs") / "battles.csv"
    synthetic_battles(true_strengths(6, seed=3), n_battles=1500, seed=3).to_csv(path, index=False)
    return path


def test_cli_writes_tables_json_and_plots(tmp_path, battle_file, hf_ext_elo):
    out = tmp_path / "results"
    result = hf_ext_elo(battle_file, "--permutations", 20, "--bootstrap", 30, "--out", out, "--plot")
    assert result.returncode == 0, result.stderr
    assert "== Bradley-Terry" in result.stdout and "== reliability" in result.stdout
    report = json.loads((out / "elo_report.json").read_text())
    bt_rows = {row["model"]: row["rating"] for row in report["tables"]["bt"]}
    expected = bradley_terry(battle_file)
    assert bt_rows == pytest.approx(expected)
    assert report["settings"]["n_bootstrap"] == 30 and report["n_battles"] == 1500
    elo = pd.read_csv(out / "elo.csv", index_col="model")
    assert list(elo.columns) == ["mean", "std", "ci_low", "ci_high", "rank"] and len(elo) == 6
    for name in ("ratings_bt", "ratings_elo", "win_rates", "rating_spread"):
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = hf_ext_elo(battle_file, "--bootstrap", 0, "--method", "bt", "--out", out)
    assert again.returncode == 2 and "exists" in again.stderr  # never replaces earlier results silently


def test_cli_reports_bad_input_lines_and_arguments(tmp_path, battle_file, capsys, hf_ext_elo):
    from hf_ext.cli import main

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"model_a": "x", "model_b": "y", "winner": "model_a"}\n{"model_a": "x", "model_b": "y"\n')
    result = hf_ext_elo(bad)
    assert result.returncode == 2 and "bad.jsonl, line 2: invalid JSON" in result.stderr
    for args, message in [
        ([battle_file, "--plot"], "needs --out"),
        ([], "either a battle log"),
        ([battle_file, "--out", battle_file.parent], "overlaps the input"),
        ([battle_file, "--anchor", "model-1"], "MODEL=RATING"),
        ([battle_file, "--bootstrap", "1"], "bootstrap rounds must be 0"),
    ]:
        assert main(["elo", *map(str, args)]) == 2
        assert message in capsys.readouterr().err


def test_cli_from_lm_eval_outputs(tmp_path, hf_ext_elo):
    for name, scores in {"alpha": [1, 1, 0, 1], "beta": [0, 1, 0, 0], "gamma": [1, 0, 1, 0]}.items():
        folder = tmp_path / "runs" / name / name
        folder.mkdir(parents=True)
        (folder / "results_2026-01-01T00-00-00.json").write_text(json.dumps({"model_name": name}))
        lines = [
            json.dumps({"doc_id": i, "doc_hash": str(i), "metrics": ["acc"], "acc": s})
            for i, s in enumerate(scores)
        ]
        (folder / "samples_hfx_t_2026-01-01T00-00-00.jsonl").write_text("\n".join(lines) + "\n")
    runs = [tmp_path / "runs" / name for name in ("alpha", "beta", "gamma")]
    result = hf_ext_elo("--from-lm-eval", *runs, "--method", "bt", "--reg", "0.1", "--bootstrap", 0)
    assert result.returncode == 0, result.stderr
    table = result.stdout.split("== Bradley-Terry")[1]
    assert table.index("alpha") < table.index("gamma") < table.index("beta")


def test_cli_arena_filters_and_confidence(tmp_path, hf_ext_elo):
    frame = synthetic_battles(true_strengths(4, seed=5), n_battles=800, seed=5)
    frame["anony"] = [i % 4 != 0 for i in range(len(frame))]  # a quarter are not anonymous
    frame["language"] = ["English" if i % 2 else "German" for i in range(len(frame))]
    path = tmp_path / "arena.jsonl"
    frame.to_json(path, orient="records", lines=True)
    result = hf_ext_elo(path, "--permutations", 10, "--bootstrap", 20, "--languages", "English",
                        "--confidence", "0.9")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "400 of 800 battles kept (anony 200, language 200)" in result.stdout  # kept: odd rows
    everything = hf_ext_elo(path, "--permutations", 10, "--bootstrap", 0, "--all-battles")
    assert "800 of 800 battles kept (no filter applied)" in everything.stdout
    nothing = hf_ext_elo(path, "--bootstrap", 0, "--exclude-models", *sorted(set(frame["model_a"])))
    assert nothing.returncode == 2 and "the filters left no battle" in nothing.stderr
