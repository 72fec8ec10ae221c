"""The official StreamBench data (``appier-ai-research/StreamBench`` on the Hub) as stream documents.

One Hub config per dataset; each row becomes a document of the matching bench
(:mod:`hf_ext.evaluation.streambench.benches`), then the stream is ``Dataset.shuffle(seed=seed)``.

==================  =======  ======================================================================
config              bench    fields read
==================  =======  ======================================================================
``bird``            sql      db_id, question, evidence, SQL (databases: ``db_path/<db_id>/<db_id>.sqlite``)
``spider``/``cosql``  sql    db_id, question, SQL
``ds_1000``         code     prompt, reference_code, code_context
``toolbench``       tool     query, api_name, api_input (the API list is the set of names in the split)
``ddxplus``         label    PATIENT_PROFILE, PATHOLOGY (49 labels, :data:`DDXPLUS_LABELS`)
``hotpotqa_distract``  qa    question, answer, context (first 1,500 rows, as the paper)
==================  =======  ======================================================================

The text-to-SQL databases are a separate download (the official ``download_text2sql_data.py``); pass their
folder as ``db_path``.

Example:
    >>> len(DDXPLUS_LABELS), DDXPLUS_LABELS[0], DDXPLUS_LABELS[-1]
    (49, 'Acute COPD exacerbation / infection', 'Whooping cough')
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hf_ext.errors import HFExtError

HUB_DATASET = "appier-ai-research/StreamBench"
HUB_CONFIGS = ("bird", "spider", "cosql", "ds_1000", "toolbench", "ddxplus", "hotpotqa_distract")
HOTPOTQA_ROWS = 1500

# The 49 DDXPlus pathologies in the order the official answers number them ("<number>. <diagnosis>").
DDXPLUS_LABELS = sorted(
    [
        "Acute COPD exacerbation / infection",
        "Acute dystonic reactions",
        "Acute laryngitis",
        "Acute otitis media",
        "Acute pulmonary edema",
        "Acute rhinosinusitis",
        "Allergic sinusitis",
        "Anaphylaxis",
        "Anemia",
        "Atrial fibrillation",
        "Boerhaave",
        "Bronchiectasis",
        "Bronchiolitis",
        "Bronchitis",
        "Bronchospasm / acute asthma exacerbation",
        "Chagas",
        "Chronic rhinosinusitis",
        "Cluster headache",
        "Croup",
        "Ebola",
        "Epiglottitis",
        "GERD",
        "Guillain-Barré syndrome",
        "HIV (initial infection)",
        "Influenza",
        "Inguinal hernia",
        "Larygospasm",
        "Localized edema",
        "Myasthenia gravis",
        "Myocarditis",
        "PSVT",
        "Pancreatic neoplasm",
        "Panic attack",
        "Pericarditis",
        "Pneumonia",
        "Possible NSTEMI / STEMI",
        "Pulmonary embolism",
        "Pulmonary neoplasm",
        "SLE",
        "Sarcoidosis",
        "Scombroid food poisoning",
        "Spontaneous pneumothorax",
        "Spontaneous rib fracture",
        "Stable angina",
        "Tuberculosis",
        "URTI",
        "Unstable angina",
        "Viral pharyngitis",
        "Whooping cough",
    ]
)


def _sql_rows(rows: list[dict[str, Any]], db_path: str | Path | None, config: str) -> list[dict[str, Any]]:
    from hf_ext.evaluation.streambench.offline import database_schema

    if not db_path:
        raise HFExtError(
            f"hfx_streambench_{config}: metadata field 'db_path' is required (the folder with "
            "<db_id>/<db_id>.sqlite from the official text-to-SQL download)"
        )
    folder, schemas, docs = Path(db_path).expanduser(), {}, []
    for number, row in enumerate(rows):
        db_id = row["db_id"]
        if db_id not in schemas:
            file = folder / db_id / f"{db_id}.sqlite"
            if not file.is_file():
                raise HFExtError(f"db_path: {file} not found (row {number}, db_id {db_id!r})")
            schemas[db_id] = (str(file.resolve()), database_schema(file))
        path, schema = schemas[db_id]
        docs.append(
            {
                "hfx_bench": "sql",
                "db_id": db_id,
                "db_path": path,
                "schema": schema,
                "question": row["question"],
                "evidence": row.get("evidence") or "",
                "sql": row["SQL"],
            }
        )
    return docs


def _hotpot_context(context: Any) -> str:
    """Passages as ``[title] sentences`` lines, from ``{title: [...], sentences: [[...]]}`` or text."""
    if isinstance(context, str):
        return context
    if isinstance(context, dict) and "title" in context:
        return "\n".join(f"[{t}] {''.join(s)}" for t, s in zip(context["title"], context["sentences"]))
    return "\n".join(f"[{item[0]}] {''.join(item[1])}" for item in context)


def hub_docs(
    config: str, rows: list[dict[str, Any]], db_path: str | Path | None = None
) -> list[dict[str, Any]]:
    """Stream documents from rows of one Hub config (in the rows' order)."""
    if config in ("bird", "spider", "cosql"):
        return _sql_rows(rows, db_path, config)
    if config == "ds_1000":
        return [
            {
                "hfx_bench": "code",
                "prompt": r["prompt"],
                "code_context": r["code_context"],
                "reference_code": r.get("reference_code") or "",
            }
            for r in rows
        ]
    if config == "toolbench":
        apis = "\n".join(f"- {name}" for name in sorted({r["api_name"] for r in rows}))
        return [
            {
                "hfx_bench": "tool",
                "query": r["query"],
                "api_name": r["api_name"],
                "api_input": r["api_input"]
                if isinstance(r["api_input"], str)
                else json.dumps(r["api_input"]),
                "api_list": apis,
            }
            for r in rows
        ]
    if config == "ddxplus":
        unknown = sorted({r["PATHOLOGY"] for r in rows} - set(DDXPLUS_LABELS))
        if unknown:
            raise HFExtError(f"ddxplus: PATHOLOGY values outside the 49 labels: {', '.join(unknown)}")
        return [
            {
                "hfx_bench": "label",
                "profile": r["PATIENT_PROFILE"],
                "label": r["PATHOLOGY"],
                "labels": DDXPLUS_LABELS,
            }
            for r in rows
        ]
    if config == "hotpotqa_distract":
        return [
            {
                "hfx_bench": "qa",
                "question": r["question"],
                "answer": r["answer"],
                "context": _hotpot_context(r["context"]),
            }
            for r in rows[:HOTPOTQA_ROWS]
        ]
    raise HFExtError(f"unknown StreamBench config {config!r}; choose one of {', '.join(HUB_CONFIGS)}")


def load_hub_stream(config: str, split: str = "test", seed: int = 42, db_path: str | Path | None = None):
    """The Hub config as a ``datasets.Dataset`` of documents in stream order (``doc_id`` = position)."""
    from datasets import Dataset, load_dataset

    if config not in HUB_CONFIGS:
        raise HFExtError(f"unknown StreamBench config {config!r}; choose one of {', '.join(HUB_CONFIGS)}")
    data = load_dataset(HUB_DATASET, config, split=split)
    if config == "hotpotqa_distract":
        data = data.select(range(min(HOTPOTQA_ROWS, len(data))))
    rows = list(data.shuffle(seed=seed))
    docs = hub_docs(config, rows, db_path)
    return Dataset.from_list([dict(doc, doc_id=i) for i, doc in enumerate(docs)])
