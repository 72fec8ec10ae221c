"""Resume state without pickle: the safetensors + JSON codec, and real optimizer, scheduler and RNG states."""

import json
import math
import random

import numpy as np
import pytest
import torch
from transformers import get_linear_schedule_with_warmup

from hf_ext.trainers.safe_saving import _rng_state, _set_rng_state, load_state, pickle_free, save_state


def test_nested_state_round_trips_with_its_types(tmp_path):
    base = torch.arange(6.0)
    state = {
        0: {"exp_avg": base[:3], "exp_avg_sq": base[3:], "step": torch.tensor(5.0)},  # views of one storage
        "groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "foreach": None, "amsgrad": False, "params": [0, 1]}],
        "numpy": ("MT19937", np.arange(4, dtype=np.uint32), 2, 0, 0.0),
        "scalars": [np.float64(0.5), np.int64(7), math.inf, "name"],
        "half": torch.ones(2, dtype=torch.bfloat16),
        "empty": {},
    }
    save_state(state, tmp_path, "state")
    loaded = load_state(tmp_path, "state")
    assert set(loaded) == set(state) and isinstance(next(iter(loaded)), int)  # int keys stay int
    torch.testing.assert_close(loaded[0]["exp_avg"], base[:3])
    torch.testing.assert_close(loaded[0]["exp_avg_sq"], base[3:])
    assert loaded["groups"] == state["groups"] and isinstance(loaded["groups"][0]["betas"], tuple)
    assert loaded["numpy"][0] == "MT19937" and loaded["numpy"][1].dtype == np.uint32
    np.testing.assert_array_equal(loaded["numpy"][1], state["numpy"][1])
    assert loaded["scalars"] == [0.5, 7, math.inf, "name"]
    assert loaded["half"].dtype == torch.bfloat16 and loaded["empty"] == {}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["state.json", "state.safetensors"]


def test_unsupported_values_and_foreign_files_are_refused_by_name(tmp_path):
    with pytest.raises(TypeError, match=r"optimizer\['groups'\]\[0\]\['hook'\].*function"):
        save_state({"groups": [{"hook": lambda: None}]}, tmp_path, "optimizer")
    save_state({"a": 1}, tmp_path, "other")
    document = json.loads((tmp_path / "other.json").read_text())
    (tmp_path / "other.json").write_text(json.dumps({**document, "format": "something-else"}))
    with pytest.raises(ValueError, match="field 'format'"):
        load_state(tmp_path, "other")
    (tmp_path / "other.json").write_text('{"format": \n oops')
    with pytest.raises(ValueError, match="line 2"):
        load_state(tmp_path, "other")


def test_optimizer_and_scheduler_resume_exactly(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=2, num_training_steps=10)
    batches = [torch.randn(8, 4) for _ in range(6)]

    def step(model, optimizer, scheduler, batch):
        optimizer.zero_grad()
        model(batch).pow(2).mean().backward()
        optimizer.step()
        scheduler.step()

    for batch in batches[:3]:
        step(model, optimizer, scheduler, batch)
    save_state(optimizer.state_dict(), tmp_path, "optimizer")
    save_state(scheduler.state_dict(), tmp_path, "scheduler")
    clone = torch.nn.Linear(4, 3)
    clone.load_state_dict(model.state_dict())
    clone_optimizer = torch.optim.AdamW(clone.parameters(), lr=1e-2)
    clone_scheduler = get_linear_schedule_with_warmup(
        clone_optimizer, num_warmup_steps=2, num_training_steps=10
    )
    clone_optimizer.load_state_dict(load_state(tmp_path, "optimizer"))
    clone_scheduler.load_state_dict(load_state(tmp_path, "scheduler"))
    for batch in batches[3:]:
        step(model, optimizer, scheduler, batch)
        step(clone, clone_optimizer, clone_scheduler, batch)
    assert clone_scheduler.get_last_lr() == scheduler.get_last_lr()
    for ours, theirs in zip(clone.parameters(), model.parameters()):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


def test_rng_states_resume_exactly(tmp_path):
    save_state(_rng_state(), tmp_path, "rng_state")
    expected = (random.random(), np.random.rand(), torch.rand(3))
    _set_rng_state(load_state(tmp_path, "rng_state"))
    got = (random.random(), np.random.rand(), torch.rand(3))
    assert got[:2] == expected[:2] and torch.equal(got[2], expected[2])


def test_pickle_free_keeps_the_name_and_wraps_once():
    from trl import DPOTrainer

    wrapped = pickle_free(DPOTrainer)
    assert wrapped.__name__ == "DPOTrainer" and issubclass(wrapped, DPOTrainer)
    assert pickle_free(wrapped) is wrapped
