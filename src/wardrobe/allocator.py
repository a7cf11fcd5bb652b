"""glibc malloc tunables for PyTorch on the CPU (measured: ``benchmarks/allocator.py``).

glibc returns every freed block above ``M_MMAP_THRESHOLD`` to the kernel and trims the heap, so
each batch's activations are page-faulted in again; PyTorch's CPU tuning guide swaps the
allocator (jemalloc, tcmalloc) for this. These settings do the same with glibc's own tunables:
big blocks come from the heap, freed memory stays mapped for the next batch (the process keeps
its peak resident size, as with those allocators). glibc reads them at process start, so they
go into the environment of the processes ``make run`` starts.
"""

from __future__ import annotations

from collections.abc import Mapping

MiB = 1 << 20
MALLOC_ENV: dict[str, str] = {
    "MALLOC_MMAP_THRESHOLD_": str(32 * MiB),  # blocks below this come from the heap
    "MALLOC_TRIM_THRESHOLD_": str(16 * 1024 * MiB),  # never shrink the heap in practice
    "MALLOC_TOP_PAD_": str(512 * MiB),  # grow it in large steps
}


def with_malloc_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` plus :data:`MALLOC_ENV`; a setting ``env`` already has wins."""
    return {**MALLOC_ENV, **env}
