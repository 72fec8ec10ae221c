"""Thompson-sampling MAM-StreamICL (ma_ts, ma_dts): posterior updates against closed forms, the choice rule
against the exact probability that one Beta draw beats another, choice frequencies on a scripted stream,
warm-up, seeding and resume."""

import hashlib
import re

import numpy as np
import pytest
from scipy import integrate, stats

from hf_ext.errors import HFExtError
from hf_ext.evaluation.streambench import AgentConfig, make_agent, run_stream
from hf_ext.evaluation.streambench.bandit import ThompsonArms, dynamic_update

LABELS = ["Cold", "Flu"]


def docs(n):
    return [
        {"hfx_bench": "label", "profile": f"case {i}", "label": "Flu", "labels": LABELS} for i in range(n)
    ]


def case_of(prompt):  # the current input is the last case named in the prompt (shots come before it)
    return int(re.findall(r"case (\d+)", prompt)[-1])


def right(prompt, max_tokens):
    return "1. Flu"


def wrong(prompt, max_tokens):
    return "0. Cold"


def coin(prompt, max_tokens):  # right on about half of the inputs, decided by the input
    return "1. Flu" if hashlib.sha256(str(case_of(prompt)).encode()).digest()[0] % 2 else "0. Cold"


def test_thompson_counts_follow_the_feedback():
    arms = ThompsonArms(3, seed=0)
    for arm, correct in [(0, True), (0, True), (0, False), (2, False), (1, True)]:
        arms.update(arm, correct)
    assert arms.successes.tolist() == [2, 1, 0] and arms.failures.tolist() == [1, 0, 1]
    assert arms.posterior_means() == pytest.approx([3 / 5, 2 / 3, 1 / 3])


def test_dynamic_update_counts_then_keeps_the_total_at_c():
    c = 10.0
    s, f = 0.0, 0.0
    for _ in range(7):
        s, f = dynamic_update(s, f, True, c)
    for _ in range(3):
        s, f = dynamic_update(s, f, False, c)
    assert (s, f) == (7.0, 3.0)  # plain counting until S + F reaches C
    for m in range(1, 30):  # from (S0, F0) with S0 + F0 = C, m successes: F_m = F0 (C / (C + 1))^m
        s, f = dynamic_update(s, f, True, c)
        assert s + f == pytest.approx(c)
        assert f == pytest.approx(3.0 * (c / (c + 1)) ** m)
    arms = ThompsonArms(1, dynamic_c=c)
    for correct in [True] * 7 + [False] * 3 + [True] * 29:
        arms.update(0, correct)
    assert arms.failures[0] == pytest.approx(f) and arms.successes[0] == pytest.approx(s)


def test_choice_probability_is_that_of_the_larger_beta_draw():
    arms = ThompsonArms(2, seed=1)
    arms.successes[:] = [3, 1]
    arms.failures[:] = [2, 1]
    first, second = stats.beta(4, 3), stats.beta(2, 2)
    exact = integrate.quad(lambda x: first.pdf(x) * second.cdf(x), 0, 1)[0]  # P(theta_0 > theta_1)
    share = np.mean([arms.choose() == 0 for _ in range(20000)])
    assert share == pytest.approx(exact, abs=0.015)
    assert 0.55 < exact < 0.65  # far enough from 1/2 that a wrong rule (e.g. posterior means) shows


def test_ma_ts_ends_up_answering_with_the_best_model_and_round_robin_does_not():
    runs = {}
    for name in ("ma_rr", "ma_ts", "ma_dts"):
        agent = make_agent(name, [wrong, coin, right], AgentConfig(backend="numpy", top_k=2, seed=3))
        runs[name] = run_stream(docs(300), agent, progress=False)
    for name in ("ma_ts", "ma_dts"):
        chosen = [step.model for step in runs[name].steps]
        assert np.mean([m == 2 for m in chosen[-150:]]) > 0.85
        assert np.mean([m == 0 for m in chosen]) < 0.1
        assert runs[name].accuracy > runs["ma_rr"].accuracy + 0.2
    assert [s.model for s in runs["ma_rr"].steps[:6]] == [0, 1, 2, 0, 1, 2]


def test_warmup_is_round_robin_and_draws_are_seeded():
    def chosen(seed, warmup=0):
        config = AgentConfig(backend="numpy", top_k=2, seed=seed, warmup_steps=warmup)
        agent = make_agent("ma_ts", [coin, coin, coin], config)
        return [s.model for s in run_stream(docs(60), agent, progress=False).steps]

    assert chosen(5) == chosen(5)
    assert chosen(5) != chosen(6)
    assert chosen(5, warmup=12)[:12] == [0, 1, 2] * 4
    with pytest.raises(HFExtError, match="warmup_steps"):
        AgentConfig(warmup_steps=-1)


def test_dynamic_thompson_follows_a_model_that_gets_better():
    switch = 150

    def early(prompt, max_tokens):
        return "1. Flu" if case_of(prompt) < switch else "0. Cold"

    def late(prompt, max_tokens):
        return "0. Cold" if case_of(prompt) < switch else "1. Flu"

    share = {}
    for name in ("ma_ts", "ma_dts"):
        config = AgentConfig(backend="numpy", top_k=2, seed=0, dts_c=10)
        steps = run_stream(docs(300), make_agent(name, [early, late], config), progress=False).steps
        share[name] = np.mean([s.model == 1 for s in steps[switch : switch + 60]])
    assert share["ma_dts"] > share["ma_ts"] + 0.2


def test_resumed_thompson_run_draws_what_an_uninterrupted_one_does(tmp_path):
    def agent():
        return make_agent(
            "ma_dts", [wrong, coin, right], AgentConfig(backend="numpy", top_k=2, seed=9, dts_c=5)
        )

    full = run_stream(docs(80), agent(), progress=False)
    run_stream(docs(80), agent(), log_dir=tmp_path, max_steps=33, progress=False)
    resumed = run_stream(docs(80), agent(), log_dir=tmp_path, resume=True, progress=False)
    assert [s.model for s in resumed.steps] == [s.model for s in full.steps]
    assert resumed.correct == full.correct
    with pytest.raises(HFExtError, match="2 models, this agent 3"):
        ThompsonArms(3).load_state_dict(ThompsonArms(2).state_dict())
