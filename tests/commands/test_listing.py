"""``hf-ext --help``, ``hf-ext list`` and ``hf-ext tasks-path``."""

import pytest

from hf_ext.cli import main
from hf_ext.task_files import tasks_path


def test_help_and_list(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "train" in capsys.readouterr().out
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "dpo" in listed and "reward" in listed and "grpo" in listed and "lm-eval tasks" in listed
    assert main(["tasks-path"]) == 0
    assert capsys.readouterr().out.strip() == str(tasks_path())
