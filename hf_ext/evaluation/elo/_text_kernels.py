"""Compiled (numba) string interning behind battle-log input: model names and winners turned into integer
codes straight from bytes (Arrow string buffers, or the text of a JSONL file), with no Python string per row.

- :class:`Interner`: a hash table of distinct byte strings (open addressing, fixed capacity; a log with more
  distinct values than it holds is handed back to the general reader).
- :func:`intern_arrow`: codes for the rows of an Arrow ``string``/``large_string`` array from its offsets
  and data buffers.
- :func:`scan_jsonl`: codes of the top-level ``model_a``, ``model_b`` and ``winner`` string values of each
  line of a block of JSONL text, with a strict JSON check of the whole line (nesting, strings and their
  escapes, numbers, literals, UTF-8). Anything it does not take as clean JSONL (invalid JSON, a missing key, a
  value that is not a string, a ``weight`` key, a duplicated key) stops it; the caller then reads the file
  with the general reader, which names the line.

Example:
    >>> import numpy as np
    >>> from hf_ext.evaluation.elo._text_kernels import Interner, intern_arrow
    >>> table = Interner()
    >>> data = np.frombuffer(b"xyzx", dtype=np.uint8)  # the rows "x", "yz", "x"
    >>> codes = np.empty(3, dtype=np.int32)
    >>> intern_arrow(np.array([0, 1, 3, 4]), data, codes, *table.state())
    0
    >>> codes.tolist(), table.values()
    ([0, 1, 0], [(b'x', False), (b'yz', False)])
"""

from __future__ import annotations

import numpy as np
from numba import njit

_SLOTS = 1 << 12  # hash slots (a power of two, small enough to stay in cache), at most half of them filled
_MAX_VALUES = _SLOTS // 2
_POOL_BYTES = 1 << 17  # bytes of the distinct values together

OK, FULL, STOP = 0, 1, 2  # kernel results: done; the interner is full; the text is not clean JSONL


class Interner:
    """The distinct byte strings seen so far and their codes (in order of first appearance)."""

    def __init__(self) -> None:
        self.slots = np.full(_SLOTS, -1, dtype=np.int32)
        self.hashes = np.zeros(_MAX_VALUES, dtype=np.uint64)
        self.starts = np.zeros(_MAX_VALUES + 1, dtype=np.int64)  # value v is pool[starts[v]:starts[v + 1]]
        self.escaped = np.zeros(_MAX_VALUES, dtype=np.bool_)
        self.pool = np.zeros(_POOL_BYTES, dtype=np.uint8)
        self.count = np.zeros(1, dtype=np.int64)

    def state(self) -> tuple:
        return self.slots, self.hashes, self.starts, self.escaped, self.pool, self.count

    def values(self) -> list[tuple[bytes, bool]]:
        """Each distinct value's bytes and whether it holds a JSON escape (a backslash), in code order."""
        n = int(self.count[0])
        return [
            (self.pool[self.starts[v] : self.starts[v + 1]].tobytes(), bool(self.escaped[v]))
            for v in range(n)
        ]


@njit(cache=True, inline="always")
def _word(data, i):
    """The eight bytes ``data[i:i + 8]`` as one little-endian integer. Indexed with unsigned integers: numba
    then drops its negative-index check, and the eight loads become one (ten times faster here)."""
    j = np.uint64(i)
    w = np.uint64(data[j])
    for s in range(1, 8):
        w |= np.uint64(data[j + np.uint64(s)]) << np.uint64(8 * s)
    return w


@njit(cache=True, inline="always")
def _ends(data, start, stop):
    """The first and the last eight bytes of ``data[start:stop]`` (overlapping when shorter than 16; a short
    value zero-padded in the first, 0 in the second): with the length, they ARE a value of up to 16 bytes."""
    if stop - start >= 8:
        return _word(data, start), _word(data, stop - 8)
    w = np.uint64(0)
    for s in range(stop - start):
        w |= np.uint64(data[start + s]) << np.uint64(8 * s)
    return w, np.uint64(0)


@njit(cache=True, inline="always")
def _hash(data, start, stop, first, last):
    """A 64-bit hash of ``data[start:stop]`` whose :func:`_ends` are ``first`` and ``last``."""
    k = np.uint64(0xFF51AFD7ED558CCD)
    h = np.uint64(0x9E3779B97F4A7C15) ^ np.uint64(stop - start)
    i = start + 8
    while i + 8 < stop:  # the middle of a value over 16 bytes, eight bytes per multiply
        h = (h ^ _word(data, i)) * k
        h ^= h >> np.uint64(29)
        i += 8
    h = (h ^ first) * k
    h ^= h >> np.uint64(29)
    h = (h ^ last) * k
    h ^= h >> np.uint64(32)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(29))


