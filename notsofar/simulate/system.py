"""Operating-system knobs for writing terabytes of shards: each one Linux-only and silently off
where the call is missing or refused, and none of them changes a byte of the output.

Measured on the 2-core ext4 VM of BENCHMARKS.md ("Simulation"), per 10 s example (18 MB of
shard): a buffered ``write`` into delayed-allocation blocks cost 15-40 ms of kernel CPU, into
blocks reserved with ``fallocate`` ~3 ms plus the kernel's copy into the page cache (~7 ms when
the data is cold) and background writeback; the same bytes written with ``O_DIRECT`` cost
under 1 ms. The page cache would also fill with finished shards (6.6 TB for 1000 h) that
nobody reads again, whose reclaim lands on the workers. And a fresh ~30 MB numpy temporary per
example (the inverse FFT's output) was served by fresh zeroed huge pages: ~10 % of all CPU.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import sys

_LINUX = sys.platform.startswith("linux")

#: glibc ``mallopt`` parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: The largest mmap threshold glibc accepts on 64-bit (``DEFAULT_MMAP_THRESHOLD_MAX``).
MMAP_THRESHOLD = 32 << 20
#: Free memory kept at the top of the heap instead of being returned to the kernel.
TRIM_THRESHOLD = 512 << 20

_tuned = False


def keep_freed_memory() -> bool:
    """Have glibc serve blocks up to 32 MB from the heap and keep freed ones (once per process).

    glibc returns large freed blocks to the kernel (``munmap``, or trimming the heap), so the
    next example's temporaries of the same size come back as fresh pages that the kernel must
    zero (numpy asks for huge pages for arrays over 4 MB: 2 MB zeroed per fault). A worker makes
    the same arrays example after example: with these settings it reuses the same memory, and
    its resident size stays at its peak (a few hundred MB) instead of dipping between examples.
    Returns whether the settings were applied (False off glibc).
    """
    global _tuned
    if _tuned:
        return True
    if not _LINUX:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _tuned = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return _tuned


class Reserver:
    """Allocates a file's blocks before they are written (Linux ``fallocate(2)``, size kept).

    Measured on ext4: writing a 7 MB column into freshly allocated blocks costs 0.15 ms of CPU
    per MB, into delayed-allocation blocks 0.7-1.5 ms per MB. Where the call is missing or
    unsupported (other systems, some network file systems) it turns itself off: it never
    emulates with writes as ``posix_fallocate`` does. A full disk raises ``OSError(ENOSPC)``
    here, before the write.
    """

    _fallocate = None

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.on = _LINUX and self._function() is not None

    @classmethod
    def _function(cls):  # noqa: ANN206 (a ctypes function)
        if cls._fallocate is None:
            try:
                fn = ctypes.CDLL(None, use_errno=True).fallocate
            except (OSError, AttributeError):
                cls._fallocate = False
                return None
            fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
            fn.restype = ctypes.c_int
            cls._fallocate = fn
        return cls._fallocate or None

    def __call__(self, offset: int, length: int) -> None:
        if not self.on or length <= 0:
            return
        if self._function()(self.fd, 1, offset, length) != 0:  # 1: FALLOC_FL_KEEP_SIZE
            err = ctypes.get_errno()
            if err == errno.ENOSPC:
                raise OSError(err, os.strerror(err))
            self.on = False  # unsupported here (EOPNOTSUPP, ENOSYS, ...): plain writes


#: Alignment of the writer's staging buffers in memory (a page: any device's direct-I/O needs).
PAGE = 4096
#: Alignment of direct-I/O buffers, offsets and lengths the writer guarantees: tar's block.
DIRECT_ALIGN = 512


class DirectFile:
    """An output file written past the page cache (``O_DIRECT``) where the system allows it.

    Every :meth:`write` must be a multiple of :data:`DIRECT_ALIGN` bytes from memory aligned to
    it (tar members are, from :class:`~notsofar.simulate.css_format` 's page-aligned staging
    buffer). Where direct I/O is refused (no ``O_DIRECT``; a file system or device wanting
    larger alignment: ``EINVAL``) the file falls back to ordinary writes. Those are left to the
    kernel's writeback: dropping each written range from the page cache as it went
    (``POSIX_FADV_DONTNEED``) was measured to cost the writer 1-2 ms more kernel CPU per 18 MB
    example, not less, and clean cached pages are the cheapest memory for the kernel to reclaim.

    Attributes:
        direct: whether writes currently bypass the page cache.
    """

    #: Class switch for tests and comparisons: False writes through the page cache.
    enabled = True

    def __init__(self, path: str | os.PathLike) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
        direct = getattr(os, "O_DIRECT", 0) if self.enabled else 0
        self.fd = -1
        if direct:
            with contextlib.suppress(OSError):  # EINVAL: the file system has no direct I/O
                self.fd = os.open(path, flags | direct, 0o666)
        self.direct = self.fd >= 0
        if not self.direct:
            self.fd = os.open(path, flags, 0o666)
        self.offset = 0
        self.reserve = Reserver(self.fd)

    def write(self, data: memoryview) -> None:
        """Write all of ``data`` at the end of the file (blocks reserved first)."""
        n = len(data)
        self.reserve(self.offset, n)
        done = 0
        while done < n:
            try:
                done += os.write(self.fd, data[done:])
            except OSError as e:
                if not (self.direct and e.errno == errno.EINVAL):
                    raise
                self._buffered()  # refused here after all: the same bytes, buffered
        self.offset += n

    def _buffered(self) -> None:
        import fcntl

        fl = fcntl.fcntl(self.fd, fcntl.F_GETFL)
        fcntl.fcntl(self.fd, fcntl.F_SETFL, fl & ~os.O_DIRECT)
        self.direct = False  # a refused write moved nothing: the loop retries from `done`

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
