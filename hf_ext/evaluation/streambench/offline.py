"""Offline streams built by the package: text-to-SQL on generated sqlite databases, rule-based diagnosis and
two-hop QA. Each has a checker and repeats its structure (question templates, symptom rules, entity chains,
with exact repeats of some inputs) so that memory of past feedback can help.

* ``sql``: two databases (a shop and a school) written once to hf-ext's cache folder, 16 question templates
  with gold SQL and small value pools.
* ``diagnosis``: 12 conditions, each defined by three key symptoms; a case shows at least two of its
  condition's key symptoms plus unrelated ones, so the label follows rules a learner can pick up.
* ``multihop``: "in which country was X born?" over generated people, cities and countries, with the two
  supporting passages among distractors.

Documents are deterministic functions of ``(n, seed)``; ``split="train"`` draws from a different seed
stream (for the few-shot baseline).

Example:
    >>> docs = offline_docs("diagnosis", n=3, seed=0)
    >>> sorted(docs[0])
    ['doc_id', 'hfx_bench', 'label', 'labels', 'profile']
    >>> from hf_ext.evaluation.streambench.benches import bench_of
    >>> all(bench_of(d).score(bench_of(d).gold_answer(d), d)["acc"] == 1.0 for d in docs)
    True
"""

from __future__ import annotations

import random
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from hf_ext.errors import HFExtError
from hf_ext.utils import cache_dir

OFFLINE_STREAMS = ("sql", "diagnosis", "multihop")
SQL_VERSION = 1

# --- text-to-SQL --------------------------------------------------------------------------------------------

CATEGORIES = ["toys", "books", "garden", "kitchen", "sports"]
CITIES = ["Lyon", "Porto", "Graz", "Turku", "Split", "Ghent"]
PRODUCT_WORDS = ["lamp", "kite", "atlas", "kettle", "racket", "shovel", "puzzle", "novel", "ladle", "helmet"]
FIRST = ["Ada", "Bram", "Cleo", "Dario", "Elif", "Femi", "Greta", "Hugo", "Ines", "Jonas", "Kaia", "Luca"]
LAST = ["Moreau", "Silva", "Huber", "Virtanen", "Kovac", "Peeters"]
COURSES = ["Algebra", "Biology", "Chemistry", "Drawing", "Economics", "French"]
TEACHERS = ["Ms Novak", "Mr Ortiz", "Dr Quinn", "Ms Rossi"]

SHOP_DDL = [
    "CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, category TEXT, price INTEGER, stock INTEGER)",
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, city TEXT)",
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), "
    "product_id INTEGER REFERENCES products(id), quantity INTEGER)",
]
SCHOOL_DDL = [
    "CREATE TABLE students (id INTEGER PRIMARY KEY, name TEXT, grade INTEGER, city TEXT)",
    "CREATE TABLE courses (id INTEGER PRIMARY KEY, title TEXT, teacher TEXT)",
    "CREATE TABLE enrollments (student_id INTEGER REFERENCES students(id), "
    "course_id INTEGER REFERENCES courses(id), score INTEGER)",
]


def _shop_rows(rng: random.Random) -> dict[str, list[tuple]]:
    products = [
        (i + 1, f"{CATEGORIES[i % 5]} {word}", CATEGORIES[i % 5], rng.randint(3, 90), rng.randint(0, 40))
        for i, word in enumerate(PRODUCT_WORDS * 2)
    ]
    customers = [(i + 1, f"{FIRST[i]} {LAST[i % 6]}", CITIES[i % 6]) for i in range(len(FIRST))]
    orders = [
        (i + 1, rng.randint(1, len(customers)), rng.randint(1, len(products)), rng.randint(1, 5))
        for i in range(60)
    ]
    return {"products": products, "customers": customers, "orders": orders}


def _school_rows(rng: random.Random) -> dict[str, list[tuple]]:
    students = [(i + 1, f"{FIRST[i]} {LAST[(i + 3) % 6]}", 9 + i % 4, CITIES[(i + 2) % 6]) for i in range(12)]
    courses = [(i + 1, title, TEACHERS[i % 4]) for i, title in enumerate(COURSES)]
    enrollments = sorted(
        {(s, c, rng.randint(40, 100)) for s in range(1, 13) for c in rng.sample(range(1, 7), 3)}
    )
    return {"students": students, "courses": courses, "enrollments": enrollments}


DATABASES = {"shop": (SHOP_DDL, _shop_rows), "school": (SCHOOL_DDL, _school_rows)}

