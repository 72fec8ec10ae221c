"""Synthetic document pages rendered offline: the image, its words in reading order, their boxes, key fields.

Five page kinds cover the sizes HVFA targets, from a receipt to a poster: ``receipt`` (narrow, dense single
column of items and prices), ``letter`` (one column of prose), ``report`` (two dense columns), ``form`` (a few
large key-value lines, sparse) and ``poster`` (wide, large title, three columns). Every page has a title and
key-value fields (dates, numbers, names) that the question generator asks about; body text comes from
:mod:`hf_ext.data.prose` (CPython's documentation, on every machine).

Fonts: Pillow's bundled scalable font (``ImageFont.load_default(size=...)``, needs Pillow built with FreeType)
in sizes drawn per page and per block, bold titles drawn with a stroke; pass ``font_paths`` (e.g. Debian's
DejaVu TTFs) to vary the typeface too. Everything is a pure function of the seed (and the fonts given).

Example:
    >>> page = render_page(seed=3, kind="receipt", scale=0.5)
    >>> page.image.size == (page.width, page.height) and len(page.words) == len(page.boxes) > 10
    True
    >>> page.text == " ".join(page.words)
    True
    >>> render_page(seed=3, kind="receipt", scale=0.5).text == page.text  # deterministic by seed
    True
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from hf_ext.data.prose import prose_paragraphs
from hf_ext.errors import HFExtError

# kind -> (width, height) range in pixels at scale 1, body font size range, columns
PAGE_KINDS: dict[str, dict] = {
    "receipt": {"width": (360, 480), "height": (800, 1200), "font": (14, 18), "columns": 1},
    "letter": {"width": (800, 900), "height": (1050, 1200), "font": (16, 22), "columns": 1},
    "report": {"width": (1000, 1200), "height": (1300, 1600), "font": (12, 15), "columns": 2},
    "form": {"width": (700, 900), "height": (500, 700), "font": (22, 30), "columns": 1},
    "poster": {"width": (1500, 1800), "height": (1000, 1300), "font": (18, 24), "columns": 3},
}
FIRST_NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Radia", "Ken"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Perlman"]
ITEMS = ["coffee", "bagel", "paper", "stapler", "notebook", "pencils", "toner", "folder", "tea", "envelopes"]
TITLES = {
    "receipt": ["CORNER STORE", "CITY MARKET", "OFFICE SUPPLY CO"],
    "letter": ["Letter of Reference", "Notice of Change", "Meeting Summary"],
    "report": ["Annual Report", "Technical Review", "Project Status Report"],
    "form": ["Registration Form", "Expense Claim", "Delivery Note"],
    "poster": ["Open Science Day", "Library Week", "Spring Lecture Series"],
}


@dataclass
class RenderedPage:
    """A rendered page: ``words`` in reading order with their ``boxes`` (x0, y0, x1, y1), and its fields."""

    image: Image.Image
    words: list[str]
    boxes: list[tuple[int, int, int, int]]
    title: str
    fields: dict[str, str]
    kind: str
    seed: int
    width: int = 0
    height: int = 0
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The page's text in reading order, words joined by single spaces."""
        return " ".join(self.words)


@functools.cache
def _font(size: int, path: str | None) -> ImageFont.FreeTypeFont:
    if path is None:
        font = ImageFont.load_default(size=size)
        if not isinstance(font, ImageFont.FreeTypeFont):
            raise HFExtError("Pillow was built without FreeType: pass font_paths (e.g. DejaVuSans.ttf)")
        return font
    return ImageFont.truetype(path, size=size)


def _fields(kind: str, rng: random.Random) -> dict[str, str]:
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    date = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1990, 2025)}"
    number = str(rng.randint(1000, 99999))
    if kind == "receipt":
        return {"Date": date, "Receipt No": number, "Cashier": name}
    if kind == "form":
        return {
            "Name": name,
            "Date": date,
            "Reference": number,
            "Amount": f"{rng.randint(10, 999)}.{rng.randint(0, 99):02d}",
        }
    if kind == "poster":
        return {"Date": date, "Room": f"{rng.choice('ABCDE')}{rng.randint(100, 499)}", "Speaker": name}
    return {"Date": date, "Reference": number, "Author": name}


