"""A real byte-level BPE tokenizer trained offline on :mod:`hf_ext.data.prose`, with a chat template.

Example:
    >>> from hf_ext.testing import tiny_tokenizer
    >>> tokenizer = tiny_tokenizer()
    >>> ids = tokenizer("The quick brown fox.")["input_ids"]
    >>> ids[0] == tokenizer.bos_token_id and tokenizer.decode(ids, skip_special_tokens=True)
    'The quick brown fox.'
"""

from __future__ import annotations

import functools

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from hf_ext.data.prose import prose_split
from hf_ext.testing.cache_keys import recipe_key
from hf_ext.utils import atomic_write_text, cache_dir

BOS, EOS, PAD, UNK = "<s>", "</s>", "<pad>", "<unk>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")
SPECIAL_TOKENS = [PAD, BOS, EOS, UNK, *ROLE_TOKENS]

# Each turn is "<|role|>content</s>\n"; a generation prompt opens an assistant turn. The rendered prompt is
# always a prefix of the rendered prompt + completion, which is what TRL's conversational trainers need.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '</s>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)


@functools.cache
def _trained_tokenizer_json(vocab_size: int, num_paragraphs: int) -> str:
    """The trained tokenizer as JSON, from the on-disk cache when an identical one was trained before."""
    key = recipe_key(vocab_size, num_paragraphs, SPECIAL_TOKENS, 1, length=16)
    cache_file = cache_dir() / "tokenizers" / f"{key}.json"
    if cache_file.exists():
        return cache_file.read_text(encoding="utf-8")
    trained = _train_tokenizer_json(vocab_size, num_paragraphs)
    atomic_write_text(cache_file, trained)
    return trained


def _train_tokenizer_json(vocab_size: int, num_paragraphs: int) -> str:
    train, _ = prose_split()
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(train[:num_paragraphs], trainer=trainer)
    bos_id = tokenizer.token_to_id(BOS)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    return tokenizer.to_str()


def tiny_tokenizer(vocab_size: int = 512, num_paragraphs: int = 2000, model_max_length: int = 2048):
    """A fresh :class:`~transformers.PreTrainedTokenizerFast` (byte-level BPE: any text encodes).

    Training is deterministic and cached (on disk under the cache directory, and per process), so every call
    returns an equal, independent tokenizer.
    It adds ``<s>`` in front of every sequence (like Llama), pads with ``<pad>`` and carries a chat template.
    """
    if vocab_size < 256 + len(SPECIAL_TOKENS):
        raise ValueError(f"vocab_size must be at least {256 + len(SPECIAL_TOKENS)} (bytes + special tokens)")
    backend = Tokenizer.from_str(_trained_tokenizer_json(vocab_size, num_paragraphs))
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        additional_special_tokens=list(ROLE_TOKENS),
        chat_template=CHAT_TEMPLATE,
        model_max_length=model_max_length,
    )
