"""Sparse models: a model with a handful of battles never stops the analysis, is named as unreliable, and
does not widen the other models' intervals."""

import numpy as np
import pandas as pd
import pytest

from hf_ext.evaluation.elo import bootstrap, encode_battles


def _with_sparse_model(seed=0):
    from hf_ext.evaluation.elo.synthetic import synthetic_battles, true_strengths

    battles = synthetic_battles(true_strengths(6, seed=seed), n_battles=6000, seed=seed)
    sparse = [{"model_a": "sparse", "model_b": "model-0", "winner": "model_a"}] + [
        {"model_a": "sparse", "model_b": f"model-{i % 6}", "winner": "model_b"} for i in range(9)
    ]
    return battles, pd.concat([battles, pd.DataFrame(sparse)], ignore_index=True)


def test_a_sparse_model_never_stops_the_bootstrap_nor_widens_the_others():
    from hf_ext.evaluation.elo.bootstrap import reliable_models

    plain, with_sparse = _with_sparse_model()
    table = bootstrap(with_sparse, n_rounds=200, seed=0)
    assert table.attrs["unreliable"] == {"sparse": "10 battles"}
    assert table.attrs["rounds_with_prior"] > 0  # rounds where 'sparse' drew no win
    assert np.isfinite(table[["ci_low", "ci_high"]].to_numpy()).all()
    width = (table["ci_high"] - table["ci_low"]).drop("sparse")
    reference = bootstrap(plain, n_rounds=200, seed=0)
    reference_width = reference["ci_high"] - reference["ci_low"]
    assert (width / reference_width.loc[width.index]).max() < 1.3  # centred on the reliable models
    assert reliable_models(encode_battles(plain)) == {}


def test_centring_on_named_models():
    plain, _ = _with_sparse_model()
    table = bootstrap(plain, n_rounds=20, seed=0, center_on=["model-0", "model-1"])
    assert (table.loc[["model-0", "model-1"], "rating"].mean()) == pytest.approx(1000.0)
    with pytest.raises(ValueError, match="center_on: unknown model"):
        bootstrap(plain, n_rounds=20, center_on=["nobody"])


def test_the_default_report_is_complete_and_warns(recwarn):
    from hf_ext.evaluation.elo.report import analyze, format_report

    _, with_sparse = _with_sparse_model()
    with pytest.warns(UserWarning, match=r"unreliable ratings .*sparse \(10 battles\)"):
        report = analyze(with_sparse, n_permutations=20, n_bootstrap=20)
    assert {"bt", "elo", "elo_bootstrap"} <= set(report.tables)
    assert "sparse" in report.tables["bt"].index
    assert "unreliable ratings (not used to centre the others): sparse (10 battles)" in format_report(report)
    no_wins = pd.concat(
        [
            _with_sparse_model()[0],
            pd.DataFrame([{"model_a": "loser", "model_b": "model-1", "winner": "model_b"}] * 40),
        ]
    )
    with pytest.warns(UserWarning, match=r"loser \(no wins\)"):
        report = analyze(no_wins, n_permutations=10, n_bootstrap=0)  # no BT maximum: a prior, not an error
    assert report.tables["bt"].index[-1] == "loser"
