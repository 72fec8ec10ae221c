import pytest

from hf_ext.testing import preference_dataset, prompt_dataset, resolve_model_name, testing_dataset


def test_preference_pairs_are_prose_continuations_and_their_reversal():
    pairs = preference_dataset(16, seed=3)
    assert len(pairs) == 16 and pairs.to_list() == preference_dataset(16, seed=3).to_list()
    for row in pairs:
        assert row["chosen"].split() == list(reversed(row["rejected"].split()))
        assert row["chosen"] != row["rejected"]


def test_conversational_shapes_follow_trl():
    chat = preference_dataset(4, conversational=True)
    assert chat[0]["prompt"][0]["role"] == "user"
    assert chat[0]["chosen"][0]["role"] == chat[0]["rejected"][0]["role"] == "assistant"
    assert prompt_dataset(4, conversational=True)[0]["prompt"][0]["role"] == "user"


def test_testing_names_resolve_and_reject_unknown():
    data = testing_dataset("hf-ext-testing:prompts")
    assert set(data) == {"train", "test"} and len(data["train"]) + len(data["test"]) == 32
    with pytest.raises(ValueError, match="hf-ext-testing:preferences"):
        testing_dataset("hf-ext-testing:prefs")
    with pytest.raises(ValueError, match="tiny-llama"):
        resolve_model_name("hf-ext-testing:tiny-bert")
    assert resolve_model_name("meta-llama/Llama-3.2-1B") == "meta-llama/Llama-3.2-1B"
