import math

import pytest

from hf_ext.evaluation.elo import EloRule, bootstrap, bradley_terry, online_elo, permutation_elo
from hf_ext.evaluation.elo.synthetic import synthetic_battles


def test_rule_validates_each_field_by_name():
    for fields, message in (
        ({"k": 0}, "k must be > 0"),
        ({"scale": -1}, "scale must be > 0"),
        ({"base": 1.0}, "base must be > 1"),
        ({"init_rating": math.inf}, "init_rating must be finite"),
        ({"k": "4"}, "k must be a number"),
    ):
        with pytest.raises(ValueError, match=message):
            EloRule(**fields)
    with pytest.raises(TypeError, match="unexpected keyword 'kk'; Elo rule fields are k, scale"):
        EloRule.of(None, kk=4)


def test_of_replaces_only_the_given_fields_and_matches_the_closed_form():
    rule = EloRule.of(EloRule(scale=200.0), k=16)
    assert rule == EloRule(k=16.0, scale=200.0, base=10.0, init_rating=1000.0)
    assert EloRule.of(rule) is rule
    assert rule.expected_score(1200.0, 1000.0) == pytest.approx(1 / (1 + 10 ** (-200 / 200)))
    assert rule.expected_score(1000.0, 1000.0) == 0.5
    assert rule.logit_scale == pytest.approx(math.log(10) / 200)


def test_a_rule_and_its_keywords_give_the_same_ratings():
    battles = synthetic_battles({"a": 1100.0, "b": 1000.0, "c": 950.0}, n_battles=300, seed=1)
    rule = EloRule(k=16.0, scale=200.0, base=math.e, init_rating=1500.0)
    keywords = {"k": 16.0, "scale": 200.0, "base": math.e, "init_rating": 1500.0}
    assert online_elo(battles, rule) == online_elo(battles, **keywords)
    assert bradley_terry(battles, rule) == bradley_terry(battles, **keywords)
    by_rule = permutation_elo(battles, n_permutations=5, rule=rule)
    assert by_rule.equals(permutation_elo(battles, n_permutations=5, **keywords))
    assert bootstrap(battles, "elo", 4, rule=rule).equals(bootstrap(battles, "elo", 4, **keywords))
    # the rule really is used: a different scale moves BT ratings proportionally around init_rating
    default = bradley_terry(battles)
    assert bradley_terry(battles, scale=200.0)["a"] - 1000.0 == pytest.approx((default["a"] - 1000.0) / 2)
