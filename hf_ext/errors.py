"""The one exception type for user mistakes: a bad file, field, name or flag.

Everything a user can fix by changing their input raises :class:`HFExtError` (or a subclass) with a message
of one line that names the file, the line, the field or the name at fault. The CLI prints that line and exits
with status 2; any other exception is a bug in hf-ext and is reported as one.

Example:
    >>> from hf_ext.errors import HFExtError
    >>> try:
    ...     raise HFExtError("prefs.jsonl, line 3: missing field 'chosen'")
    ... except ValueError as error:  # HFExtError is a ValueError, so older callers keep working
    ...     print(error)
    prefs.jsonl, line 3: missing field 'chosen'
"""

from __future__ import annotations


class HFExtError(ValueError):
    """A user mistake, with a one-line message naming the file, line, field or name at fault."""
