"""Formal mathematics: Lean 4 checking backends (:mod:`hf_ext.formal.lean`) and the Lean Workbook
autoformalisation pipeline (:mod:`hf_ext.formal.autoformalization`)."""
