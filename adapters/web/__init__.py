"""Citewise in the browser: a local web chat with the same answers, threads and sources as chat.

`citewise run` serves it when no chat platform is configured, `CITEWISE_WEB=1` beside
them, `citewise web` alone. Modules: `inbound` (forms → Question), `render` (Answer →
HTML fragments), `pages` (layout and forms), `markup` (escaped-by-default HTML),
`security` (token, CSRF, CSP), `errors` (the one apology), `handlers` (routes),
`server` (the adapter); `static/` holds the one script and style sheet.
"""

from __future__ import annotations

from adapters.web.security import WebConfigError, check_bind
from adapters.web.server import SharedServer, WebAdapter
from bot.core import Citewise
from bot.settings import Settings

__all__ = ["WebAdapter", "WebConfigError", "build_web_adapter", "check_bind"]


def build_web_adapter(settings: Settings, core: Citewise, *, shared: SharedServer | None = None) -> WebAdapter:
    """The web chat; raises `WebConfigError` (one line) when it may not bind where asked."""
    return WebAdapter(settings, core, shared=shared)
