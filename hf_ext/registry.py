"""String-keyed registries of trainers and pruners (lm-eval tasks are listed by :mod:`hf_ext.task_files`).

Entries may name their classes as ``"module:Class"`` strings, so registering costs nothing and
``import hf_ext`` stays fast: a class is imported only when :meth:`Entry.load` asks for it. hf-ext's own
entries are registered when :mod:`hf_ext.trainers` and :mod:`hf_ext.pruning` are imported, which the lookup
functions do on first use. Third parties register theirs with one call, as with PEFT's
``register_peft_method``.

Example:
    >>> from hf_ext.registry import get_trainer, list_trainers, register_trainer
    >>> "dpo" in list_trainers()
    True
    >>> get_trainer("dpo").config_cls.__name__
    'DPOConfig'
    >>> get_trainer("dpp")
    Traceback (most recent call last):
    ...
    hf_ext.registry.UnknownNameError: unknown trainer 'dpp' (did you mean 'dpo'?); available: ...
"""

from __future__ import annotations

import difflib
import importlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from hf_ext.errors import HFExtError
from hf_ext.utils import import_object

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class UnknownNameError(HFExtError, KeyError):
    """A name that no registry entry, task or choice matches; the message lists the valid ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def unknown_name_error(kind: str, name: str, choices: list[str]) -> UnknownNameError:
    close = difflib.get_close_matches(name, choices, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return UnknownNameError(
        f"unknown {kind} {name!r}{hint}; available: {', '.join(sorted(choices)) or 'none'}"
    )


@dataclass(frozen=True)
class Entry:
    """One registered component: the class that does the work, its config class and how the CLI builds it.

    ``options`` carries what the CLI needs beyond the two classes, e.g. ``model_kind`` for trainers
    (``"causal-lm"`` or ``"sequence-classification"``) and ``needs_reward_funcs`` for online trainers.
    """

    name: str
    target: type | str
    config: type | str
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def cls(self) -> type:
        return import_object(self.target) if isinstance(self.target, str) else self.target

    @cached_property
    def config_cls(self) -> type:
        return import_object(self.config) if isinstance(self.config, str) else self.config

    @property
    def trainer_cls(self) -> type:
        return self.cls

    @property
    def pruner_cls(self) -> type:
        return self.cls

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)


class Registry:
    """A name -> :class:`Entry` map whose built-in entries come from importing ``provider`` on first use."""

    def __init__(self, kind: str, provider: str):
        self.kind = kind
        self.provider = provider
        self._entries: dict[str, Entry] = {}
        self._provider_loaded = False

    def register(
        self,
        name: str,
        target: type | str,
        config: type | str,
        *,
        description: str = "",
        overwrite: bool = False,
        **options: Any,
    ) -> Entry:
        if not NAME_PATTERN.match(name):
            raise ValueError(f"{self.kind} name {name!r} must be lower-case letters, digits, '.', '_' or '-'")
        if name in self._entries and not overwrite:
            raise ValueError(f"{self.kind} {name!r} is already registered; pass overwrite=True to replace it")
        entry = Entry(name, target, config, description, dict(options))
        self._entries[name] = entry
        return entry

    def _load_provider(self) -> None:
        if not self._provider_loaded:
            self._provider_loaded = True
            importlib.import_module(self.provider)

    def get(self, name: str) -> Entry:
        self._load_provider()
        if name not in self._entries:
            raise unknown_name_error(self.kind, name, list(self._entries))
        return self._entries[name]

    def names(self) -> list[str]:
        self._load_provider()
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        return [self._entries[name] for name in self.names()]


TRAINERS = Registry("trainer", provider="hf_ext.trainers")
PRUNERS = Registry("pruner", provider="hf_ext.pruning")


def register_trainer(name: str, trainer_cls: type | str, config_cls: type | str, **kwargs: Any) -> Entry:
    """Register a trainer under ``name``.

    Keywords: ``description=``, ``model_kind=``, ``needs_reward_funcs=``, ``overwrite=``."""
    return TRAINERS.register(name, trainer_cls, config_cls, **kwargs)


def get_trainer(name: str) -> Entry:
    """The trainer entry for ``name``; :class:`UnknownNameError` lists the valid names otherwise."""
    return TRAINERS.get(name)


def list_trainers() -> list[str]:
    return TRAINERS.names()


def register_pruner(name: str, pruner_cls: type | str, config_cls: type | str, **kwargs: Any) -> Entry:
    """Register a pruner under ``name`` (``description=``, ``overwrite=``)."""
    return PRUNERS.register(name, pruner_cls, config_cls, **kwargs)


def get_pruner(name: str) -> Entry:
    return PRUNERS.get(name)


def list_pruners() -> list[str]:
    return PRUNERS.names()
