"""Pausing Python's cyclic garbage collector around one large, acyclic job.

Parsing and importing a file of 10,000 pairs allocates some 200,000 dicts and
lists, none of them in a reference cycle: reference counting frees them all.
The cyclic collector, counting allocations, would meanwhile run two or more
full collections, each scanning the whole heap of the process, so that the
time per pair grew with the size of the file (measured: 8 µs a pair more at
10,000 pairs than at 1,000, bench/transfer.py). Paused for the job, it runs
as usual right after.

The pause is the process's, not the thread's: other requests served
meanwhile keep freeing by reference counting, and any cycles they leave wait
for the next collection. A count of the jobs under way keeps one job's end
from resuming the collector while another still runs, and a collector that
was off before (a test, an operator's choice) stays off.
"""

import contextlib
import gc
import threading

_lock = threading.Lock()
_state = {"jobs": 0, "resume": False}


@contextlib.contextmanager
def paused():
    with _lock:
        if _state["jobs"] == 0:
            _state["resume"] = gc.isenabled()
            gc.disable()
        _state["jobs"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["jobs"] -= 1
            if _state["jobs"] == 0 and _state["resume"]:
                gc.enable()
