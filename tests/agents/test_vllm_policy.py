"""The vLLM policy adapter, tested against an in-test engine that implements exactly the part of vLLM's
interface the adapter calls (vLLM needs a GPU and cannot be installed here).

The stand-ins follow vLLM's own source (``vllm/entrypoints/llm.py``, ``vllm/sampling_params.py``,
``vllm/outputs.py``, checked 2026-11-30):

- ``LLM.chat(messages, sampling_params=None, use_tqdm=True, lora_request=None, chat_template=None,
  chat_template_content_format="auto", add_generation_prompt=True, continue_final_message=False,
  tools=None, chat_template_kwargs=None, mm_processor_kwargs=None) -> list[RequestOutput]``: one
  conversation (a list of ``{"role", "content"}`` dicts) gives one ``RequestOutput``; the prompt is the
  tokenizer's chat template applied with ``add_generation_prompt``, encoded without special tokens;
- ``SamplingParams`` fields ``n=1, temperature=1.0, top_p=1.0, top_k=0, seed=None, stop=None,
  max_tokens=16`` (temperature 0 is greedy; stop strings are left out of the returned text);
- ``RequestOutput.outputs``: a list of ``CompletionOutput(index, text, token_ids, ...)``.

The fake engine really generates, with a tiny transformers model, so greedy output can be compared with
:class:`~hf_ext.agents.dfsdt.TransformersPolicy` on the same model.
"""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass, field

import pytest
import torch

from hf_ext.agents.dfsdt import TransformersPolicy, run_dfsdt, system_prompt
from hf_ext.agents.tools import OfflineToolWorld
from hf_ext.agents.vllm_policy import VLLMPolicy, is_vllm_engine, load_vllm_policy
from hf_ext.errors import HFExtError


@dataclass
class SamplingParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int | None = None
    stop: str | list[str] | None = None
    max_tokens: int | None = 16


@dataclass
class CompletionOutput:
    index: int
    text: str
    token_ids: list[int]
    finish_reason: str | None = "stop"


@dataclass
class RequestOutput:
    request_id: str
    outputs: list[CompletionOutput] = field(default_factory=list)


