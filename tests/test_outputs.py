"""The output-folder policy: overlap with inputs (symlinks too), non-empty folders, the staged swap."""

from __future__ import annotations

import os
import stat

import pytest

from hf_ext.errors import HFExtError
from hf_ext.outputs import check_output_dir, staged_output_dir


def test_output_overlapping_an_input_is_refused_in_every_direction(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (tmp_path / "link").symlink_to(model)
    for output in (model, model / "sub", tmp_path, tmp_path / "link", tmp_path / "link" / "x"):
        with pytest.raises(HFExtError, match="overlaps the input"):
            check_output_dir(output, inputs=[model], flag="--out")
    elsewhere = tmp_path / "elsewhere"
    assert check_output_dir(elsewhere, inputs=[model, None, "org/hub-id"]) == elsewhere


def test_non_empty_output_needs_overwrite_and_a_file_is_refused(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(HFExtError, match="--out .*full exists and is not empty; pass --overwrite"):
        check_output_dir(tmp_path / "full", flag="--out")
    assert check_output_dir(tmp_path / "full", overwrite=True) == tmp_path / "full"
    (tmp_path / "file").write_text("x")
    with pytest.raises(HFExtError, match="is a file, not a folder"):
        check_output_dir(tmp_path / "file")
    (tmp_path / "empty").mkdir()
    check_output_dir(tmp_path / "empty")  # an empty folder is fine


class Interrupted(Exception):
    pass


def test_an_interrupted_write_leaves_the_old_folder_whole_and_no_temporary(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old result")
    with pytest.raises(Interrupted):
        with staged_output_dir(out) as staging:
            assert staging.parent == out.parent and staging != out
            (staging / "new.txt").write_text("half of a new result")
            raise Interrupted  # e.g. Ctrl-C or a crash in the middle of the write
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert [p.name for p in out.iterdir()] == ["old.txt"] and (out / "old.txt").read_text() == "old result"

    with staged_output_dir(out) as staging:
        (staging / "new.txt").write_text("new result")
        assert (out / "old.txt").exists()  # the old folder stays until the new one is complete
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_folders_get_the_users_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        with staged_output_dir(tmp_path / "a" / "out") as staging:
            (staging / "sub").mkdir()
    finally:
        os.umask(previous)
    for folder in (tmp_path / "a", tmp_path / "a" / "out", tmp_path / "a" / "out" / "sub"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755
