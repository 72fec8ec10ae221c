"""Optimum-style structured pruners. Each registers itself here by name (see :mod:`hf_ext.registry`)."""
