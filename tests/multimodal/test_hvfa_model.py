"""HVFA on Idefics3: processor and model agree on token counts; forward, generate, save and reload."""

import pytest
import torch
from conftest import cached_tiny_hvfa, page
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor

import hf_ext  # noqa: F401  (registers the Auto classes)
from hf_ext.errors import HFExtError

MODES = [
    {"hvfa_scales": 1},
    {"hvfa_scales": 2},
    {"hvfa_scales": 3, "multiscale_mode": "concat"},
    {"hvfa_scales": 3, "multiscale_mode": "aggregate", "spatial_reduction": "cross_attentive"},
    {"hvfa_scales": 3, "multiscale_mode": "aggregate", "spatial_reduction": "cross_local_attentive"},
]
sizes = st.tuples(st.integers(6, 160), st.integers(6, 160))
samples = st.lists(st.lists(sizes, min_size=0, max_size=2), min_size=1, max_size=3)


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: "-".join(map(str, mode.values())))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=samples)
def test_processor_token_count_equals_model_features(mode, batch):
    model, processor = cached_tiny_hvfa(**mode)
    images = [[page(w, h, seed=i) for i, (w, h) in enumerate(sample)] for sample in batch]
    texts = ["Q: " + "<image> x" * len(sample) for sample in batch]
    if not any(images):
        return
    inputs = processor(text=texts, images=images, padding=True, return_tensors="pt")
    with torch.no_grad():
        features = model.get_image_features(inputs["pixel_values"], image_grids=inputs["image_grids"])
    for index, sample in enumerate(images):
        tokens = int((inputs["input_ids"][index] == processor.image_token_id).sum())
        assert tokens == features.pooler_output[index].shape[0]
        assert tokens == sum(processor.num_image_tokens(image) for image in sample)
    with torch.no_grad():
        assert model(**inputs).logits.shape[:2] == inputs["input_ids"].shape


def test_naive_multiscale_costs_five_times_the_crops():
    _, concat = cached_tiny_hvfa(hvfa_scales=3, multiscale_mode="concat")
    _, hvfa = cached_tiny_hvfa(hvfa_scales=3, multiscale_mode="aggregate")
    image = page(96, 64)
    n = 2 * 3  # the base grid of a 96x64 page with 16-pixel crops
    assert concat.grid_for(image) == (2, 3)
    assert concat.num_image_tokens(image) == (1 + 5 * n) * 4
    assert hvfa.num_image_tokens(image) == (1 + n) * 4


def test_left_padded_generate_with_cache_matches_no_cache():
    model, processor = cached_tiny_hvfa()
    processor.tokenizer.padding_side = "left"
    try:
        inputs = processor(
            text=["<image>What is the total?", "Read: <image>"],
            images=[[page(90, 40)], [page(30, 100, seed=1)]],
            padding=True,
            return_tensors="pt",
        )
    finally:
        processor.tokenizer.padding_side = "right"
    kwargs = {"max_new_tokens": 6, "do_sample": False}
    with torch.no_grad():
        cached = model.generate(**inputs, use_cache=True, **kwargs)
        uncached = model.generate(**inputs, use_cache=False, **kwargs)
    assert cached.shape == (2, inputs["input_ids"].shape[1] + 6)
    assert torch.equal(cached, uncached)


def test_save_and_reload_through_the_auto_classes(tmp_path):
    model, processor = cached_tiny_hvfa(spatial_reduction="cross_local_attentive", query_init="random")
    with torch.no_grad():  # make the fusion non-trivial so the aggregator's weights matter
        model.model.aggregator.fuse.weight.normal_(std=0.1)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists() and not list(tmp_path.glob("*.bin"))
    config = AutoConfig.from_pretrained(tmp_path)
    assert (config.spatial_reduction, config.query_init) == ("cross_local_attentive", "random")
    reloaded = AutoModelForImageTextToText.from_pretrained(tmp_path)
    reloaded_processor = AutoProcessor.from_pretrained(tmp_path)
    assert type(reloaded).__name__ == "HVFAForConditionalGeneration"
    inputs = reloaded_processor(text=["<image>Total?"], images=[[page(70, 50)]], return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(reloaded(**inputs).logits, model(**inputs).logits)
    assert reloaded_processor.to_dict() == processor.to_dict()


def test_reconstruction_loss_flows_to_the_aggregator_and_the_encoder():
    model, processor = cached_tiny_hvfa(reconstruction_weight=0.5)
    model.zero_grad()
    inputs = processor(text=["<image>Total?"], images=[[page(70, 50)]], return_tensors="pt")
    output = model(**inputs, labels=inputs["input_ids"])
    assert output.loss is not None and output.reconstruction_loss > 0
    (output.loss + model.config.reconstruction_weight * output.reconstruction_loss).backward()
    assert model.model.aggregator.reconstruct[0].weight.grad.abs().sum() > 0
    assert model.model.vision_model.embeddings.patch_embedding.weight.grad.abs().sum() > 0
    model.zero_grad()


def test_mistakes_are_named():
    model, processor = cached_tiny_hvfa()
    with pytest.raises(HFExtError, match="holds 2 <image> tokens but 1 images"):
        processor(text=["<image><image>"], images=[[page(20, 20)]])
    with pytest.raises(HFExtError, match="truncation cut them"):
        processor(text=["<image>hi"], images=[[page(90, 90)]], truncation=True, max_length=10)
    inputs = processor(text=["<image>hi"], images=[[page(30, 30)]], return_tensors="pt")
    with pytest.raises(HFExtError, match="image_grids is required"):
        model(input_ids=inputs["input_ids"], pixel_values=inputs["pixel_values"])


@pytest.mark.slow  # two fresh interpreters importing torch and transformers
@pytest.mark.parametrize(
    "first_import",
    ["import hf_ext; from transformers import AutoModelForImageTextToText",
     "from hf_ext.multimodal.hvfa.modeling import HVFAForConditionalGeneration"],
)  # fmt: skip
def test_auto_classes_know_hvfa_whatever_is_imported_first(first_import):
    import subprocess
    import sys

    code = (
        f"{first_import}\n"
        "from transformers import AutoConfig, AutoModelForImageTextToText\n"
        "from transformers.models.auto.processing_auto import PROCESSOR_MAPPING\n"
        "c = type(AutoConfig.for_model('hfx_hvfa_idefics3'))\n"
        "print(AutoModelForImageTextToText._model_mapping[c].__name__, PROCESSOR_MAPPING[c].__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["HVFAForConditionalGeneration", "HVFAProcessor"]


def test_chat_template_renders_image_parts_and_tokenizes_with_the_images():
    _, processor = cached_tiny_hvfa()
    image = page(40, 60)
    messages = [
        {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "Total?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "45.20"}]},
    ]
    text = processor.apply_chat_template(messages)
    assert text.startswith("<|user|><image>Total?</s>") and "45.20" in text
    batch = processor.apply_chat_template([messages], tokenize=True, return_dict=True, return_tensors="pt")
    tokens = int((batch["input_ids"] == processor.image_token_id).sum())
    assert tokens == processor.num_image_tokens(image) and batch["pixel_values"].shape[0] == 1
