import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from hf_ext.testing import TINY_ARCHITECTURES, save_tiny_causal_lm, tiny_causal_lm, tiny_tokenizer


@pytest.mark.parametrize("arch", sorted(TINY_ARCHITECTURES))
def test_tiny_model_round_trips_and_generates(arch, tmp_path):
    path = save_tiny_causal_lm(tmp_path / arch, arch)
    original, _ = tiny_causal_lm(arch)
    reloaded = AutoModelForCausalLM.from_pretrained(path).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    inputs = tokenizer(["Assignment statements bind names to values."], return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(original(**inputs).logits, reloaded(**inputs).logits)
    generated = reloaded.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert generated.shape == (1, inputs["input_ids"].shape[1] + 5)
    assert type(reloaded).__name__.lower().startswith(arch)


def test_gqa_architectures_have_fewer_kv_heads():
    for arch in ("qwen2", "mistral"):
        config = tiny_causal_lm(arch)[0].config
        assert config.num_key_value_heads < config.num_attention_heads


def test_weights_depend_on_seed_only():
    first, second, other = (tiny_causal_lm(seed=s)[0] for s in (0, 0, 1))
    state = first.state_dict()
    assert all(torch.equal(state[k], v) for k, v in second.state_dict().items())
    assert not all(torch.equal(state[k], v) for k, v in other.state_dict().items())


def test_config_overrides_reach_the_model():
    model, _ = tiny_causal_lm("llama", num_hidden_layers=3, hidden_size=32, num_attention_heads=2)
    assert len(model.model.layers) == 3 and model.config.hidden_size == 32
    with pytest.raises(ValueError, match="unknown arch 'bert'"):
        tiny_causal_lm("bert")


def test_tokenizer_round_trips_text_and_chat_template(tmp_path):
    tokenizer = tiny_tokenizer()
    text = "Unicode too: naïve café — ok?"
    ids = tokenizer(text)["input_ids"]
    assert ids[0] == tokenizer.bos_token_id
    assert tokenizer.decode(ids, skip_special_tokens=True) == text
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert reloaded(text)["input_ids"] == ids
    assert {reloaded.pad_token, reloaded.eos_token, reloaded.bos_token} == {"<pad>", "</s>", "<s>"}
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    prompt = reloaded.apply_chat_template(messages[:1], tokenize=False, add_generation_prompt=True)
    full = reloaded.apply_chat_template(messages, tokenize=False)
    assert prompt == "<|user|>Hi</s>\n<|assistant|>" and full.startswith(prompt)
