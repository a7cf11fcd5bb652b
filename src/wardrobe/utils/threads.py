"""Torch's thread pool around small per-image work.

A per-image transform is a handful of small tensor ops; through torch's intra-op thread pool
each costs a synchronisation that outweighs the work, worst while another job holds a core
(this 2-core CPU: 240 real photos encoded in 18.8 s with the loading on 2 threads, 6.0 s on
one, while a test run held the other core). :func:`loaded_on_one_thread` loads a main-process
``DataLoader``'s batches on one thread and gives the network its threads back for each batch.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from typing import TypeVar

import torch

T = TypeVar("T")


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity; ``os.cpu_count()`` elsewhere)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """``threads`` torch intra-op threads inside the block (None: unchanged), the previous count
    after it."""
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def loaded_on_one_thread(batches: Iterable[T]) -> Iterator[T]:
    """The items of ``batches`` (e.g. a ``num_workers=0`` DataLoader), each produced with one
    torch thread; the caller's work on each runs with the threads it had."""
    iterator = iter(batches)
    while True:
        with torch_threads(1):
            batch = next(iterator, _END)
        if batch is _END:
            return
        yield batch


_END = object()
