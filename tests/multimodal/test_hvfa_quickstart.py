"""The HVFA quickstart step renders pages, trains one step and prints the token table."""

import re

import pytest

from hf_ext.quickstart import run_quickstart
from hf_ext.quickstart.hvfa import token_table


def test_token_table_shows_hvfa_at_single_scale_cost():
    for line in token_table():
        single, naive, hvfa = (int(n) for n in re.findall(r"(\d+)(?: visual tokens|,)", line)[-3:])
        assert hvfa == single < naive


@pytest.mark.slow
def test_quickstart_step(tmp_path):
    summary = run_quickstart(output_dir=tmp_path, only=["hvfa"])
    assert (tmp_path / "hvfa" / "page_receipt.png").exists()
    assert any("reconstruction loss" in line for line in summary)
    assert sum("visual tokens" in line for line in summary) == 4
