"""Text fields every input shares: no NUL, and length limits counted in characters."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def without_nul(value: str) -> str:
    """U+0000 (PostgreSQL text cannot hold it) and lone surrogates (from JSON escapes such
    as \\ud800; no UTF-8 encodes them) become U+FFFD on both stores."""
    if value.isascii() and "\x00" not in value:
        return value  # most text: two scans in C, no regex
    return _UNSTORABLE.sub("\ufffd", value)


_NO_NUL = AfterValidator(without_nul)

Text = Annotated[str, _NO_NUL]
NonEmpty = Annotated[str, StringConstraints(min_length=1), _NO_NUL]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), _NO_NUL
]
# stored as "event:<key>" in a 200-character column
Key = Annotated[str, StringConstraints(min_length=1, max_length=190), _NO_NUL]
# Alertmanager's fingerprints are 16 hex digits; the column holds 64
Fingerprint = Annotated[str, StringConstraints(min_length=1, max_length=64), _NO_NUL]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50), _NO_NUL]
Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), _NO_NUL]
ItemText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), _NO_NUL
]
Message = Annotated[str, StringConstraints(min_length=1, max_length=2000), _NO_NUL]
Details = Annotated[str, StringConstraints(max_length=10_000), _NO_NUL]
Paragraphs = Annotated[str, StringConstraints(max_length=20_000), _NO_NUL]
