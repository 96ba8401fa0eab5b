"""Who may see the pages: the same key as the API, also accepted as an HTTP Basic password.

Browsers cannot send X-API-Key, so when the server has a key (always, off loopback) a page
answers 401 with `WWW-Authenticate: Basic`, the browser asks for a password, and the key is
that password (any user name). On loopback without a key, pages are open, like the API.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from fastapi import Request

from dfwatch.web.errors import ApiError

CHALLENGE = {"WWW-Authenticate": 'Basic realm="dfwatch", charset="UTF-8"'}


def _given(request: Request) -> str | None:
    if (key := request.headers.get("x-api-key")) is not None:
        return key
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None


def require_page_key(request: Request) -> None:
    """Dependency of every page: a 401 (with a Basic challenge) unless the configured key was given."""
    expected: bytes | None = request.app.state.api_key
    if expected is None:
        return
    given = _given(request)
    if given is None or not hmac.compare_digest(given.encode("utf-8"), expected):
        raise ApiError(401, "this dfwatch server needs its API key: enter it as the password", headers=CHALLENGE)
