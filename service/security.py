"""Optional API keys: when GRADSERVE_API_KEYS is set, /v1/* except health needs one of them,
as `Authorization: Bearer <key>` or `X-API-Key: <key>`: 401 without either, 403 when any
key given (or an Authorization of another scheme) is not one of them.

The routers that need a key use `ApiKeyRoute`: it checks the headers before FastAPI solves
the route's dependencies (a key dependency with its two `Security` sub-dependencies cost
~0.1 ms on every request, keys or not) and documents both schemes in OpenAPI."""

import secrets
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from service.errors import MissingApiKey, WrongApiKey

_KEYS = "Required when the server sets GRADSERVE_API_KEYS; either scheme will do."
SECURITY_SCHEMES = {
    "HTTPBearer": {"type": "http", "description": _KEYS, "scheme": "bearer"},
    "APIKeyHeader": {"type": "apiKey", "description": _KEYS, "in": "header", "name": "X-API-Key"},
}


class ApiKeyRoute(APIRoute):
    """A route that requires one of the configured API keys (none when none is set)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        security = [{scheme: []} for scheme in SECURITY_SCHEMES]
        kwargs["openapi_extra"] = {"security": security, **(kwargs.get("openapi_extra") or {})}
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_with_key(request: Request) -> Response:
            require_api_key(request)
            return await handle(request)

        return handle_with_key


def require_api_key(request: Request) -> None:
    """MissingApiKey or WrongApiKey unless the request carries a configured key (or none is
    configured)."""
    keys = request.app.state.settings.api_keys
    if not keys:
        return
    given = _given_keys(request.headers.get("Authorization"), request.headers.get("X-API-Key"))
    if not given:
        raise MissingApiKey("This server requires an API key: send it as "
                            "'Authorization: Bearer <key>' or 'X-API-Key: <key>'.")
    if not all(_accepted(key, keys) for key in given):
        raise WrongApiKey("An API key given is not one this server accepts.")


def _given_keys(authorization: str | None, api_key: str | None) -> list[str]:
    """The bearer token (else the whole Authorization header, of another scheme) and the
    X-API-Key, those present."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        authorization = token.strip()
    return [key for key in (authorization, api_key or None) if key is not None]


def _accepted(key: str, keys: list[str]) -> bool:
    return any(secrets.compare_digest(key.encode(), accepted.encode()) for accepted in keys)
