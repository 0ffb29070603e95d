"""Starting a fake platform's aiohttp app on 127.0.0.1 at a free port."""

from __future__ import annotations

from typing import Any

from aiohttp import web

__all__ = ["serve_on_loopback"]


async def serve_on_loopback(app: web.Application, **runner_options: Any) -> tuple[web.AppRunner, int]:
    """Serve `app` on 127.0.0.1, port 0 (the OS picks one); the runner to clean up, and the port."""
    runner = web.AppRunner(app, **runner_options)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # noqa: SLF001
