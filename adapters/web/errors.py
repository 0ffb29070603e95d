"""The web chat's one catch-all: a short apology with a reference id, never a traceback.

HTTP errors (404, 403 from the guard, 413 for a too-large upload) become short pages
in the chat's own words; anything unexpected is logged with a fresh reference id and
the visitor gets `messages.apology` with that id. Script requests get the same words
as JSON.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from adapters.web.pages import login_main, notice_main, page
from adapters.web.security import LOGIN_NEEDED, Guard, Handler, is_ours
from bot.messages import apology, new_reference
from bot.uploads import TOO_LARGE

__all__ = ["errors_middleware", "reply", "wants_json"]

logger = logging.getLogger(__name__)

_TITLES = {
    400: "That request was not understood",
    401: "Access token needed",
    403: "Refused",
    404: "Not found",
    405: "Not allowed",
    413: "Too large",
}


def wants_json(request: web.Request) -> bool:
    """The page's script asks for JSON; a plain form post wants a page."""
    return "application/json" in request.headers.get("Accept", "")


def reply(request: web.Request, status: int, text: str, **extra: object) -> web.Response:
    """A short message as JSON (for the script) or as a page."""
    if wants_json(request):
        return web.json_response({"ok": False, "error": text, **extra}, status=status)
    body = page(_TITLES.get(status, "Sorry"), notice_main(_TITLES.get(status, "Sorry"), text), csrf=Guard.csrf(request))
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def _login(request: web.Request) -> web.Response:
    if wants_json(request):
        return web.json_response({"ok": False, "error": LOGIN_NEEDED}, status=401)
    next_path = request.path_qs if request.method == "GET" else "/"
    body = page("Access token", login_main(csrf=Guard.csrf(request), failed=False, next_path=next_path),
                csrf=Guard.csrf(request))
    return web.Response(text=body, status=401, content_type="text/html", charset="utf-8")


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_ours(request):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            return web.Response(status=exc.status, headers=exc.headers)
        if exc.status == 401:
            return _login(request)
        if exc.status == 413:
            return reply(request, 413, f"That upload is {TOO_LARGE}.")
        text = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else _TITLES.get(exc.status, exc.reason)
        return reply(request, exc.status, text)
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - the adapter's edge: log it, apologise, never show a traceback
        reference = new_reference()[:10]
        logger.exception("web request failed ref=%s method=%s path=%s", reference, request.method, request.path)
        try:
            return reply(request, 500, apology(reference), reference=reference)
        except Exception:  # noqa: BLE001 - even the page failed: the words alone, still no traceback
            logger.exception("web apology page failed ref=%s", reference)
            return web.Response(text=apology(reference), status=500)
