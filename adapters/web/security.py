"""Who may use the web chat, and proof that every POST came from its own page.

- Loopback by default. Any other address needs `CITEWISE_WEB_TOKEN`, checked at start-up
  (`check_bind`), then on every request: an `Authorization: Bearer` header, or the token
  entered once on the page and kept as a cookie (an HMAC of the token, never the token).
- Without a token the page answers only to loopback host names, so a web page elsewhere
  cannot DNS-rebind its way to it.
- CSRF: a random token in a SameSite=Strict cookie that every form and script request
  repeats (double submit). It needs no server state, so a page loaded before a restart
  keeps working. Requests carrying a bearer token are exempt: a browser cannot add that
  header to a cross-site request.
- Every response carries a strict Content-Security-Policy: scripts and styles from
  /static only, nothing inline, no framing.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

__all__ = [
    "Guard",
    "Handler",
    "WebConfigError",
    "check_bind",
    "is_loopback",
    "is_ours",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LOGIN_NEEDED",
    "security_headers",
    "CSP",
]

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSRF_COOKIE = "citewise_csrf"
AUTH_COOKIE = "citewise_auth"
USER_COOKIE = "citewise_user"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
ROUTE_PREFIX = "web."
LOGIN_NEEDED = "Enter the access token to use this Citewise."

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_USER = re.compile(r"^[0-9a-f]{16}$")
_OPEN_PATHS = ("/login", "/healthz")  # and everything under /static/: the script and style sheet
# Typed request-storage keys where aiohttp has them (3.12+); plain strings before.
_CSRF_KEY: Any = web.RequestKey("citewise_csrf", str) if hasattr(web, "RequestKey") else "citewise_csrf"
_USER_KEY: Any = web.RequestKey("citewise_user", str) if hasattr(web, "RequestKey") else "citewise_user"


class WebConfigError(Exception):
    """The web chat cannot start as configured; the message is one line for the user."""


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse, before binding, to serve anywhere but loopback without a token."""
    if not is_loopback(host) and not token:
        raise WebConfigError(
            f"refusing to serve the web chat on {host or 'all interfaces'} without CITEWISE_WEB_TOKEN "
            "(anyone who reaches it could read and add papers); set it, or bind to 127.0.0.1"
        )


def is_ours(request: web.Request) -> bool:
    """Whether this request is the web chat's (or matched nothing): shared servers also carry Slack's routes."""
    route = request.match_info.route
    return route.resource is None or (route.name or "").startswith(ROUTE_PREFIX)


def _hostname(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class Guard:
    """The page's access rules and CSRF tokens, as aiohttp middleware."""

    def __init__(self, token: str | None) -> None:
        self._token = token or None
        self._cookie = hmac.new(token.encode(), b"citewise-web-auth", hashlib.sha256).hexdigest() if token else None

    @property
    def needs_login(self) -> bool:
        return self._token is not None

    def token_matches(self, candidate: str) -> bool:
        return self._token is not None and hmac.compare_digest(candidate.encode(), self._token.encode())

    def remember_login(self, response: web.StreamResponse, request: web.Request) -> None:
        assert self._cookie is not None
        response.set_cookie(AUTH_COOKIE, self._cookie, httponly=True, samesite="Strict", secure=request.secure,
                            max_age=30 * 24 * 3600)

    @staticmethod
    def csrf(request: web.Request) -> str:
        """This visitor's CSRF token (made on the first visit and set as a cookie on the response)."""
        return str(request[_CSRF_KEY])

    @staticmethod
    def user(request: web.Request) -> str:
        """A stable id for this browser, so one vote per answer per person holds."""
        return f"web:{request[_USER_KEY]}"

    @web.middleware
    async def identity(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Outermost: give the visitor a CSRF token and a browser id, and set them on whatever goes back."""
        if not is_ours(request):
            return await handler(request)
        cookie_csrf = request.cookies.get(CSRF_COOKIE, "")
        request[_CSRF_KEY] = cookie_csrf if _TOKEN.match(cookie_csrf) else secrets.token_urlsafe(32)
        cookie_user = request.cookies.get(USER_COOKIE, "")
        request[_USER_KEY] = cookie_user if _USER.match(cookie_user) else secrets.token_hex(8)
        response = await handler(request)
        if request[_CSRF_KEY] != cookie_csrf:
            response.set_cookie(CSRF_COOKIE, request[_CSRF_KEY], httponly=True, samesite="Strict", secure=request.secure)
        if request[_USER_KEY] != cookie_user:
            response.set_cookie(USER_COOKIE, request[_USER_KEY], httponly=True, samesite="Strict", secure=request.secure,
                                max_age=365 * 24 * 3600)
        return response

    @web.middleware
    async def check(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Innermost: host, login and CSRF rules; a refusal is an HTTP error the error middleware renders."""
        if not is_ours(request):
            return await handler(request)
        bearer = self._bearer(request)
        if self._token is None and not is_loopback(_hostname(request.host)):
            logger.warning("refused request for host %r (loopback names only without a token)", request.host)
            raise web.HTTPForbidden(text="This Citewise answers on 127.0.0.1 and localhost only.")
        if (self._token is not None and not bearer and not self._cookie_ok(request)
                and request.path not in _OPEN_PATHS and not request.path.startswith("/static/")):
            raise web.HTTPUnauthorized(text=LOGIN_NEEDED)
        if request.method == "POST" and not bearer and not await self._csrf_ok(request):
            logger.warning("refused POST %s without a valid CSRF token", request.path)
            raise web.HTTPForbidden(
                text="This form has expired or did not come from this page. Reload the page and try again."
            )
        return await handler(request)

    def _bearer(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and self.token_matches(value.strip())

    def _cookie_ok(self, request: web.Request) -> bool:
        value = request.cookies.get(AUTH_COOKIE, "")
        return self._cookie is not None and hmac.compare_digest(value.encode(), self._cookie.encode())

    async def _csrf_ok(self, request: web.Request) -> bool:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not _TOKEN.match(cookie):
            return False
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form: MultiDictProxy = await request.post()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
        return sent is not None and hmac.compare_digest(sent.encode(), cookie.encode())


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The CSP and friends on every web-chat response, error pages included."""
    response = await handler(request)
    if is_ours(request):
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
    return response
