"""Who is calling: optional API keys that map to users (``auth.api_keys`` in ``conf/serve.yaml``).

Without keys the service trusts the ``user_id`` of each request (a development setup, or a
gateway in front that authenticates). With keys, the key's user *is* the caller: a missing or
wrong key is a 401, and a request that names another ``user_id`` is a 403, so one user can
never read, recommend from or delete another user's garments.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from fastapi import HTTPException

from wardrobe.store.schema import check_id

API_KEY_HEADER = "X-API-Key"


class ApiKeys:
    """The configured key -> user table; empty means authentication is off."""

    def __init__(self, keys: Mapping[str, str] | None = None) -> None:
        self._keys = {str(k): str(v) for k, v in dict(keys or {}).items()}
        for key, user in self._keys.items():
            if len(key) < 8:
                raise ValueError("auth.api_keys: every key must have at least 8 characters")
            check_id(user, "user id in auth.api_keys")

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def user_of(self, key: str | None) -> str | None:
        """The user of ``key``, or None. Compares every key in constant time."""
        if not key:
            return None
        found = None
        for candidate, user in self._keys.items():
            if hmac.compare_digest(candidate.encode(), key.encode()):
                found = user
        return found

    def caller(self, requested_user: str | None, key: str | None) -> str:
        """The user a request acts for, or an ``HTTPException`` (401, 403, 422)."""
        if not self.enabled:
            if not requested_user:
                raise HTTPException(422, "user_id is required (no API key is configured)")
            return requested_user
        if not key:
            raise HTTPException(
                401,
                f"missing API key: send it in the {API_KEY_HEADER} header",
                headers={"WWW-Authenticate": API_KEY_HEADER},
            )
        user = self.user_of(key)
        if user is None:
            raise HTTPException(
                401, "invalid API key", headers={"WWW-Authenticate": API_KEY_HEADER}
            )
        if requested_user is not None and requested_user != user:
            raise HTTPException(403, f"this API key acts for its own user, not {requested_user!r}")
        return user


def key_from_headers(x_api_key: str | None, authorization: str | None) -> str | None:
    """``X-API-Key: <key>`` or ``Authorization: Bearer <key>``."""
    if x_api_key:
        return x_api_key.strip()
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None
