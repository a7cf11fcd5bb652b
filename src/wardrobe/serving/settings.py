"""What the HTTP processes need from ``conf/serve.yaml`` (the worker reads the rest)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wardrobe.ingestion.decode import DEFAULT_MAX_BYTES
from wardrobe.serving.auth import ApiKeys, load_api_keys


@dataclass(frozen=True)
class ApiSettings:
    """Upload limit, API keys and how long a route waits for the worker."""

    max_upload_bytes: int = DEFAULT_MAX_BYTES
    api_keys: ApiKeys = field(default_factory=ApiKeys)
    request_timeout: float | None = 120.0  # seconds for one answer from the worker

    @property
    def max_body_bytes(self) -> int:
        # a base64 photo is 4/3 of its bytes, plus the JSON or multipart around it
        return self.max_upload_bytes * 4 // 3 + 64 * 1024

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> ApiSettings:
        timeout = cfg.get("timeout")
        return cls(
            max_upload_bytes=int(cfg["max_upload_bytes"]),
            api_keys=load_api_keys(cfg.get("auth")),
            # queue wait (LitServe's timeout) + the work itself
            request_timeout=None if timeout in (None, False, -1) else 2 * float(timeout) + 30,
        )
