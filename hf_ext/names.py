"""Name prefixes that stand for models and datasets built on this machine, resolved without importing their
builder.

Production code (the recipe launcher, the pruner, the BABILong generator) accepts a Hub id, a local path, or a
*prefixed name* such as ``hf-ext-testing:tiny-llama``. It asks this module to resolve the name; this module
looks the prefix up in :data:`NAME_PROVIDERS`, imports the provider named there (``"module:attribute"``) on
first use, and hands it the name. Nothing is imported until a prefixed name is actually used, and production
code never imports the provider's package itself: the offline kit :mod:`hf_ext.testing` stays a leaf that
only tests, recipes, benchmarks and the quickstart import.

A provider is any object with ``model_path(name) -> str`` (a local folder ``from_pretrained`` can read) and
``dataset(name) -> DatasetDict``; third parties may add their own prefix with :func:`register_name_prefix`.

Example:
    >>> from hf_ext.names import is_provided_name, resolve_model_name
    >>> resolve_model_name("gpt2-medium")          # anything without a known prefix passes through unchanged
    'gpt2-medium'
    >>> is_provided_name("hf-ext-testing:preferences"), is_provided_name("data/train.jsonl")
    (True, False)
"""

from __future__ import annotations

from typing import Any, Protocol

from hf_ext.errors import HFExtError
from hf_ext.utils import import_object


class NameProvider(Protocol):
    """What a prefix resolves to: a builder of local model folders and of datasets."""

    def model_path(self, name: str) -> str: ...

    def dataset(self, name: str) -> Any: ...


# prefix -> the provider, or a "module:attribute" string imported when a name with that prefix is first used.
NAME_PROVIDERS: dict[str, NameProvider | str] = {"hf-ext-testing:": "hf_ext.testing.names:PROVIDER"}


def register_name_prefix(prefix: str, provider: NameProvider | str, *, overwrite: bool = False) -> None:
    """Make ``prefix`` + anything resolve through ``provider`` (an object or a ``"module:attribute"``)."""
    if not prefix.endswith(":") or len(prefix) < 2:
        raise ValueError(f"a name prefix must end with ':' (e.g. 'my-kit:'), got {prefix!r}")
    if prefix in NAME_PROVIDERS and not overwrite:
        raise ValueError(f"name prefix {prefix!r} is already registered; pass overwrite=True to replace it")
    NAME_PROVIDERS[prefix] = provider


def _provider_for(name: Any) -> NameProvider | None:
    if not isinstance(name, str):
        return None
    for prefix, provider in NAME_PROVIDERS.items():
        if name.startswith(prefix):
            if isinstance(provider, str):
                provider = NAME_PROVIDERS[prefix] = import_object(provider)
            return provider
    return None


def is_provided_name(name: Any) -> bool:
    """Whether ``name`` starts with a registered prefix (no import happens)."""
    return isinstance(name, str) and any(name.startswith(prefix) for prefix in NAME_PROVIDERS)


def resolve_model_name(name: str) -> str:
    """A local folder for a prefixed model name (built on first use by its provider); others unchanged."""
    provider = _provider_for(name)
    return name if provider is None else provider.model_path(name)


def provided_dataset(name: str) -> Any:
    """The ``DatasetDict`` a provider builds for a prefixed dataset name."""
    provider = _provider_for(name)
    if provider is None:
        raise HFExtError(f"{name!r} has no registered name prefix (known: {', '.join(NAME_PROVIDERS)})")
    return provider.dataset(name)