# (database, question template, SQL template, slot -> value pool)
SQL_TEMPLATES: list[tuple[str, str, str, dict[str, list[Any]]]] = [
    (
        "shop",
        "How many products are in the {c} category?",
        "SELECT count(*) FROM products WHERE category = '{c}'",
        {"c": CATEGORIES},
    ),
    (
        "shop",
        "List the names of products that cost less than {p} dollars.",
        "SELECT name FROM products WHERE price < {p}",
        {"p": [10, 20, 30, 50]},
    ),
    (
        "shop",
        "What is the average price of products in the {c} category?",
        "SELECT avg(price) FROM products WHERE category = '{c}'",
        {"c": CATEGORIES},
    ),
    ("shop", "Which customers live in {t}?", "SELECT name FROM customers WHERE city = '{t}'", {"t": CITIES}),
    (
        "shop",
        "How many orders did {n} place?",
        "SELECT count(*) FROM orders JOIN customers ON orders.customer_id = customers.id"
        " WHERE customers.name = '{n}'",
        {"n": [f"{FIRST[i]} {LAST[i % 6]}" for i in range(6)]},
    ),
    (
        "shop",
        "What is the total quantity ordered of the product {q}?",
        "SELECT sum(quantity) FROM orders JOIN products ON orders.product_id = products.id"
        " WHERE products.name = '{q}'",
        {"q": [f"{CATEGORIES[i % 5]} {w}" for i, w in enumerate(PRODUCT_WORDS[:6])]},
    ),
    (
        "shop",
        "List the names of products with fewer than {s} items in stock.",
        "SELECT name FROM products WHERE stock < {s}",
        {"s": [5, 10, 20]},
    ),
    (
        "shop",
        "Which product is the most expensive in the {c} category?",
        "SELECT name FROM products WHERE category = '{c}' ORDER BY price DESC LIMIT 1",
        {"c": CATEGORIES},
    ),
    (
        "school",
        "How many students are in grade {g}?",
        "SELECT count(*) FROM students WHERE grade = {g}",
        {"g": [9, 10, 11, 12]},
    ),
    (
        "school",
        "List the names of students from {t}.",
        "SELECT name FROM students WHERE city = '{t}'",
        {"t": CITIES},
    ),
    (
        "school",
        "What is the average score in the {k} course?",
        "SELECT avg(score) FROM enrollments JOIN courses ON enrollments.course_id = courses.id"
        " WHERE courses.title = '{k}'",
        {"k": COURSES},
    ),
    (
        "school",
        "Who teaches the {k} course?",
        "SELECT teacher FROM courses WHERE title = '{k}'",
        {"k": COURSES},
    ),
    (
        "school",
        "How many courses is {n} enrolled in?",
        "SELECT count(*) FROM enrollments JOIN students ON enrollments.student_id = students.id "
        "WHERE students.name = '{n}'",
        {"n": [f"{FIRST[i]} {LAST[(i + 3) % 6]}" for i in range(6)]},
    ),
    (
        "school",
        "List the titles of the courses taught by {r}.",
        "SELECT title FROM courses WHERE teacher = '{r}'",
        {"r": TEACHERS},
    ),
    (
        "school",
        "What is the highest score of {n}?",
        "SELECT max(score) FROM enrollments JOIN students ON enrollments.student_id = students.id "
        "WHERE students.name = '{n}'",
        {"n": [f"{FIRST[i]} {LAST[(i + 3) % 6]}" for i in range(6)]},
    ),
    (
        "school",
        "List the names of students who scored above {v} in {k}.",
        "SELECT students.name FROM enrollments JOIN students ON enrollments.student_id = students.id "
        "JOIN courses ON enrollments.course_id = courses.id WHERE courses.title = '{k}' AND score > {v}",
        {"v": [60, 80], "k": COURSES[:3]},
    ),
]


def sql_database_dir(root: str | Path | None = None) -> Path:
    """Build (once) and return the folder with ``shop/shop.sqlite`` and ``school/school.sqlite``."""
    folder = Path(root) if root else cache_dir() / "streambench" / f"sql_offline_v{SQL_VERSION}"
    for name, (ddl, rows_fn) in DATABASES.items():
        target = folder / name / f"{name}.sqlite"
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{name}-{uuid.uuid4().hex[:8]}.sqlite")
        with sqlite3.connect(staging) as db:
            for statement in ddl:
                db.execute(statement)
            for table, rows in rows_fn(random.Random(f"{name}-{SQL_VERSION}")).items():
                db.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
        db.close()
        staging.replace(target)
    return folder


def database_schema(db_path: str | Path) -> str:
    """The CREATE statements of a database, as the official prompts show them."""
    uri = f"{Path(db_path).resolve().as_uri()}?mode=ro"
    with sqlite3.connect(uri, uri=True) as db:
        rows = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL").fetchall()
    db.close()
    return "\n".join(f"{sql};" for (sql,) in rows)


def _sql_docs(n: int, rng: random.Random, root: str | Path | None) -> list[dict[str, Any]]:
    folder = sql_database_dir(root)
    schemas = {name: database_schema(folder / name / f"{name}.sqlite") for name in DATABASES}
    docs = []
    for _ in range(n):
        db_id, question, sql, pools = rng.choice(SQL_TEMPLATES)
        values = {slot: rng.choice(pool) for slot, pool in pools.items()}
        docs.append(
            {
                "hfx_bench": "sql",
                "db_id": db_id,
                "db_path": str(folder / db_id / f"{db_id}.sqlite"),
                "schema": schemas[db_id],
                "question": question.format(**values),
                "evidence": "",
                "sql": sql.format(**values),
            }
        )
    return docs


