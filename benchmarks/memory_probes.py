"""RSS probes the benchmarks share: current and peak resident memory of this process, and a reset of the peak.

Linux-specific (/proc); elsewhere the peak falls back to ``getrusage``. Each benchmark variant runs in a fresh
process, so "peak minus the RSS before" is what the variant itself used.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import resource


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def release_freed_memory() -> None:
    """Return freed heap pages to the OS so RSS counts live memory, not the allocator's cache."""
    gc.collect()
    # without glibc, RSS may still hold freed buffers: that only overstates the memory figure
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM (Linux >= 4.0)
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
