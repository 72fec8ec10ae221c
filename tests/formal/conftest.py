from __future__ import annotations

from pathlib import Path

import pytest
from lean_helpers import FIXTURES


@pytest.fixture
def lean_fixtures() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip("../shared/fixtures/lean is not present")
    return FIXTURES
