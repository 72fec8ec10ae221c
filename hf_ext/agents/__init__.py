"""Agents that use tools: tool environments (:mod:`hf_ext.agents.tools`), the DFSDT search runner
(:mod:`hf_ext.agents.dfsdt`) and pass-rate evaluation (:mod:`hf_ext.agents.evaluate`)."""
