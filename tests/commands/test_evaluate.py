"""``hf-ext eval``: lm-eval's own command line with hf-ext's task folder added."""

import pytest

from hf_ext.commands.evaluate import lm_eval_argv
from hf_ext.task_files import tasks_path


def test_eval_adds_the_include_path_and_refuses_a_second_one():
    assert lm_eval_argv(["--model", "hf", "--tasks", "x"])[-2:] == ["--include_path", str(tasks_path())]
    with pytest.raises(ValueError, match="include_path"):
        lm_eval_argv(["--include_path", "/elsewhere"])
