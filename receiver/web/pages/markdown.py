"""Drafts as HTML for the review page: CommonMark with raw HTML switched off, so no text
from an alert or a person can become markup or script. Task items (`- [ ]`, `- [x]`)
show as checkboxes that only display: the draft is changed through the form."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markupsafe import Markup

_TASK = re.compile(r"\[([ xX])\]\s")


def _task_items(state: StateCore) -> None:
    """`- [ ] text` → a disabled checkbox and `text`. A rule of our own (a dozen lines)
    rather than a plugin package: the one GFM extension the template's lists need."""
    tokens = state.tokens
    for index, token in enumerate(tokens):
        if token.type != "list_item_open" or index + 2 >= len(tokens):
            continue
        inline = tokens[index + 2]  # list_item_open, paragraph_open, inline
        if inline.type != "inline" or not inline.children:
            continue
        first = inline.children[0]
        found = _TASK.match(first.content) if first.type == "text" else None
        if found is None:
            continue
        first.content = first.content[found.end() :]
        checked = " checked" if found.group(1) != " " else ""
        box = Token("html_inline", "", 0)
        # written by us, never from the text: the draft's own raw HTML stays off
        box.content = f'<input type="checkbox" disabled{checked}> '
        inline.children.insert(0, box)
        token.attrJoin("class", "task")
        _mark_list(tokens, index)


def _mark_list(tokens: list[Token], item: int) -> None:
    """The list holding a task item gets class `tasks` (no bullets beside the boxes)."""
    depth = 0
    for index in range(item - 1, -1, -1):
        token = tokens[index]
        if token.type in ("bullet_list_close", "ordered_list_close"):
            depth += 1
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            if depth == 0:
                if "tasks" not in str(token.attrGet("class") or ""):
                    token.attrJoin("class", "tasks")
                return
            depth -= 1


_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_RENDERER.enable(["table", "strikethrough"])
_RENDERER.core.ruler.push("task_items", _task_items)


def to_html(markdown: str) -> Markup:
    # markdown-it escapes text and refuses javascript:/vbscript:/data: link targets
    return Markup(_RENDERER.render(markdown))
