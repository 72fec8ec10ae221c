from hf_ext import task_files


def test_task_listing_reads_yaml_with_function_tags(tmp_path, monkeypatch):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "a.yaml").write_text(
        "task: hfx_demo\ntag: [hfx_all]\nprocess_results: !function u.f\n"
    )
    (tmp_path / "demo" / "_template_yaml").write_text("task: not_listed\n")
    (tmp_path / "demo" / "group.yaml").write_text("group: hfx_group\ntask: [hfx_demo]\n")
    monkeypatch.setattr(task_files, "tasks_path", lambda: tmp_path)
    tasks = task_files.list_tasks()
    assert [(t.name, t.tags) for t in tasks] == [("hfx_demo", ("hfx_all",))]