# --- diagnosis ----------------------------------------------------------------------------------------------

CONDITIONS = {
    "Influenza": ["high fever", "muscle aches", "dry cough"],
    "Common cold": ["runny nose", "sneezing", "sore throat"],
    "Migraine": ["throbbing headache", "sensitivity to light", "nausea"],
    "Asthma attack": ["wheezing", "shortness of breath", "chest tightness"],
    "Gastroenteritis": ["diarrhea", "vomiting", "abdominal cramps"],
    "Urinary tract infection": ["burning urination", "frequent urination", "lower abdominal pain"],
    "Pneumonia": ["productive cough", "fever with chills", "chest pain when breathing"],
    "Allergic rhinitis": ["itchy eyes", "sneezing fits", "clear nasal discharge"],
    "Anemia": ["pale skin", "fatigue", "cold hands"],
    "Hypothyroidism": ["weight gain", "feeling cold", "dry skin"],
    "Appendicitis": ["right lower abdominal pain", "loss of appetite", "low fever"],
    "Conjunctivitis": ["red eye", "eye discharge", "gritty feeling in the eye"],
}
NOISE = [
    "mild back pain",
    "trouble sleeping",
    "occasional dizziness",
    "stress at work",
    "knee pain",
    "thirst",
]


def _diagnosis_docs(n: int, rng: random.Random) -> list[dict[str, Any]]:
    labels = sorted(CONDITIONS)
    docs = []
    for _ in range(n):
        label = rng.choice(labels)
        symptoms = rng.sample(CONDITIONS[label], rng.choice([2, 3])) + rng.sample(NOISE, rng.choice([0, 1]))
        rng.shuffle(symptoms)
        profile = (
            f"Age: {rng.choice(range(20, 80, 10))}. Sex: {rng.choice('FM')}. Symptoms: {', '.join(symptoms)}."
        )
        docs.append({"hfx_bench": "label", "profile": profile, "label": label, "labels": labels})
    return docs


# --- two-hop QA ---------------------------------------------------------------------------------------------

COUNTRIES = {
    "Lyon": "France",
    "Porto": "Portugal",
    "Graz": "Austria",
    "Turku": "Finland",
    "Split": "Croatia",
    "Ghent": "Belgium",
    "Bergen": "Norway",
    "Malmo": "Sweden",
    "Cork": "Ireland",
    "Brno": "Czechia",
}
PHRASINGS = [
    "In which country was {p} born?",
    "{p} was born in a city of which country?",
]


def _multihop_docs(n: int, rng: random.Random) -> list[dict[str, Any]]:
    world = random.Random("multihop-world")
    cities = sorted(COUNTRIES)
    people = [f"{first} {last}" for first in FIRST for last in LAST[:3]]
    born = {person: world.choice(cities) for person in people}
    docs = []
    for _ in range(n):
        person = rng.choice(people)
        city = born[person]
        others = rng.sample([p for p in people if born[p] != city], 2)
        passages = [f"{person} was born in {city}.", f"{city} is a city in {COUNTRIES[city]}."]
        passages += [f"{p} was born in {born[p]}." for p in others[:1]]
        passages += [f"{born[others[1]]} is a city in {COUNTRIES[born[others[1]]]}."]
        rng.shuffle(passages)
        docs.append(
            {
                "hfx_bench": "qa",
                "question": rng.choice(PHRASINGS).format(p=person),
                "context": "\n".join(f"[{i + 1}] {text}" for i, text in enumerate(passages)),
                "answer": COUNTRIES[city],
            }
        )
    return docs


def offline_docs(
    name: str, n: int = 200, seed: int = 0, split: str = "test", db_root: str | Path | None = None
) -> list[dict[str, Any]]:
    """``n`` documents of the offline stream ``name`` (``sql``, ``diagnosis`` or ``multihop``), each with a
    ``doc_id``; generated from ``seed`` (the train split uses a separate seed stream)."""
    if name not in OFFLINE_STREAMS:
        raise HFExtError(f"unknown offline stream {name!r}; choose one of {', '.join(OFFLINE_STREAMS)}")
    if n < 1:
        raise HFExtError(f"num_samples must be at least 1, got {n}")
    if split not in ("test", "train"):
        raise HFExtError(f"split must be 'test' or 'train', got {split!r}")
    rng = random.Random(f"{name}-{split}-{seed}")
    if name == "sql":
        docs = _sql_docs(n, rng, db_root)
    elif name == "diagnosis":
        docs = _diagnosis_docs(n, rng)
    else:
        docs = _multihop_docs(n, rng)
    for i, doc in enumerate(docs):
        doc["doc_id"] = i
    return docs
