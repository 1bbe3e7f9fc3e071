#!/usr/bin/env python3
"""Stops one thread of a running process for a while, then lets it go on
(issue 15's worker stall; SIGSTOP would stop every thread of the process).

  stall_thread.py PID THREAD_NAME SECONDS [METRICS_URL]

Finds the thread whose /proc/PID/task/*/comm is THREAD_NAME, stops it with
ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT: only that thread stops), waits
SECONDS, and detaches. With METRICS_URL it scrapes ntsd's metrics right
after the stop and right before the release and prints, per worker, how
many packets it sent in between, and how much stalled time ntsd counted for
it from just before the stop to 50 ms after the release:
"worker=N tx_during_stall=K stalled_s=S".
"""
import ctypes
import os
import re
import sys
import time
import urllib.request

PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
WALL = 0x40000000


def by_worker(url, name):
    text = urllib.request.urlopen(url, timeout=2).read().decode()
    return {m.group(1): float(m.group(2)) for m in re.finditer(r'^%s\{worker="(\d+)"\} (\S+)$' % name, text, re.M)}


def tx_by_worker(url):
    return by_worker(url, "ntsd_tx_packets_total")


def main():
    pid, name, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    url = sys.argv[4] if len(sys.argv) > 4 else None
    tids = [int(t) for t in os.listdir("/proc/%d/task" % pid)
            if open("/proc/%d/task/%s/comm" % (pid, t)).read().strip() == name]
    if len(tids) != 1:
        sys.exit("stall_thread: %d threads named %s in %d" % (len(tids), name, pid))
    tid = tids[0]
    libc = ctypes.CDLL(None, use_errno=True)
    stalled0 = by_worker(url, "ntsd_worker_stalled_seconds_total") if url else {}
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    if libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0 or libc.ptrace(PTRACE_INTERRUPT, tid, None, None) != 0:
        sys.exit("stall_thread: ptrace: %s" % os.strerror(ctypes.get_errno()))
    os.waitpid(tid, WALL)  # the thread has stopped
    t0 = time.monotonic()
    # Both scrapes while the thread is stopped: what the others sent meanwhile.
    before = tx_by_worker(url) if url else {}
    time.sleep(max(0.0, secs - (time.monotonic() - t0)))
    after = tx_by_worker(url) if url else {}
    libc.ptrace(PTRACE_DETACH, tid, None, None)
    print("stopped thread %s (tid %d) for %.3f s" % (name, tid, time.monotonic() - t0))
    if not url:
        return
    time.sleep(0.05)  # the stalled loop iteration ends, and is counted, after the release
    stalled1 = by_worker(url, "ntsd_worker_stalled_seconds_total")
    for w in sorted(after):
        print("worker=%s tx_during_stall=%d stalled_s=%.3f" % (w, after[w] - before.get(w, 0),
                                                              stalled1.get(w, 0) - stalled0.get(w, 0)))


if __name__ == "__main__":
    main()
