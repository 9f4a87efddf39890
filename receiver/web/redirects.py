"""Where a page may send the browser next: only a path on this site, read the way the
browser will read it (the WHATWG URL parser), so no trick turns it into another host."""

from __future__ import annotations

import re
from urllib.parse import quote

HOME = "/"
MAX_LENGTH = 2000
# the browser drops these at both ends of a URL, and tabs and newlines anywhere in it
_C0_OR_SPACE = "".join(chr(code) for code in range(0x21))
_TAB_OR_NEWLINE = re.compile("[\t\n\r]")
# the browser's dot segments, percent-encoded dots included
_SINGLE_DOT = frozenset({".", "%2e"})
_DOUBLE_DOT = frozenset({"..", ".%2e", "%2e.", "%2e%2e"})
# left as they are; everything else (spaces, quotes, controls, non-ASCII) is escaped
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = _PATH_SAFE + "?"


def safe_next(target: str) -> str:
    """`target` as a path (and query) on this site, normalised; else the home page."""
    text = _TAB_OR_NEWLINE.sub("", target.strip(_C0_OR_SPACE))
    # in http(s) URLs the browser takes a backslash for a slash: "/\evil" is "//evil"
    text = text.replace("\\", "/")
    # only a path-absolute URL keeps the host: no scheme ("https:", "javascript:"),
    # no authority ("//host"), nothing relative to the login page
    if not text.startswith("/") or text.startswith("//") or len(text) > MAX_LENGTH:
        return HOME
    path, _, query = text.partition("#")[0].partition("?")
    path = _without_dot_segments(path)
    if path.startswith("//"):  # "/.//evil" is "//evil" once its dot is gone
        return HOME
    result = quote(path, safe=_PATH_SAFE)
    if query:
        result += "?" + quote(query, safe=_QUERY_SAFE)
    return result


def _without_dot_segments(path: str) -> str:
    """The path with "." and ".." resolved as the browser resolves them."""
    kept: list[str] = []
    segments = path.split("/")[1:]
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        lowered = segment.lower()
        if lowered in _DOUBLE_DOT:
            if kept:
                kept.pop()
            if last:
                kept.append("")
        elif lowered in _SINGLE_DOT:
            if last:
                kept.append("")
        else:
            kept.append(segment)
    return "/" + "/".join(kept)
