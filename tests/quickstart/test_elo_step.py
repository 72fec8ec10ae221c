"""The ``elo`` step of the quickstart."""


def test_quickstart_step_recovers_true_strengths(tmp_path):
    from hf_ext.quickstart import run_quickstart

    lines = run_quickstart(output_dir=tmp_path, only=["elo"])
    spearman = float(
        next(line for line in lines if "Spearman" in line).split("Bradley-Terry ")[1].split(",")[0]
    )
    assert spearman > 0.95
    assert (tmp_path / "elo" / "ratings_bt.png").exists() and (tmp_path / "elo_battles.jsonl").exists()
