"""``hfx_elo_pairwise``: judging logic on constructed judgments, and the lm-eval pipeline end to end."""

import json

import pytest

from hf_ext.evaluation.elo import bradley_terry
from hf_ext.evaluation.elo.judging import (
    EXAMPLE_PAIRS,
    JUDGE_BT_REG,
    agreement,
    both_orders,
    combine_judgments,
    judge_prompt,
    judged_bt_ratings,
    judgment_item,
    load_pairs,
    position_consistency,
)
from hf_ext.task_files import task_names, tasks_path


def judge_items(docs, letter_logprobs):
    """Judgments from a judge whose log-probs for the letters A and B are ``letter_logprobs(doc)``."""
    return [judgment_item(doc, letter_logprobs(doc)) for doc in docs]


def test_example_pairs_load_and_expand_in_both_orders():
    pairs = load_pairs()
    assert len(pairs) == len(EXAMPLE_PAIRS.read_text().splitlines()) >= 10
    docs = both_orders(pairs)
    assert len(docs) == 2 * len(pairs)
    first, second = docs[0], docs[1]
    assert (
        (first["first"], first["second"])
        == (second["second"], second["first"])
        == (
            pairs[0]["response_a"],
            pairs[0]["response_b"],
        )
    )
    assert "Response A: " + first["first"] in judge_prompt(first) and judge_prompt(first).endswith("Answer:")
    assert "hfx_elo_pairwise" in task_names()


def test_oracle_judge_agrees_with_labels_and_is_consistent():
    docs = both_orders(load_pairs())

    def oracle(doc):  # prefers whichever letter shows the labelled winner; even for ties
        shown_a = "model_b" if doc["swapped"] else "model_a"
        if doc["label"].startswith("tie"):
            return [-1.0, -1.0]
        return [-0.1, -2.0] if doc["label"] == shown_a else [-2.0, -0.1]

    items = judge_items(docs, oracle)
    assert agreement(items) == 1.0 and position_consistency(items) == 1.0
    battles = combine_judgments(items)
    assert battles["winner"].tolist() == [pair["winner"] for pair in load_pairs()]
    expected = bradley_terry(battles[["model_a", "model_b", "winner"]], reg=JUDGE_BT_REG)
    ratings = judged_bt_ratings(items)
    assert ratings == pytest.approx({m: round(r, 2) for m, r in expected.items()})
    assert list(ratings)[0] == "careful" and list(ratings)[-1] == "sloppy"


def test_position_biased_judge_gives_ties_only():
    docs = both_orders(load_pairs())
    items = judge_items(docs, lambda doc: [-0.5, -1.5])  # always letter A
    battles = combine_judgments(items)
    assert set(battles["winner"]) == {"tie"} and position_consistency(items) == 0.0
    labelled_ties = sum(pair["winner"].startswith("tie") for pair in load_pairs())
    assert agreement(items) == pytest.approx(labelled_ties / len(battles))
    # A lone order (e.g. cut by lm-eval's limit) is not a battle.
    assert len(combine_judgments(items[:3])) == 1


def test_bad_pairs_files_name_the_line(tmp_path):
    path = tmp_path / "pairs.jsonl"
    good = json.loads(EXAMPLE_PAIRS.read_text().splitlines()[0])
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "model_b": good["model_a"]}) + "\n")
    with pytest.raises(ValueError, match=r"pairs\.jsonl, line 2: model 'careful' battles itself"):
        load_pairs(path)
    path.write_text(json.dumps({k: v for k, v in good.items() if k != "response_b"}) + "\n")
    with pytest.raises(ValueError, match="missing column"):
        load_pairs(path)
    path.write_text(json.dumps({**good, "winner": "both"}) + "\n")
    with pytest.raises(ValueError, match="line 1: winner 'both'"):
        load_pairs(path)
    unlabelled = tmp_path / "unlabelled.csv"
    unlabelled.write_text("prompt,response_a,response_b,model_a,model_b\nq,x,y,m1,m2\n")
    docs = both_orders(load_pairs(unlabelled))
    items = judge_items(docs, lambda doc: [-0.1, -2.0] if not doc["swapped"] else [-2.0, -0.1])
    assert combine_judgments(items)["winner"].tolist() == ["model_a"]
    assert agreement(items) != agreement(items)  # NaN: no labels to agree with


@pytest.mark.slow
def test_lm_eval_end_to_end_on_a_tiny_judge(tmp_path):
    import lm_eval
    from lm_eval.tasks import TaskManager

    from hf_ext.testing import save_tiny_causal_lm

    model_dir = save_tiny_causal_lm(tmp_path / "judge")
    pairs_file = tmp_path / "my_pairs.jsonl"  # the user's own pairs, passed through lm-eval metadata
    pairs_file.write_text("\n".join(EXAMPLE_PAIRS.read_text().splitlines()[3:7]) + "\n")
    output = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={model_dir},dtype=float32",
        tasks=["hfx_elo_pairwise"],
        task_manager=TaskManager(include_path=str(tasks_path()), metadata={"pairs": str(pairs_file)}),
        limit=6,
        device="cpu",
        bootstrap_iters=0,
    )
    result = output["results"]["hfx_elo_pairwise"]
    samples = output["samples"]["hfx_elo_pairwise"]
    assert len(samples) == 6
    # Recompute the verdicts from the logged log-likelihoods, independently of the task's code.
    verdicts = {}
    for sample in samples:
        doc = sample["doc"]
        letter_a, letter_b = (resp[0][0] for resp in sample["resps"])
        prefers_a = (letter_a > letter_b) != doc["swapped"] if letter_a != letter_b else None
        verdicts.setdefault(doc["pair_id"], []).append((prefers_a, doc["label"]))
    winners = []
    for (first, label), (second, _) in verdicts.values():
        winner = "tie" if first is None or first != second else ("model_a" if first else "model_b")
        winners.append((winner, label))
    consistent = sum(v[0][0] == v[1][0] for v in verdicts.values()) / len(verdicts)
    agree = sum((w == lab) or (w == "tie" and lab.startswith("tie")) for w, lab in winners) / len(winners)
    assert result["position_consistency,none"] == pytest.approx(consistent)
    assert result["agreement,none"] == pytest.approx(agree)
    ratings = result["bt_ratings,none"]
    pairs = load_pairs(pairs_file).select(range(3))
    assert [sample["doc"]["prompt"] for sample in samples[::2]] == pairs["prompt"]
    assert set(ratings) == set(pairs["model_a"]) | set(pairs["model_b"])
    assert sum(ratings.values()) / len(ratings) == pytest.approx(1000.0, abs=0.05)