def _body_lines(kind: str, rng: random.Random, fields: dict[str, str]) -> list[list[str]]:
    """Paragraphs of the body, each a list of words (receipt items become their own short paragraphs)."""
    if kind == "receipt":
        total, paragraphs = 0, []
        for _ in range(rng.randint(6, 14)):
            cents = rng.randint(50, 2500)
            total += cents
            paragraphs.append([rng.choice(ITEMS), f"{cents // 100}.{cents % 100:02d}"])
        fields["Total"] = f"{total // 100}.{total % 100:02d}"
        return [*paragraphs, ["Total", fields["Total"]]]
    prose = prose_paragraphs()
    count = {"letter": 6, "report": 40, "form": 1, "poster": 12}[kind]  # more than fits: the page cuts
    return [prose[rng.randrange(len(prose))].split() for _ in range(count)]


def render_page(
    seed: int,
    kind: str | None = None,
    *,
    scale: float = 1.0,
    font_paths: tuple[str, ...] = (),
) -> RenderedPage:
    """Render one page; ``kind`` is drawn from :data:`PAGE_KINDS` when ``None``; ``scale`` shrinks it all."""
    rng = random.Random(f"page:{seed}")
    kind = kind or rng.choice(sorted(PAGE_KINDS))
    if kind not in PAGE_KINDS:
        raise HFExtError(f"kind must be one of {sorted(PAGE_KINDS)}, got {kind!r}")
    if not 0.1 <= scale <= 4:
        raise HFExtError(f"scale must be in [0.1, 4], got {scale}")
    for path in font_paths:
        if not Path(path).is_file():
            raise HFExtError(f"font_paths: no font file {path}")
    spec = PAGE_KINDS[kind]
    width = int(rng.randint(*spec["width"]) * scale)
    height = int(rng.randint(*spec["height"]) * scale)
    body_size = max(6, int(rng.randint(*spec["font"]) * scale))
    font_path = rng.choice(font_paths) if font_paths else None
    body_font, title_font = _font(body_size, font_path), _font(int(body_size * 1.6), font_path)
    title = rng.choice(TITLES[kind])
    fields = _fields(kind, rng)
    paragraphs = _body_lines(kind, rng, fields)

    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    margin = max(4, width // 20)
    words: list[str] = []
    boxes: list[tuple[int, int, int, int]] = []
    lines: list[str] = []

    def put(line: list[str], x: int, y: int, font, bold: bool = False) -> None:
        for word in line:
            box = draw.textbbox((x, y), word, font=font, stroke_width=1 if bold else 0)
            draw.text(
                (x, y), word, font=font, fill="black", stroke_width=1 if bold else 0, stroke_fill="black"
            )
            words.append(word)
            boxes.append(tuple(int(v) for v in box))
            x += int(font.getlength(word + " ")) + (1 if bold else 0)
        lines.append(" ".join(line))

    line_height = int(body_size * 1.35)
    y = margin
    put(title.split(), margin, y, title_font, bold=True)
    y += int(body_size * 1.6 * 1.5)
    for key, value in fields.items():
        if key == "Total":
            continue
        put(f"{key}: {value}".split(), margin, y, body_font)
        y += line_height
    y += line_height // 2

    columns, gap = spec["columns"], margin
    column_width = (width - 2 * margin - (columns - 1) * gap) // columns
    top, column, x0 = y, 0, margin
    space = body_font.getlength(" ")
    for paragraph in paragraphs:
        line, line_width = [], 0.0
        pending = list(paragraph) + [None]  # None flushes the paragraph's last line
        while pending:
            word = pending.pop(0)
            word_width = body_font.getlength(word) if word is not None else 0
            if word is not None and (not line or line_width + space + word_width <= column_width):
                line_width += (space if line else 0) + word_width
                line.append(word)
                continue
            if y + line_height > height - margin:  # column full: next column, or the page is full
                column += 1
                if column >= columns:
                    return RenderedPage(image, words, boxes, title, fields, kind, seed, width, height, lines)
                x0, y = margin + column * (column_width + gap), top
            if line:
                put(line, x0, y, body_font)
                y += line_height
            line, line_width = ([word], word_width) if word is not None else ([], 0.0)
        y += line_height // 3
    return RenderedPage(image, words, boxes, title, fields, kind, seed, width, height, lines)