class LLM:
    """``vllm.LLM``'s ``chat``, generating with a transformers model; records every call."""

    def __init__(self, model, tokenizer):
        self.model, self.tokenizer, self.requests = model, tokenizer, []

    def chat(
        self,
        messages,
        sampling_params=None,
        use_tqdm=True,
        lora_request=None,
        chat_template=None,
        chat_template_content_format="auto",
        add_generation_prompt=True,
        continue_final_message=False,
        tools=None,
        chat_template_kwargs=None,
        mm_processor_kwargs=None,
    ):
        params = sampling_params or SamplingParams()
        self.requests.append({"messages": messages, "params": params, "use_tqdm": use_tqdm})
        conversations = messages if messages and isinstance(messages[0], list) else [messages]
        results = []
        for number, conversation in enumerate(conversations):
            assert all(isinstance(m["content"], str) for m in conversation)
            prompt = self.tokenizer.apply_chat_template(
                conversation,
                chat_template=chat_template,
                tokenize=False,
                add_generation_prompt=add_generation_prompt,
            )
            ids = torch.tensor([self.tokenizer.encode(prompt, add_special_tokens=False)])
            greedy = params.temperature == 0
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(params.seed or 0)
                out = self.model.generate(
                    input_ids=ids,
                    attention_mask=torch.ones_like(ids),
                    max_new_tokens=params.max_tokens,
                    do_sample=not greedy,
                    temperature=None if greedy else params.temperature,
                    top_p=None,
                    top_k=None,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new = out[0, ids.shape[1] :].tolist()
            text = self.tokenizer.decode(new, skip_special_tokens=True)
            for stop in [params.stop] if isinstance(params.stop, str) else params.stop or []:
                if stop in text:
                    text = text[: text.index(stop)]
            results.append(RequestOutput(str(number), [CompletionOutput(0, text, new)]))
        return results


for stand_in in (SamplingParams, CompletionOutput, RequestOutput, LLM):
    stand_in.__module__ = "vllm.entrypoints.llm"  # what is_vllm_engine and run_dfsdt look at


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.LLM, module.SamplingParams = LLM, SamplingParams
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


@pytest.fixture(scope="module")
def tiny():
    from hf_ext.testing import tiny_causal_lm

    return tiny_causal_lm("llama", num_hidden_layers=1)


def _root_messages():
    world = OfflineToolWorld()
    query = world.generate_queries(1, "G1", seed=0, distractors=0)[0]
    world.reset(query)
    step = {"name": query["solution"][0]["name"], "arguments": json.dumps(query["solution"][0]["arguments"])}
    messages = [
        {"role": "system", "content": system_prompt(world)},
        {"role": "user", "content": query["query"]},
        {"role": "assistant", "content": "look it up", "function_call": step},
        {"role": "function", "name": step["name"], "content": '{"error": "", "response": 1}'},
    ]
    return world, query, messages


def test_greedy_vllm_policy_matches_the_transformers_policy(fake_vllm, tiny):
    model, tokenizer = tiny
    _, _, messages = _root_messages()
    engine = LLM(model, tokenizer)
    vllm_policy = VLLMPolicy(engine, max_new_tokens=12, temperature=0.0)
    hf_policy = TransformersPolicy(model, tokenizer, max_new_tokens=12, do_sample=False)
    assert vllm_policy(messages) == hf_policy(messages)
    assert vllm_policy.last_token_count == hf_policy.last_token_count
    [request] = engine.requests
    # the conversation is sent as chat turns: the step as ToolLLaMA text, the observation in role "tool"
    assert [m["role"] for m in request["messages"]] == ["system", "user", "assistant", "tool"]
    assert request["messages"][2]["content"].startswith("Thought: look it up\nAction: ")
    assert request["use_tqdm"] is False


def test_sampling_params_seed_per_call_and_stop(fake_vllm, tiny):
    model, tokenizer = tiny
    _, _, messages = _root_messages()
    engine = LLM(model, tokenizer)
    policy = VLLMPolicy(engine, max_new_tokens=7, temperature=0.8, seed=3, stop=["\nObservation"])
    first, second = policy(messages), policy(messages)
    params = [r["params"] for r in engine.requests]
    assert [p.seed for p in params] == [3 * 1_000_003, 3 * 1_000_003 + 1]
    assert all(p.max_tokens == 7 and p.temperature == 0.8 and p.stop == ["\nObservation"] for p in params)
    assert policy.calls == 2 and isinstance(first, str) and isinstance(second, str)
    # the same seed and call number reproduce the same text
    again = VLLMPolicy(LLM(model, tokenizer), max_new_tokens=7, temperature=0.8, seed=3)
    assert again(messages) == first


def test_run_dfsdt_wraps_a_vllm_engine(fake_vllm, tiny, tmp_path):
    model, tokenizer = tiny
    world, query, _ = _root_messages()
    engine = LLM(model, tokenizer)
    assert is_vllm_engine(engine) and not is_vllm_engine((model, tokenizer))
    [result] = run_dfsdt(engine, world, [query], max_queries=2, out_dir=tmp_path, progress=False)
    assert result.query_count == len(engine.requests) == 2
    record = json.loads(result.path.read_text())
    assert record["tree"]["tree"]["child_count"] >= 1


def test_missing_vllm_is_a_clear_error(monkeypatch, tiny):
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm -> ImportError
    with pytest.raises(HFExtError, match="vLLM is not installed"):
        load_vllm_policy("some/model")
    policy = VLLMPolicy(LLM(*tiny))
    with pytest.raises(HFExtError, match="vLLM is not installed"):
        policy(_root_messages()[2])


def test_bad_engine_and_settings_are_refused(tiny):
    with pytest.raises(HFExtError, match="engine must be a vllm.LLM"):
        VLLMPolicy(object())
    with pytest.raises(HFExtError, match="temperature"):
        VLLMPolicy(LLM(*tiny), temperature=-1.0)


def test_cli_backend_vllm_without_vllm(monkeypatch, tmp_path, capsys):
    from hf_ext.cli import main
    from hf_ext.testing import save_tiny_causal_lm

    monkeypatch.setitem(sys.modules, "vllm", None)
    model = save_tiny_causal_lm(tmp_path / "model", num_hidden_layers=1)
    args = ["trees", "collect", "--groups", "G1", "--per-group", "1", "--model", str(model)]
    assert main([*args, "--backend", "vllm", "--out", str(tmp_path / "out")]) == 2
    assert "vLLM is not installed" in capsys.readouterr().err
