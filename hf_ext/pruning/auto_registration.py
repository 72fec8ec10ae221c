"""Make ``AutoConfig`` / ``AutoModelForCausalLM`` know hf-ext's pruned-model classes after ``import hf_ext``.

Importing the Auto classes costs seconds (torch, transformers' modeling utilities), more than
``import hf_ext`` may take. So ``import hf_ext`` only installs an import hook: the classes of
:mod:`hf_ext.pruning.modeling_hfx_slim` are registered right after transformers' ``modeling_auto`` module has
been executed (or immediately, if it was imported before hf_ext). Nothing is imported that the user's own
``from transformers import AutoModelForCausalLM`` would not import anyway, apart from four modeling files.

Example:
    >>> import hf_ext  # installs the hook
    >>> from transformers import AutoConfig
    >>> AutoConfig.for_model("hfx_slim_llama").model_type
    'hfx_slim_llama'
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys

TRIGGER_MODULE = "transformers.models.auto.modeling_auto"


def register_slim_classes() -> None:
    """Register every ``Slim*Config`` and ``Slim*ForCausalLM`` with the Auto classes (idempotent)."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING, AutoConfig
    from transformers.models.auto.modeling_auto import AutoModelForCausalLM

    from hf_ext.pruning.modeling_hfx_slim import SLIM_MODEL_CLASSES

    for config_class, model_class in SLIM_MODEL_CLASSES.items():
        if config_class.model_type not in CONFIG_MAPPING:
            AutoConfig.register(config_class.model_type, config_class)
            AutoModelForCausalLM.register(config_class, model_class)


# Every part's registration function ("module:function"), run at the same moment; hf-ext parts append here.
REGISTRATIONS = [
    "hf_ext.pruning.auto_registration:register_slim_classes",
    "hf_ext.multimodal.hvfa.auto_registration:register_hvfa_classes",
]


def register_all() -> None:
    """Run every function of :data:`REGISTRATIONS`; one whose module is still importing registers later."""
    from hf_ext.utils import import_object

    for target in REGISTRATIONS:
        try:
            import_object(target)()
        except ImportError:  # hf_ext's modeling file is itself importing (circular); it registers when done
            pass


class _RegisterAfterLoading(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the trigger module with the normal finders and registers the classes after it has executed."""

    def __init__(self) -> None:
        self._wrapped_loader = None

    def find_spec(self, fullname, path, target=None):
        if fullname != TRIGGER_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        self._wrapped_loader = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec):
        return self._wrapped_loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._wrapped_loader.exec_module(module)
        uninstall()
        register_all()


_HOOK = _RegisterAfterLoading()


def uninstall() -> None:
    if _HOOK in sys.meta_path:
        sys.meta_path.remove(_HOOK)


def register_when_transformers_loads() -> None:
    """Register now if transformers' Auto models are already imported, otherwise right after they are."""
    if TRIGGER_MODULE in sys.modules:
        register_all()
    elif _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)
