"""Starting an aiohttp application on a host and port: Slack's HTTP mode and the web chat both do."""

from __future__ import annotations

from aiohttp import web

__all__ = ["listen"]


async def listen(app: web.Application, *, host: str, port: int) -> tuple[web.AppRunner, int]:
    """The running app and the port it is bound to (the OS's choice when `port` is 0)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server  # noqa: SLF001 - aiohttp exposes the bound port only here
    sockets = getattr(server, "sockets", None) or []
    return runner, (sockets[0].getsockname()[1] if sockets else port)