@njit(cache=True, inline="always")
def _intern(h, data, start, stop, escaped, slots, hashes, starts, escapes, pool, count):
    """The code of ``data[start:stop]`` (hash ``h``), added when new; -1 when the interner is full."""
    mask = slots.shape[0] - 1
    slot = np.int64(h & np.uint64(mask))
    length = stop - start
    while True:
        v = slots[slot]
        if v < 0:
            break
        if hashes[v] == h and starts[v + 1] - starts[v] == length:
            at = starts[v]
            i = 0
            while i < length and pool[at + i] == data[start + i]:
                i += 1
            if i == length:
                return v
        slot = (slot + 1) & mask
    n = count[0]
    if n >= hashes.shape[0] or starts[n] + length > pool.shape[0]:
        return -1
    at = starts[n]
    for i in range(length):
        pool[at + i] = data[start + i]
    starts[n + 1] = at + length
    hashes[n] = h
    escapes[n] = escaped
    slots[slot] = n
    count[0] = n + 1
    return n


@njit(cache=True)
def _insert(h, data, start, stop, escaped, slots, hashes, starts, escapes, pool, count):
    """:func:`_intern` as a call of its own (rare: once per distinct value), out of the lookup loop."""
    return _intern(h, data, start, stop, escaped, slots, hashes, starts, escapes, pool, count)


@njit(cache=True, inline="always")
def _same(a, i, b, j, length):
    """Whether ``a[i:i + length]`` equals ``b[j:j + length]``."""
    i, j = np.uint64(i), np.uint64(j)
    for s in range(length):
        if a[i + np.uint64(s)] != b[j + np.uint64(s)]:
            return False
    return True


_CHUNK = 1 << 14  # rows keyed at a time (their keys stay in cache)


@njit(cache=True)
def _intern_spans(data, lo, hi, escaped, codes, slots, hashes, starts, escapes, pool, count) -> int:
    """``codes[r]``: the code of ``data[lo[r]:hi[r]]``; ``OK`` or ``FULL``.

    Rows are keyed a chunk at a time in a loop of their own (first and last eight bytes, hash), then looked
    up: a value of up to 16 bytes is equal to a stored one when length and both words are, so the common
    short names are matched on three integers; longer ones are compared byte by byte. (Hashing inside the
    probing loop, or a byte-by-byte comparison of every row, made this several times slower.)"""
    n = codes.shape[0]
    m = hashes.shape[0]
    first, last = np.empty(m, dtype=np.uint64), np.empty(m, dtype=np.uint64)  # per stored value
    for v in range(count[0]):
        first[v], last[v] = _ends(pool, starts[v], starts[v + 1])
    size = max(1, min(n, _CHUNK))
    row_first, row_last = np.empty(size, dtype=np.uint64), np.empty(size, dtype=np.uint64)
    row_hash = np.empty(size, dtype=np.uint64)
    mask = slots.shape[0] - 1
    for c in range(0, n, size):
        stop = min(n, c + size)
        for r in range(c, stop):
            a, b = _ends(data, lo[r], hi[r])
            k = np.uint64(r - c)
            row_first[k], row_last[k] = a, b
            row_hash[k] = _hash(data, lo[r], hi[r], a, b)
        for r in range(c, stop):  # unsigned indices below: no negative-index checks
            k = np.uint64(r - c)
            h, a, b, length = row_hash[k], row_first[k], row_last[k], hi[r] - lo[r]
            slot = h & np.uint64(mask)
            while True:
                v = slots[slot]
                if v < 0:
                    break
                u = np.uint64(v)
                if hashes[u] == h and first[u] == a and last[u] == b and starts[u + 1] - starts[u] == length:
                    if length <= 16 or _same(pool, starts[u], data, lo[r], length):
                        break
                slot = (slot + np.uint64(1)) & np.uint64(mask)
            if v < 0:  # a new value
                v = _insert(h, data, lo[r], hi[r], escaped[r], slots, hashes, starts, escapes, pool, count)
                if v < 0:
                    return FULL
                first[v], last[v] = a, b
            codes[r] = v
    return OK


