"""Optional API keys: when GRADSERVE_API_KEYS is set, /v1/* except health needs one of them,
as `Authorization: Bearer <key>` or `X-API-Key: <key>`: 401 without either, 403 when any
key given (or an Authorization of another scheme) is not one of them."""

import secrets
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from service.errors import MissingApiKey, WrongApiKey
from service.settings import SettingsDep

_KEYS = "Required when the server sets GRADSERVE_API_KEYS; either scheme will do."
bearer = HTTPBearer(auto_error=False, description=_KEYS)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description=_KEYS)


async def require_api_key(
        request: Request, settings: SettingsDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
        api_key: Annotated[str | None, Security(api_key_header)]) -> None:
    if not settings.api_keys:
        return
    authorization = credentials.credentials if credentials else request.headers.get(
        "Authorization")
    given = [key for key in (authorization, api_key) if key is not None]
    if not given:
        raise MissingApiKey("This server requires an API key: send it as "
                            "'Authorization: Bearer <key>' or 'X-API-Key: <key>'.")
    if not all(_accepted(key, settings.api_keys) for key in given):
        raise WrongApiKey("An API key given is not one this server accepts.")


def _accepted(key: str, keys: list[str]) -> bool:
    return any(secrets.compare_digest(key.encode(), accepted.encode()) for accepted in keys)
