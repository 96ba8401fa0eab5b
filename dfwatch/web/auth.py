"""The API key: `X-API-Key: <key>` or `Authorization: Bearer <key>`, compared in constant time.

A key is required when the server binds to anything but loopback (`create_app` refuses to
build such an app without one); on loopback it is optional, but enforced once configured.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from dfwatch.web.errors import ApiError

KEY_ENV = "DFWATCH_WEB__API_KEY"

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKey",
                              description=f"The server's API key (setting web.api_key, from ${KEY_ENV}).")
bearer = HTTPBearer(auto_error=False, scheme_name="Bearer", description="The API key as a bearer token.")


class KeyRequired(ValueError):
    """Raised by `create_app` for a non-loopback host without a configured key."""


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1; anything else (0.0.0.0, ::, names) is reachable from outside."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(host: str, key: str | None) -> None:
    if not key and not is_loopback(host):
        raise KeyRequired(
            f"refusing to serve on {host}: an API key is required on any address but loopback; "
            f"set {KEY_ENV} (clients then send X-API-Key), or bind to 127.0.0.1"
        )


def require_api_key(
    request: Request,
    key: Annotated[str | None, Security(api_key_header)] = None,
    token: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> None:
    """Dependency of every /api route but /api/health: a 401 unless the configured key was sent."""
    expected: bytes | None = request.app.state.api_key
    if expected is None:
        return
    given = key if key is not None else (token.credentials if token is not None else None)
    if given is None:
        raise ApiError(401, "an API key is required: send X-API-Key or Authorization: Bearer",
                       headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(given.encode("utf-8"), expected):
        raise ApiError(401, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
