import torch
from transformers import AutoModelForCausalLM

from hf_ext.evaluation.perplexity import perplexity
from hf_ext.testing import reference_lm, reference_lm_info, reference_texts


def test_reference_lm_perplexity_is_far_below_untrained():
    model, tokenizer = reference_lm()
    heldout = reference_texts("heldout")
    assert set(heldout).isdisjoint(reference_texts("train"))
    measured = perplexity(model, tokenizer, heldout, seq_len=128)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(123)
        untrained = AutoModelForCausalLM.from_config(model.config).eval()
    untrained_ppl = perplexity(untrained, tokenizer, heldout, seq_len=128)
    assert measured < untrained_ppl / 10
    info = reference_lm_info()
    assert abs(measured - info["heldout_perplexity"]) / measured < 1e-3  # the recorded figure is the real one
    assert 2_000_000 < info["num_parameters"] < 10_000_000


def test_perplexity_of_a_perfect_predictor_is_one():
    class Repeater(torch.nn.Module):  # always predicts the token it was shown: perfect on constant text
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))

        def forward(self, input_ids):
            logits = torch.full((*input_ids.shape, 16), -1e4)
            logits.scatter_(-1, input_ids[..., None], 1e4)
            return type("Output", (), {"logits": logits})()

    class Tokenizer:
        eos_token_id = 3

        def __call__(self, texts, add_special_tokens=False):
            return {"input_ids": [[3] * 10 for _ in texts]}

    assert perplexity(Repeater(), Tokenizer(), ["x"] * 4, seq_len=8) == 1.0


def test_the_build_uses_every_core_and_gives_the_callers_thread_count_back():
    import os

    from hf_ext.testing.reference import every_core

    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # as the benchmarks and the one_torch_thread fixture do before the first build
    try:
        with every_core():
            assert torch.get_num_threads() == len(os.sched_getaffinity(0))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)
