"""What `check-config` and `/readyz` verify beyond the settings' own validation."""

from __future__ import annotations

import tempfile
from pathlib import Path

import jinja2

from receiver.config import Settings
from receiver.domain.incident import Rules
from receiver.postmortem.options import render_options
from receiver.postmortem.render import DraftRenderer
from receiver.postmortem.sample import sample_draft_input

LANGUAGES = ("zh", "en")


def drafts_dir_problem(directory: Path) -> str | None:
    """None when a draft can be written there (creating the directory if needed)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-", delete=True):
            pass
    except OSError as exc:
        return f"drafts directory {directory} is not writable: {exc.strerror or exc}"
    return None


def template_problems(settings: Settings, rules: Rules) -> list[str]:
    """Render every language's template against a sample incident."""
    problems = []
    if settings.template_dir is not None and not settings.template_dir.is_dir():
        problems.append(f"RECEIVER_TEMPLATE_DIR {settings.template_dir} is not a directory")
    renderer = DraftRenderer(settings.template_dir)
    for language in LANGUAGES:
        options = render_options(settings, rules, language)
        try:
            text = renderer.render(sample_draft_input(), options)
        except jinja2.TemplateError as exc:
            where = f" (line {exc.lineno})" if isinstance(exc, jinja2.TemplateSyntaxError) else ""
            problems.append(
                f"template {renderer.template_name(language)}{where}: {type(exc).__name__}: {exc}"
            )
            continue
        if not text.strip():
            problems.append(f"template {renderer.template_name(language)} renders nothing")
    return problems
