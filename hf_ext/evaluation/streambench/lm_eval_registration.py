"""Registers the ``hfx-stream`` lm-eval model by name, lazily: the class is imported on first use.

Called by ``hf-ext eval`` before lm-eval starts, and by the StreamBench task folder's ``utils.py`` when
lm-eval loads one of its tasks. Importing this module does not import lm-eval; calling
:func:`register_lm_eval_models` does.

Example:
    >>> register_lm_eval_models()  # doctest: +SKIP
    ['hfx-stream']
"""

from __future__ import annotations

LM_EVAL_MODELS = {"hfx-stream": "hf_ext.evaluation.streambench.lm_eval_model:StreamLM"}


def register_lm_eval_models() -> list[str]:
    """Register hf-ext's lm-eval models (idempotent); returns their names."""
    import lm_eval.models  # noqa: F401  (lm-eval fills its registry on first lookup only when it is empty)
    from lm_eval.api.registry import model_registry

    for name, target in LM_EVAL_MODELS.items():
        if name not in model_registry:
            model_registry.register(name, target=target)
    return sorted(LM_EVAL_MODELS)
