"""The StreamBench step of ``hf-ext quickstart``: learning from a feedback stream, in hf-ext and in lm-eval.

A scripted model that can copy the answer of a matching in-context example (and otherwise answers right 30 %
of the time) runs over the offline two-hop QA stream with zero-shot, MemPrompt and Self-StreamICL; then the
``hfx-stream`` lm-eval model runs a tiny random Llama on the offline diagnosis stream through
``lm_eval.simple_evaluate`` (its accuracy is near zero: no pretrained weights exist here).

Example:
    >>> from pathlib import Path
    >>> from hf_ext.quickstart.streambench import step
    >>> lines = step(Path("quickstart-out"))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from hf_ext.evaluation.streambench import AgentConfig, bench_of, make_agent, offline_docs, run_stream
from hf_ext.evaluation.streambench.plots import plot_curves
from hf_ext.testing.streambench import ScriptedCopier


def step(workdir: Path) -> list[str]:
    """Three agents over 150 steps with the scripted copier, plus one lm-eval run of hfx-stream."""
    out = workdir / "streambench"
    out.mkdir(parents=True, exist_ok=True)
    docs = offline_docs("multihop", n=150, seed=0)
    gold = {bench_of(d).question(d): bench_of(d).gold_answer(d) for d in docs}
    runs, lines = {}, []
    for name in ("zeroshot", "mem_prompt", "self_stream_icl"):
        agent = make_agent(name, [ScriptedCopier(gold)], AgentConfig(backend="numpy"))
        result = run_stream(docs, agent, log_dir=out / name, progress=False)
        runs[name] = result.correct
        first, last = sum(result.correct[:50]) / 50, sum(result.correct[-50:]) / 50
        lines.append(
            f"streambench: {name} with a scripted copying model: accuracy {result.accuracy:.3f} over 150 "
            f"steps (first 50: {first:.2f}, last 50: {last:.2f})"
        )
    plot_curves(runs, title="scripted copying model, offline two-hop QA").savefig(out / "curves.png", dpi=110)
    lines.append(f"streambench: step logs and curves.png in {out}")
    lines.append(_lm_eval_run(workdir, out))
    return lines


def _lm_eval_run(workdir: Path, out: Path) -> str:
    import lm_eval
    from lm_eval.tasks import TaskManager

    from hf_ext.evaluation.streambench.lm_eval_registration import register_lm_eval_models
    from hf_ext.task_files import tasks_path
    from hf_ext.testing import save_tiny_causal_lm

    register_lm_eval_models()
    model_dir = workdir / "streambench_tiny_llama"
    if not (model_dir / "config.json").exists():
        save_tiny_causal_lm(model_dir)
    manager = TaskManager(include_path=str(tasks_path()), include_defaults=False, metadata={"num_samples": 4})
    results = lm_eval.simple_evaluate(
        model="hfx-stream",
        model_args=f"base=hf,pretrained={model_dir},dtype=float32,agent=self_stream_icl,"
        f"log_dir={out / 'lm_eval'}",
        tasks=["hfx_streambench_diagnosis_offline"],
        task_manager=manager,
        gen_kwargs="max_gen_toks=8",
        bootstrap_iters=0,
        device="cpu",
    )["results"]["hfx_streambench_diagnosis_offline"]
    return (
        f"streambench: lm-eval --model hfx-stream (tiny random Llama, self_stream_icl) on 4 steps of "
        f"hfx_streambench_diagnosis_offline: acc {results['acc,none']:.2f}; logs in {out / 'lm_eval'}"
    )
