"""Render a draft postmortem: the view from build, through a sandboxed Jinja template."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import jinja2
from jinja2.runtime import Context, LoopContext, Macro
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel

from receiver.domain.incident import PriorityReason
from receiver.domain.review import ActionItem, HumanFields, Improvement, as_markdown_block
from receiver.evidence.view import BusinessLine, ChartLine, EvidenceView
from receiver.postmortem.build import build_view
from receiver.postmortem.filters import md_block_line, md_code, md_inline, md_url
from receiver.postmortem.impact import PolicyLine, SloLine
from receiver.postmortem.templates import SHIPPED_TEMPLATES
from receiver.postmortem.view import (
    AlertLine,
    ChangeLine,
    DraftInput,
    DraftView,
    Interval,
    RenderOptions,
    Row,
    ValuesLine,
)


class TemplateNotFound(Exception):
    pass


# Attributes the templates read that are plain data: the fields of the view's classes
# and of people's fields, a timedelta's parts, a loop's position.
_VIEW_DATACLASSES = (
    DraftView,
    Row,
    Interval,
    AlertLine,
    ChangeLine,
    ValuesLine,
    PriorityReason,
    EvidenceView,
    ChartLine,
    BusinessLine,
    SloLine,
    PolicyLine,
)
_PLAIN_ATTRIBUTES: Mapping[type, frozenset[str]] = {
    **{cls: frozenset(f.name for f in dataclasses.fields(cls)) for cls in _VIEW_DATACLASSES},
    **{cls: frozenset(cls.model_fields) for cls in (HumanFields, Improvement, ActionItem)},
    timedelta: frozenset({"days", "seconds", "microseconds", "total_seconds"}),
    LoopContext: frozenset({"index", "index0", "first", "last", "length"}),
}


class _ViewSandbox(SandboxedEnvironment):
    """The sandbox, with short ways through for what only the receiver puts there.

    For the attributes above the generic checks (is this a function's globals, a
    frame, str.format?) can only answer "safe", and they took a third of a render.
    Everything else (methods, underscores, unknown names) is checked as before."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if attribute in _PLAIN_ATTRIBUTES.get(type(obj), ()):
            return getattr(obj, attribute)
        return super().getattr(obj, attribute)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # people's fields are pydantic models: their fields are data, while their methods
        # (parse_file reads a file, model_copy, merged …) are nothing a template needs
        if isinstance(obj, BaseModel):
            return attr in type(obj).model_fields
        return bool(super().is_safe_attribute(obj, attr, value))

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        # The template's own macros are template code, which is sandboxed where it runs:
        # no need to look for `unsafe_callable` on them, nor for Context.call to find out
        # what to pass them (always the eval context). A tenth of a render went there.
        if type(obj) is Macro:
            kwargs.pop("_loop_vars", None)  # what Context.call drops too
            kwargs.pop("_block_vars", None)
            return obj(context.eval_ctx, *args, **kwargs)
        return super().call(context, obj, *args, **kwargs)


class DraftRenderer:
    """Loads the postmortem templates once (overrides first) and renders views with them."""

    def __init__(self, template_dir: Path | None = None) -> None:
        search = [str(template_dir)] if template_dir else []
        search.append(str(SHIPPED_TEMPLATES))
        # Sandboxed: an override template is configuration, alert text is only ever data.
        self.env = _ViewSandbox(
            loader=jinja2.FileSystemLoader(search),
            autoescape=False,  # Markdown output; alert text goes through md_* filters
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # read once: no stat of the template file on every render
        )
        self.env.filters.update(
            md=md_inline,
            code=md_code,
            block=md_block_line,
            url=md_url,
            paragraphs=as_markdown_block,
        )

    def template_name(self, language: str) -> str:
        return f"postmortem.{language}.md.j2"

    def check(self, language: str) -> None:
        try:
            self.env.get_template(self.template_name(language))
        except jinja2.TemplateNotFound as exc:
            raise TemplateNotFound(f"no template {exc.name} in {self.env.loader}") from exc

    def render(self, data: DraftInput, options: RenderOptions) -> str:
        view = build_view(data, options)
        template = self.env.get_template(self.template_name(options.language))
        return template.render(v=view)