def intern_arrow(offsets: np.ndarray, data: np.ndarray, codes: np.ndarray, *table: np.ndarray) -> int:
    """``codes[r]``: the code of row ``r`` of an Arrow string array (``offsets`` already sliced to the
    array's rows, one more than ``codes``); returns ``OK`` or ``FULL``."""
    escaped = np.zeros(len(codes), dtype=np.bool_)
    return _intern_spans(data, offsets[:-1], offsets[1:], escaped, codes, *table)


@njit(cache=True)
def battle_arrays(codes_a, codes_b, codes_w, model_a, model_b, scores, a, b, score_a) -> bool:
    """``a``/``b``/``score_a`` from per-row codes through the lookup tables ``model_a``/``model_b`` (code ->
    model number) and ``scores`` (code -> score); False at the first battle of a model against itself."""
    for r in range(a.shape[0]):
        i, j = model_a[codes_a[r]], model_b[codes_b[r]]
        if i == j:
            return False
        a[r], b[r] = i, j
        score_a[r] = scores[codes_w[r]]
    return True


# --- a strict JSON scanner for JSONL lines ----------------------------------------------------------------

_MAX_DEPTH = 256


@njit(cache=True, inline="always")
def _space(data, i, end):
    """Past blanks inside a line (space, tab, and a carriage return only right before the line end). A byte
    over 32 (never a blank) returns at once, and the index is unsigned (no negative-index check): this loop
    runs about ten times per line, and written as a plain if/elif chain it took half the scan's time."""
    while i < end:
        c = data[np.uint64(i)]
        if c > 32:
            return i
        if c == 32 or c == 9:
            i += 1
        elif c == 13 and i + 1 < end and data[np.uint64(i + 1)] == 10:
            i += 1
        else:
            return i
    return i


@njit(cache=True, inline="always")
def _continuation(data, i, end, count, low, high):
    """Past ``count`` UTF-8 continuation bytes, the first within ``low..high``; -1 when invalid."""
    if i + count > end or data[i] < low or data[i] > high:
        return -1
    for s in range(1, count):
        if data[i + s] < 0x80 or data[i + s] > 0xBF:
            return -1
    return i + count


@njit(cache=True)
def _string(data, i, end):
    """``data[i]`` is an opening quote: the index past the closing quote; -1 when invalid (a control
    character, a bad escape, invalid UTF-8, or no closing quote in the line). Plain ASCII is scanned here;
    the rest of a string from its first escape or non-ASCII byte by :func:`_string_rest` (a small loop
    here runs twice as fast)."""
    i += 1
    while i < end:
        c = data[i]
        if c == 34:
            return i + 1
        if c < 0x20 or c == 92 or c >= 0x80:
            return _string_rest(data, i, end)
        i += 1
    return -1


@njit(cache=True)
def _string_rest(data, i, end):
    """:func:`_string` from ``i`` (inside the string) on, escapes and UTF-8 checked."""
    while i < end:
        c = data[i]
        if 0x20 <= c < 0x80 and c != 34 and c != 92:  # the usual plain character, first and fast
            i += 1
            continue
        if c == 34:  # "
            return i + 1
        if c == 92:  # backslash
            if i + 1 >= end:
                return -1
            e = data[i + 1]
            if e == 117:  # \uXXXX
                if i + 6 > end:
                    return -1
                for s in range(2, 6):
                    h = data[i + s]
                    if not ((48 <= h <= 57) or (65 <= h <= 70) or (97 <= h <= 102)):
                        return -1
                i += 6
            elif e == 34 or e == 92 or e == 47 or e == 98 or e == 102 or e == 110 or e == 114 or e == 116:
                i += 2
            else:
                return -1
        elif c < 0x20:
            return -1
        elif c < 0x80:
            i += 1
        elif 0xC2 <= c <= 0xDF:
            i = _continuation(data, i + 1, end, 1, 0x80, 0xBF)
        elif c == 0xE0:
            i = _continuation(data, i + 1, end, 2, 0xA0, 0xBF)
        elif 0xE1 <= c <= 0xEC or c == 0xEE or c == 0xEF:
            i = _continuation(data, i + 1, end, 2, 0x80, 0xBF)
        elif c == 0xED:  # no UTF-16 surrogates
            i = _continuation(data, i + 1, end, 2, 0x80, 0x9F)
        elif c == 0xF0:
            i = _continuation(data, i + 1, end, 3, 0x90, 0xBF)
        elif 0xF1 <= c <= 0xF3:
            i = _continuation(data, i + 1, end, 3, 0x80, 0xBF)
        elif c == 0xF4:
            i = _continuation(data, i + 1, end, 3, 0x80, 0x8F)
        else:
            return -1
        if i < 0:
            return -1
    return -1


