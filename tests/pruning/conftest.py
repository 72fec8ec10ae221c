"""Shared pieces for the pruning tests: calibration prose and small pruning configs."""

import pytest

from hf_ext.testing import reference_texts


@pytest.fixture(scope="session")
def prose():
    """About 15k tokens of the reference LM's training prose: plenty for 16 windows of 128 tokens."""
    return list(reference_texts("train"))[:400]


@pytest.fixture(scope="session")
def heldout_prose():
    return list(reference_texts("heldout"))
