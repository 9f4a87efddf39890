"""Where the shipped postmortem templates are: in the wheel, or beside the source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # receiver/

SHIPPED_TEMPLATES = next(
    (
        candidate
        for candidate in (
            _PACKAGE / "templates",  # installed wheel
            _PACKAGE.parent / "templates",  # source checkout
        )
        if candidate.is_dir()
    ),
    _PACKAGE / "templates",
)