@njit(cache=True, inline="always")
def _has_escape(data, start, stop) -> bool:
    for i in range(start, stop):
        if data[i] == 92:
            return True
    return False


@njit(cache=True, inline="always")
def _digits(data, i, end):
    start = i
    while i < end and 48 <= data[i] <= 57:
        i += 1
    return i, i > start


@njit(cache=True)
def _number(data, i, end):
    """Past a JSON number starting at ``i``; -1 when invalid."""
    if data[i] == 45:  # -
        i += 1
    if i >= end:
        return -1
    if data[i] == 48:  # a leading zero stands alone
        i += 1
    else:
        i, some = _digits(data, i, end)
        if not some:
            return -1
    if i < end and data[i] == 46:  # .
        i, some = _digits(data, i + 1, end)
        if not some:
            return -1
    if i < end and (data[i] == 101 or data[i] == 69):  # e E
        i += 1
        if i < end and (data[i] == 43 or data[i] == 45):
            i += 1
        i, some = _digits(data, i, end)
        if not some:
            return -1
    return i


@njit(cache=True)
def _literal(data, i, end):
    """Past ``true``, ``false`` or ``null`` at ``i``; -1 when none is there."""
    c = data[i]
    if c == 116:
        word = (116, 114, 117, 101)
        n = 4
    elif c == 110:
        word = (110, 117, 108, 108)
        n = 4
    else:
        word = (102, 97, 108, 115)  # "fals", then the "e" below
        n = 5
    if i + n > end:
        return -1
    for s in range(4):
        if data[i + s] != word[s]:
            return -1
    if n == 5 and data[i + 4] != 101:
        return -1
    return i + n


@njit(cache=True, inline="always")
def _member_key(data, i, end):
    """``data[i]`` should open an object member's key: the index past the key and its colon; -1 if not."""
    if i >= end or data[i] != 34:
        return -1
    i = _string(data, i, end)
    if i < 0:
        return -1
    i = _space(data, i, end)
    if i >= end or data[i] != 58:
        return -1
    return i + 1


@njit(cache=True)
def _scalar(data, i, end):
    """Past a string, number or literal at ``i`` (not an object or array); -1 when invalid."""
    c = data[i]
    if c == 34:
        return _string(data, i, end)
    if c == 45 or 48 <= c <= 57:
        return _number(data, i, end)
    if c == 116 or c == 102 or c == 110:
        return _literal(data, i, end)
    return -1


@njit(cache=True)
def _value(data, i, end, stack):
    """Past one JSON value (any nesting up to ``_MAX_DEPTH``) starting at ``i``; -1 when invalid."""
    depth = 0
    while True:
        # a value starts at i
        i = _space(data, i, end)
        if i >= end:
            return -1
        c = data[i]
        opened = False
        if c == 123 or c == 91:  # { [
            i = _space(data, i + 1, end)
            if i >= end:
                return -1
            if (c == 123 and data[i] == 125) or (c == 91 and data[i] == 93):
                i += 1  # an empty container is a whole value
            else:
                if depth == _MAX_DEPTH:
                    return -1
                stack[depth] = c
                depth += 1
                opened = True
                if c == 123:  # a key, then a colon, before the member's value
                    i = _member_key(data, i, end)
                    if i < 0:
                        return -1
        else:
            i = _scalar(data, i, end)
            if i < 0:
                return -1
        if opened:
            continue
        # a value ended at i: close containers, or go on after a comma
        while True:
            if depth == 0:
                return i
            i = _space(data, i, end)
            if i >= end:
                return -1
            c = data[i]
            top = stack[depth - 1]
            if c == 44:  # ,
                i = _space(data, i + 1, end)
                if top == 123:
                    i = _member_key(data, i, end)
                    if i < 0:
                        return -1
                break
            if (c == 125 and top == 123) or (c == 93 and top == 91):
                depth -= 1
                i += 1
            else:
                return -1


_MODEL_ = (109, 111, 100, 101, 108, 95)  # b"model_"
_WINNER = (119, 105, 110, 110, 101, 114)  # b"winner"
_WEIGHT = (119, 101, 105, 103, 104, 116)  # b"weight"


