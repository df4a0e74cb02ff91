"""Timing a set of cases side by side.

The cases of one sweep (typically one workload at every chat length) are run
round-robin, one sample of each per round in a shuffled order, so that whatever changes during the
sweep (the content collection grows with every append, the machine's load
drifts) weighs on every case alike. Each sample is one request, timed with
`time.perf_counter`; the case's `prepare` (invalidating a cache, resetting the
throttle history) runs before the clock starts. After the timed rounds, a
short counting pass repeats each case with the counting probes on.
"""

import cProfile
import dataclasses
import pstats
import random
import statistics
import time
from collections.abc import Callable

from .probes import CLOCK, counting_probes


@dataclasses.dataclass
class Case:
    workload: str
    size: int | None
    call: Callable  # one request (or one raw store call); returns a response or None
    prepare: Callable | None = None
    expect: int | None = 200
    note: str = ""
    # The request the counting pass makes (default: `call`), and whether this
    # case enters the "calls do not grow with size" check.
    count_call: Callable | None = None
    compare_calls: bool = True


@dataclasses.dataclass
class Result:
    workload: str
    size: int | None
    samples: list
    store: list
    sql: list
    counts: dict
    note: str = ""
    compare_calls: bool = True

    @property
    def median_ms(self):
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self):
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000

    @property
    def store_ms(self):
        return statistics.median(self.store) * 1000

    @property
    def sql_ms(self):
        return statistics.median(self.sql) * 1000

    def as_dict(self):
        return {
            "workload": self.workload,
            "size": self.size,
            "n": len(self.samples),
            "median_ms": self.median_ms,
            "p95_ms": self.p95_ms,
            "mean_ms": statistics.fmean(self.samples) * 1000,
            "min_ms": min(self.samples) * 1000,
            "store_median_ms": self.store_ms,
            "sql_median_ms": self.sql_ms,
            "note": self.note,
            "compare_calls": self.compare_calls,
            **{k: v for k, v in self.counts.items() if k != "sql_text"},
            "sql_text": self.counts.get("sql_text", []),
        }


def _run(case):
    if case.prepare:
        case.prepare()
    CLOCK.reset()
    started = time.perf_counter()
    response = case.call()
    elapsed = time.perf_counter() - started
    if case.expect is not None and response.status_code != case.expect:
        body = getattr(response, "content", b"")[:600]
        raise RuntimeError(f"{case.workload} ({case.size}): HTTP {response.status_code}, expected {case.expect}: {body!r}")
    return elapsed, CLOCK.store, CLOCK.sql


def sweep(cases, *, budget, min_samples, max_samples, warmup=3, counted=3, profile_path=None):
    """Round-robin samples of `cases` for about `budget` seconds (at least
    `min_samples`, at most `max_samples` each), then the counting pass.
    With `profile_path`, the timed rounds run under cProfile (slower: use the
    figures of such a run for where the time goes, not for the table)."""
    for _ in range(warmup):
        for case in cases:
            _run(case)
    samples = {id(c): ([], [], []) for c in cases}
    profiler = cProfile.Profile() if profile_path else None
    deadline = time.perf_counter() + budget
    rounds = 0
    if profiler:
        profiler.enable()
    order = list(cases)
    shuffle = random.Random(0).shuffle
    while rounds < max_samples and (rounds < min_samples or time.perf_counter() < deadline):
        # A new order each round: a case never always follows the same (maybe heavy) one.
        shuffle(order)
        for case in order:
            for bucket, value in zip(samples[id(case)], _run(case), strict=True):
                bucket.append(value)
        rounds += 1
    if profiler:
        profiler.disable()
        with open(profile_path, "w") as out:
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(60)
            stats.sort_stats("tottime").print_stats(40)

    results = []
    for case in cases:
        runs = []
        for _ in range(counted):
            if case.prepare:
                case.prepare()
            with counting_probes() as counts:
                (case.count_call or case.call)()
            runs.append(counts)
        # The median run by SQL count, so every count comes from one real request.
        runs.sort(key=lambda r: (r["sql"], r["mongo"], r["mongo_kb"]))
        chosen = runs[len(runs) // 2]
        times, store, sql = samples[id(case)]
        results.append(Result(case.workload, case.size, times, store, sql, chosen, case.note, case.compare_calls))
    return results
