"""GET /static/{name}: the pages' own files, looked up by exact name.

aiohttp's static route hands any name to the file system: a 5,000-character one raised
"File name too long" (a 500), and a missing file got an empty 404 that was not JSON. The
directory holds a stylesheet; serving only the names it holds leaves nothing to probe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aiohttp import web

from receiver.postmortem.templates import SHIPPED_TEMPLATES
from receiver.web.errors import ApiError

STATIC_DIR: Final = SHIPPED_TEMPLATES / "static"
FILES: Final[dict[str, Path]] = {path.name: path for path in STATIC_DIR.iterdir() if path.is_file()}


async def static_file(request: web.Request) -> web.StreamResponse:
    path = FILES.get(request.match_info["name"])
    if path is None:
        raise ApiError(404, "not_found", "no such file")
    return web.FileResponse(path)