@njit(cache=True, inline="always")
def _starts_with(data, start, word) -> bool:
    for s in range(len(word)):
        if data[start + s] != word[s]:
            return False
    return True


@njit(cache=True, inline="always")
def _key_index(data, start, stop) -> int:
    """Which wanted key ``data[start:stop]`` (a key without escapes) is: 0 ``model_a``, 1 ``model_b``,
    2 ``winner``, 3 ``weight``; -1 for another."""
    n = stop - start
    if n == 7 and _starts_with(data, start, _MODEL_):
        last = data[start + 6]
        return 0 if last == 97 else (1 if last == 98 else -1)
    if n == 6:
        if _starts_with(data, start, _WINNER):
            return 2
        if _starts_with(data, start, _WEIGHT):
            return 3
    return -1


@njit(cache=True)
def scan_jsonl(data, model_codes, winner_codes, models, winners, lines, spans, escapes):
    """Codes of one block of JSONL text (whole lines), appended from ``lines[0]`` (the battles so far) into
    ``model_codes`` (``(2, capacity)``: model_a's row, model_b's row) and ``winner_codes``;
    ``models``/``winners`` are the two interners' states. Returns ``OK`` (``lines[0]`` advanced past the
    block's battles), ``FULL`` (an interner or the code arrays are full: nothing of this block counts) or
    ``STOP`` (not clean JSONL). ``spans`` (``(3, 2, lines)``: per key, starts and ends) and ``escapes``
    (``(3, lines)``) are scratch for the values' places in the block, interned after the block is scanned
    (hashing while scanning was slower)."""
    end = data.shape[0]
    stack = np.empty(_MAX_DEPTH, dtype=np.uint8)
    first = lines[0]
    row = first
    capacity = min(winner_codes.shape[0] - first, spans.shape[2])
    i = 0
    while i < end:
        # one line: blanks, then an object or nothing
        i = _space(data, i, end)
        if i < end and data[i] == 10:
            i += 1
            continue
        if i >= end:
            break
        if data[i] != 123:
            return STOP
        if row - first >= capacity:
            return FULL
        found_a, found_b, found_w = -1, -1, -1
        i = _space(data, i + 1, end)
        if i < end and data[i] == 125:
            return STOP  # {}: no battle in it
        while True:
            if i >= end or data[i] != 34:
                return STOP
            key_end = _string(data, i, end)
            if key_end < 0 or _has_escape(data, i + 1, key_end - 1):
                return STOP
            k = _key_index(data, i + 1, key_end - 1)
            i = _space(data, key_end, end)
            if i >= end or data[i] != 58:
                return STOP
            i = _space(data, i + 1, end)
            if i >= end:
                return STOP
            if k == 3:  # a weight column: the general reader handles it
                return STOP
            if k >= 0:
                if data[i] != 34 or (k == 0 and found_a >= 0) or (k == 1 and found_b >= 0):
                    return STOP
                if k == 2 and found_w >= 0:
                    return STOP
                value_end = _string(data, i, end)
                if value_end < 0:
                    return STOP
                escaped = _has_escape(data, i + 1, value_end - 1)
                spans[k, 0, row - first] = i + 1
                spans[k, 1, row - first] = value_end - 1
                escapes[k, row - first] = escaped
                if k == 0:
                    found_a = 1
                elif k == 1:
                    found_b = 1
                else:
                    found_w = 1
                i = value_end
            else:
                i = _value(data, i, end, stack)
                if i < 0:
                    return STOP
            i = _space(data, i, end)
            if i >= end:
                return STOP
            if data[i] == 44:
                i = _space(data, i + 1, end)
                continue
            if data[i] == 125:
                i = _space(data, i + 1, end)
                break
            return STOP
        if i < end and data[i] != 10:
            return STOP  # more after the object on its line
        i += 1
        if found_a < 0 or found_b < 0 or found_w < 0:
            return STOP
        row += 1
    n = row - first
    for k in range(2):
        done = _intern_spans(
            data, spans[k, 0, :n], spans[k, 1, :n], escapes[k, :n], model_codes[k, first:row],
            models[0], models[1], models[2], models[3], models[4], models[5],
        )  # fmt: skip
        if done != OK:
            return done
    done = _intern_spans(
        data, spans[2, 0, :n], spans[2, 1, :n], escapes[2, :n], winner_codes[first:row],
        winners[0], winners[1], winners[2], winners[3], winners[4], winners[5],
    )  # fmt: skip
    if done != OK:
        return done
    lines[0] = row
    return OK
