"""Read an offline W&B run's transaction log (``run-*.wandb``) without network or wandb-core.

The file is a LevelDB-style log: a 7-byte header (``:W&B``, magic, version), then 32 KiB blocks
of records, each with a 7-byte header (crc32, length, type: full/first/middle/last) and a
protobuf ``wandb.proto.wandb_internal_pb2.Record``.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterator
from pathlib import Path

from wandb.proto import wandb_internal_pb2

BLOCK, HEADER = 32768, 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def _payloads(raw: bytes) -> Iterator[bytes]:
    pos, pending = HEADER, b""
    while pos + HEADER <= len(raw):
        if BLOCK - pos % BLOCK < HEADER:  # block tail too short for a header: zero padding
            pos += BLOCK - pos % BLOCK
            continue
        _, length, kind = struct.unpack("<IHB", raw[pos : pos + HEADER])
        data = raw[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind == FULL:
            yield data
        elif kind == FIRST:
            pending = data
        elif kind == MIDDLE:
            pending += data
        elif kind == LAST:
            yield pending + data


def read_run(run_dir: Path, exit_wait_s: float = 15.0) -> dict:
    """``{"config": {...}, "history": [{key: value}], "exited": bool}`` of an offline run.

    wandb-core writes the transaction log from its own process, so the exit record can land a
    moment after ``wandb.finish()`` returns (seen once under CI): wait up to ``exit_wait_s`` for it.
    """
    deadline = time.monotonic() + exit_wait_s
    run = _read_once(run_dir)
    while not run["exited"] and time.monotonic() < deadline:
        time.sleep(0.25)
        run = _read_once(run_dir)
    return run


def _read_once(run_dir: Path) -> dict:
    (log_file,) = run_dir.glob("run-*.wandb")
    raw = log_file.read_bytes()
    assert raw[:4] == b":W&B", f"{log_file} is not a W&B transaction log"
    out: dict = {"config": {}, "history": [], "exited": False}
    for payload in _payloads(raw):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        kind = record.WhichOneof("record_type")
        if kind == "config":
            out["config"].update({i.key: json.loads(i.value_json) for i in record.config.update})
        elif kind == "history":
            out["history"].append(
                {
                    i.key or "/".join(i.nested_key): json.loads(i.value_json)
                    for i in record.history.item
                }
            )
        elif kind == "exit":
            out["exited"] = True
    return out
