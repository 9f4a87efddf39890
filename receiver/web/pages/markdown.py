"""Drafts as HTML for the review page: CommonMark with raw HTML switched off, so no text
from an alert or a person can become markup or script."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_RENDERER.enable(["table", "strikethrough"])


def to_html(markdown: str) -> Markup:
    # markdown-it escapes text and refuses javascript:/vbscript:/data: link targets
    return Markup(_RENDERER.render(markdown))
