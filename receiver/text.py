"""Text fields every input shares."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def without_nul(value: str) -> str:
    # PostgreSQL text cannot hold U+0000; both stores keep the same visible stand-in
    return value.replace("\x00", "\ufffd")


Text = Annotated[str, AfterValidator(without_nul)]
