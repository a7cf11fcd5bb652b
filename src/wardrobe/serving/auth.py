"""Who is calling: optional API keys that map to users (``auth.api_keys`` in ``conf/serve.yaml``).

Without keys the service trusts the ``user_id`` of each request (a development setup, or a
gateway in front that authenticates). With keys, the key's user *is* the caller: a missing or
wrong key is a 401, and a request that names another ``user_id`` is a 403, so one user can
never read, recommend from or delete another user's garments.

Protected by default (as Redis' protected mode): a server on a non-loopback host without keys
refuses to start (:func:`check_exposure`) unless ``auth.allow_anonymous=true`` says so on
purpose. Keys come from ``auth.api_keys``, a file (``auth.api_keys_file``) or the environment
variable ``WARDROBE_API_KEYS``, so they need not be on the command line where ``ps`` shows them.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from fastapi import HTTPException

from wardrobe.store.schema import check_id

log = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"
API_KEYS_ENV = "WARDROBE_API_KEYS"


class ExposureError(ValueError):
    """A server reachable from the network that would let anyone act for any user."""


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


def _parse_keys(text: str, source: str) -> dict[str, str]:
    """``{key: user}`` from YAML/JSON text (``key: user`` lines or ``{key: user, ...}``)."""
    try:
        keys = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ValueError(f"{source}: not a YAML/JSON mapping of key -> user ({err})") from None
    if keys is None:
        return {}
    if not isinstance(keys, Mapping):
        raise ValueError(f"{source}: expected a mapping of key -> user, got {type(keys).__name__}")
    return {str(k): str(v) for k, v in keys.items()}


def load_api_keys(auth: Mapping[str, Any] | None, env: Mapping[str, str] | None = None) -> ApiKeys:
    """The keys of ``auth.api_keys``, ``auth.api_keys_file`` and ``$WARDROBE_API_KEYS`` together
    (a key given twice for two users is refused)."""
    auth = auth or {}
    env = os.environ if env is None else env
    sources: list[tuple[str, dict[str, str]]] = [
        ("auth.api_keys", {str(k): str(v) for k, v in dict(auth.get("api_keys") or {}).items()})
    ]
    if auth.get("api_keys_file"):
        path = Path(str(auth["api_keys_file"])).expanduser()
        try:
            text = path.read_text()
        except OSError as err:
            raise ValueError(f"auth.api_keys_file: cannot read {path}: {err}") from None
        sources.append((f"auth.api_keys_file {path}", _parse_keys(text, str(path))))
    if env.get(API_KEYS_ENV):
        sources.append((API_KEYS_ENV, _parse_keys(env[API_KEYS_ENV], API_KEYS_ENV)))
    merged: dict[str, str] = {}
    for source, keys in sources:
        for key, user in keys.items():
            if merged.get(key, user) != user:
                raise ValueError(f"{source}: a key is given for two users ({merged[key]}, {user})")
            merged[key] = user
    return ApiKeys(merged)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name or 0.0.0.0: assume the network can reach it


def check_exposure(host: str, keys: ApiKeys, allow_anonymous: bool = False) -> None:
    """Refuse (``ExposureError``) to serve ``host`` from the network without API keys, unless
    ``allow_anonymous``; then log a warning, since anyone may act for any user."""
    if keys.enabled or is_loopback(host):
        return
    if allow_anonymous:
        log.warning(
            "serving on %s WITHOUT API keys (auth.allow_anonymous=true): anyone who can reach "
            "this port can read and delete any user's wardrobe by naming its user_id",
            host,
        )
        return
    raise ExposureError(
        f"refusing to serve on host={host} without API keys: anyone on the network could read "
        "and delete every user's wardrobe. Either configure keys (auth.api_keys_file=keys.yaml "
        f"with 'key: user' lines, the {API_KEYS_ENV} environment variable, or auth.api_keys), "
        "or set auth.allow_anonymous=true on purpose (e.g. behind a gateway that authenticates)"
    )
