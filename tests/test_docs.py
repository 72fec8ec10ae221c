"""The documentation stays true: every relative link resolves (files and ``#anchors``), and every Python
block marked ``<!-- runnable -->`` on the line before its opening fence still runs, offline."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(
    [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *(ROOT / "docs").glob("*.md")]
    + list((ROOT / "hf_ext").rglob("README.md"))
)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")
RUNNABLE = "<!-- runnable -->"


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    kept, inside = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            inside = not inside
        elif not inside:
            kept.append((number, line))
    return kept


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        if match := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line):
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(page: Path) -> list[str]:
    problems = []
    for number, line in prose_lines(page.read_text(encoding="utf-8")):
        for target in LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
                continue
            file_part, _, anchor = target.partition("#")
            resolved = (page.parent / file_part).resolve() if file_part else page
            where = f"{page.relative_to(ROOT)}:{number}: {target}"
            if not resolved.exists():
                problems.append(f"{where} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                problems.append(f"{where} (no heading with anchor #{anchor})")
    return problems


def runnable_blocks() -> list[tuple[str, str]]:
    blocks = []
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines[:-1]):
            if line.strip() == RUNNABLE:
                opening = lines[index + 1].strip()
                assert opening == "```python", f"{page}:{index + 1}: {RUNNABLE} must precede ```python"
                end = next(i for i in range(index + 2, len(lines)) if lines[i].strip() == "```")
                blocks.append((f"{page.relative_to(ROOT)}:{index + 2}", "\n".join(lines[index + 2 : end])))
    return blocks


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_relative_links_resolve(page):
    problems = broken_links(page)
    assert not problems, "\n".join(problems)


def test_the_link_checker_catches_what_it_looks_for(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n\n## Lm-eval: `hfx_x` (v2)\n\n## Usage\n\n## Usage\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#lm-eval-hfx_x-v2) [ok](other.md#usage-1) [ok](https://x.org/a#b)\n"
        "[gone](missing.md) [bad anchor](other.md#nope)\n```\n[in code](ignored.md)\n```\n"
    )
    original_root = globals()["ROOT"]
    globals()["ROOT"] = tmp_path
    try:
        problems = broken_links(page)
    finally:
        globals()["ROOT"] = original_root
    assert problems == [
        "page.md:2: missing.md (no such file)",
        "page.md:2: other.md#nope (no heading with anchor #nope)",
    ]


def test_some_blocks_are_marked_runnable():
    assert len(runnable_blocks()) >= 3


@pytest.mark.parametrize(("where", "code"), runnable_blocks(), ids=[where for where, _ in runnable_blocks()])
def test_runnable_block_runs(where, code, tmp_path, subprocess_env):
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{where}:\n{result.stderr[-3000:]}"
