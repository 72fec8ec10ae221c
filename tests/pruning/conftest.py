"""Shared pieces for the pruning tests: calibration prose and small pruning configs."""

import pytest

from hf_ext.testing import reference_texts


@pytest.fixture(scope="session")
def prose():
    return list(reference_texts("train"))


@pytest.fixture(scope="session")
def heldout_prose():
    return list(reference_texts("heldout"))
