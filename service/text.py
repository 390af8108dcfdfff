"""Text the service stores must be text a database and a person can hold.

NUL fails a PostgreSQL insert; other C0 control characters and lone surrogates
(which cannot be encoded as UTF-8) have no place in a memo, a title or a
statement. Every JSON body and every posted form is checked here once, before
any feature sees it, so a hostile string is a 400/422 with the field named,
never a 500 and never half a write. Tab, line feed and carriage return stay allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from service.i18n import N_

_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
UNSAFE_TEXT_MESSAGE = N_("Remove the control characters from this text.")


def is_unsafe_text(value: str) -> bool:
    return _UNSAFE.search(value) is not None


def unsafe_text_path(value: object, path: str = "") -> str | None:
    """The dotted path of the first unsafe string inside `value` (keys included), or None."""
    if isinstance(value, str):
        return path or "body" if is_unsafe_text(value) else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and is_unsafe_text(key):
                return where
            found = unsafe_text_path(item, where)
            if found is not None:
                return found
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        for index, item in enumerate(value):
            found = unsafe_text_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None
