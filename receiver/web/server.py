"""Serving the app as `serve` does: aiohttp's web.run_app, except that the errors aiohttp
answers before any handler or middleware runs (a request line or header too long, a
malformed request line, a broken chunk in the first packet) are JSON like every other
error.

aiohttp builds those answers in RequestHandler.handle_error, with no hook an application
may use (aio-libs/aiohttp#3287), so each connection here is a RequestHandler subclass
that overrides it, made by a Server subclass that a runner of our own installs; the run
loop around it is run_app's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong

from receiver.web.errors import ApiError

log = structlog.get_logger("receiver.http")
# what web.run_app uses: how long an idle keep-alive connection stays open
KEEPALIVE_SECONDS = 75.0


class JsonErrorConnection(web.RequestHandler):
    """One client connection; its own errors are answered as JSON."""

    __slots__ = ()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # as aiohttp's own: too late for an answer
            raise ConnectionError("a response is already under way")
        if status >= 500:
            log.error("http.failed", status=status, exc_info=exc)
            error = ApiError(status, "internal", "the receiver failed; see its log")
        else:
            reason = " ".join((exc.message if isinstance(exc, HttpProcessingError) else "").split())
            reason = reason[:300] or (message or "").strip()[:300] or "malformed request"
            log.warning("http.unparsable", status=status, error=reason, remote=request.remote)
            error = ApiError(
                status,
                "line_too_long" if isinstance(exc, LineTooLong) else "bad_request",
                f"the request cannot be parsed: {reason}",
            )
        response = error.response()
        response.force_close()  # the stream cannot be trusted past a parser error
        return response


class JsonErrorServer(web.Server):
    def __call__(self) -> web.RequestHandler:
        # web.Server.__call__, with the connection class above
        return JsonErrorConnection(self, loop=self._loop, **self._kwargs)


class JsonErrorRunner(web.AppRunner):
    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return JsonErrorServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **server._kwargs,
        )


class ListenError(Exception):
    """The server cannot listen where it was told to."""

    def __init__(self, listen: str, cause: OSError) -> None:
        super().__init__(f"cannot listen on {listen}: {cause.strerror or cause}")
        self.listen = listen
        self.cause = cause


def run_app(
    app: web.Application,
    *,
    host: str,
    port: int,
    shutdown_timeout: float,
    on_listening: Callable[[str], None],
) -> None:
    """Serve until SIGINT or SIGTERM; then stop accepting, let requests in flight finish
    for up to `shutdown_timeout` seconds, and run the app's cleanup, as web.run_app does:
    only then are the remaining tasks cancelled."""
    loop = asyncio.new_event_loop()
    main = loop.create_task(_serve(app, host, port, shutdown_timeout, on_listening))
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        try:
            if not main.done():
                main.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    loop.run_until_complete(main)
        finally:
            _cancel_all(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            asyncio.set_event_loop(None)


async def _serve(
    app: web.Application,
    host: str,
    port: int,
    shutdown_timeout: float,
    on_listening: Callable[[str], None],
) -> None:
    runner = JsonErrorRunner(
        app,
        handle_signals=True,  # SIGINT and SIGTERM raise GracefulExit
        shutdown_timeout=shutdown_timeout,
        keepalive_timeout=KEEPALIVE_SECONDS,
        access_log=None,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:  # the port is taken, the address is not this machine's…
            raise ListenError(f"{host}:{port}", exc) from exc
        bound_host, bound_port = runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        on_listening(f"http://{shown}:{bound_port}")
        await asyncio.Event().wait()  # until a signal
    finally:
        await runner.cleanup()


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    tasks = list(asyncio.all_tasks(loop))
    for task in tasks:
        task.cancel()
    results: list[Any] = loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    for task, result in zip(tasks, results, strict=True):
        if isinstance(result, Exception):
            loop.call_exception_handler(
                {"message": "unhandled exception at shutdown", "exception": result, "task": task}
            )
