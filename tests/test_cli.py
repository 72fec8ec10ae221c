"""The ``hf-ext`` entry point as a separate process."""


def test_console_entry_point_runs_as_a_module(run_hf_ext):
    result = run_hf_ext("list")
    assert result.returncode == 0 and "dpo" in result.stdout
    bad = run_hf_ext("list", "--bogus")
    assert bad.returncode == 2 and "unrecognized arguments: --bogus" in bad.stderr
