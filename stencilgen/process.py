"""Process-wide settings a command applies once at its start (the library itself changes nothing)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
MADV_HUGEPAGE = 14
MMAP_THRESHOLD = 1 << 30  # blocks this large or larger are still mapped apart (and unmapped when freed)
HUGE_PAGE = 1 << 21
#: address space (not memory) at the heap's top given 2 MB pages: a 1,000,000-contact plan fits
HEAP_RESERVE = MMAP_THRESHOLD - 4 * HUGE_PAGE
THP_SETTING = "/sys/kernel/mm/transparent_hugepage/enabled"

_tuned: bool | None = None


def single_threaded_blas() -> bool:
    """Ask OpenBLAS (numpy's BLAS) for one thread, unless the user has said otherwise; True if it
    will apply (numpy not yet imported). Its worker threads spin for a while after numpy is imported
    and after each call, keeping a core busy that the kernels' second threads want; stencilgen's
    linear algebra is a few 2 x 2 solves, which one thread does as fast."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    return "numpy" not in sys.modules


def tune_memory() -> bool:
    """Let glibc keep freed memory for reuse, and give the heap 2 MB pages. True if applied (once a
    process; later calls say what the first did).

    By default glibc maps every large block (a numpy array of a few hundred thousand values) afresh
    and unmaps it when freed, so each array pass over a large layout first faults in its pages: at
    100,000 contacts that is about a third of the time of reading and row finding. With two settings
    an array freed by one step is reused by the next. A third keeps the kernels' worker threads in
    the same memory (one arena), rather than each faulting in an arena of its own. The process's
    peak memory is the same; only its memory is handed back at exit rather than along the way.

    The memory a step needs for the first time still faults in a page at a time, 4 kB each: about
    a third of reading a 100,000-contact layout. Where the kernel gives transparent huge pages on
    request (`madvise`), the heap's top is grown by `HEAP_RESERVE` of address space, marked for
    2 MB pages and handed back to malloc at once (kept, as above). Nothing of it is memory until
    used; the arrays later carved from it fault in 2 MB at a time."""
    global _tuned
    if _tuned is not None:
        return _tuned
    _tuned = False
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        kept = bool(
            libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            and libc.mallopt(M_TRIM_THRESHOLD, 1 << 31)
            and libc.mallopt(M_ARENA_MAX, 1)
        )
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    if kept and _huge_pages_on_request():
        _huge_heap(libc)
    _tuned = kept
    return kept


def _huge_pages_on_request() -> bool:
    """Whether the kernel gives transparent huge pages where asked (its setting is `madvise`; with
    `always` it gives them unasked, with `never` not at all)."""
    try:
        with open(THP_SETTING) as fh:
            return "[madvise]" in fh.read()
    except OSError:
        return False


def _huge_heap(libc: ctypes.CDLL) -> None:
    """Grow the heap by HEAP_RESERVE, mark the whole 2 MB pages of it MADV_HUGEPAGE, free it."""
    malloc, madvise, free = libc.malloc, libc.madvise, libc.free
    malloc.restype, malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    madvise.restype, madvise.argtypes = ctypes.c_int, [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    free.restype, free.argtypes = None, [ctypes.c_void_p]
    at = malloc(HEAP_RESERVE)
    if not at:  # (no such address space: the heap stays as it was)
        return
    start = (at + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1)
    madvise(start, (at + HEAP_RESERVE - start) & ~(HUGE_PAGE - 1), MADV_HUGEPAGE)
    free(at)
