"""Markdown filters for alert text: one line, escaped, and no longer than a reader can use."""

from __future__ import annotations

import re
import urllib.parse

# C0/C1 controls, bidi embeddings/overrides/isolates and marks, zero-width joiners
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
MAX_INLINE = 2000
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|~])")
_MD_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def one_line(value: object) -> str:
    """Label text on one line: no control or bidi-override characters (which could
    reorder what a reader sees), and no more than a reader can use."""
    text = " ".join(str(value).split())
    if not text.isprintable():  # every character _INVISIBLE removes is unprintable
        text = _INVISIBLE.sub("", text)
    return text if len(text) <= MAX_INLINE else text[: MAX_INLINE - 1] + "…"


def md_inline(value: object) -> str:
    """Alert text as literal inline Markdown: one line, metacharacters escaped."""
    text = one_line(value)
    # most alert text has nothing to escape; finding that out is cheaper than a sub
    if _MD_SPECIAL.search(text):
        text = _MD_SPECIAL.sub(r"\\\1", text)
    if "_" in text:
        text = _MD_UNDERSCORE.sub(r"\\_", text)
    return text


def md_code(value: object) -> str:
    """An inline code span that no backtick in the value can close early."""
    text = one_line(value)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_block_line(value: object) -> str:
    """One line inside a fenced code block: no line breaks, no closing fence."""
    return one_line(value).replace("```", "'''")


def md_url(value: object) -> str:
    """A link target: only http(s), with characters that end a Markdown link escaped."""
    text = str(value).strip()
    if not re.match(r"^https?://", text, re.IGNORECASE):
        return ""
    return urllib.parse.quote(text, safe=":/?#[]@!$&'*+,;=%-._~")
