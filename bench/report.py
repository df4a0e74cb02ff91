"""The printed table and `bench/results/latest.json`."""

import datetime
import json
import os
import platform
import subprocess
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine(pg_version=None, redis_version=None):
    cpu = platform.processor() or ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = None
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgresql": pg_version,
        "redis": redis_version,
        "load_average_at_start": os.getloadavg(),
        "git_commit": commit,
    }


def _size(size):
    return "" if size is None else f"{size:,}"


def latency_table(results):
    head = (
        f"{'workload':<40}{'size':>7}{'n':>5}{'median':>9}{'p95':>9}"
        f"{'SQL':>5}{'SQL':>7}{'Mongo':>6}{'Mongo':>8}{'Mongo':>8}{'mock':>9}"
    )
    units = f"{'':<40}{'':>7}{'':>5}{'ms':>9}{'ms':>9}{'/req':>5}{'ms':>7}{'/req':>6}{'ms':>8}{'KB/req':>8}{'KB/req':>9}"
    lines = [head, units, "-" * len(head)]
    for r in results:
        c = r.counts
        lines.append(
            f"{r.workload:<40.40}{_size(r.size):>7}{len(r.samples):>5}{r.median_ms:>9.2f}{r.p95_ms:>9.2f}"
            f"{c['sql']:>5}{r.sql_ms:>7.2f}{c['mongo']:>6}{r.store_ms:>8.2f}{c['mongo_kb']:>8.0f}{c['mock_kb']:>9.0f}"
        )
    lines += [
        "",
        "size: pairs in the chat (list-chats: the user's chats). SQL and Mongo /req: statements (BEGIN/COMMIT",
        "included) and content-repository calls of one request; ms columns: median time inside them. Mongo KB:",
        "BSON moved between the application and the store (what a MongoDB server would send and receive);",
        "mock KB: what mongomock copied to answer (it ignores indexes: a server would read about Mongo KB).",
    ]
    return "\n".join(lines)


def ratio_table(ratios):
    lines = [f"{'goal (ratio)':<62}{'value':>8}{'target':>9}  mark", "-" * 85]
    for r in ratios:
        mark = "pass" if r["pass"] else "MISS"
        lines.append(f"{r['name']:<62.62}{r['value']:>8.3f}{'≤ ' + format(r['target'], 'g'):>9}  {mark}")
    return "\n".join(lines)


def calls_table(checks):
    lines = [f"{'calls per request, smallest → largest size':<52}{'SQL':>10}{'Mongo':>10}{'Mongo KB':>14}  mark", "-" * 94]
    for c in checks:
        mark = "pass" if c["pass"] else "MISS"
        lines.append(
            f"{c['workload']:<52.52}{c['sql'][0]:>5} → {c['sql'][1]:<2}{c['mongo'][0]:>5} → {c['mongo'][1]:<2}"
            f"{c['kb'][0]:>7.0f} → {c['kb'][1]:<5.0f}  {mark}"
        )
    return "\n".join(lines)


FLOOR = "constant JSON (DRF + JWT)"


def floor_table(results, sizes=(10, 100, 1_000)):
    """Each route's cost over the floor (the constant-JSON view: middleware,
    JWT, throttle, rendering), split into the time inside PostgreSQL and the
    content store and the rest: the route's own Python (parsing, checks,
    building and rendering the representation)."""
    floors = [r.median_ms for r in results if r.workload == FLOOR]
    if not floors:
        return "cost over the floor: no constant-JSON baseline in this run"
    floor = min(floors)
    lines = [
        f"cost over the floor ({FLOOR}, {floor:.2f} ms), median ms",
        f"{'workload':<40}{'size':>7}{'median':>9}{'over':>8}{'SQL':>8}{'store':>8}{'rest':>8}",
        "-" * 88,
    ]
    for r in results:
        if r.size not in sizes or r.workload.startswith(("raw ", "constant", "list-chats")):
            continue
        over = r.median_ms - floor
        lines.append(
            f"{r.workload:<40.40}{_size(r.size):>7}{r.median_ms:>9.2f}{over:>8.2f}{r.sql_ms:>8.2f}{r.store_ms:>8.2f}"
            f"{over - r.sql_ms - r.store_ms:>8.2f}"
        )
    lines.append("store: inside content-repository calls (mongomock here); rest: the route's own Python, the cache included.")
    return "\n".join(lines)


def throughput_table(runs, config):
    lines = [
        f"HTTP throughput on 127.0.0.1: gunicorn, 1 worker x {config['server_threads']} threads; "
        f"{config['client_threads']} client threads; {config['requests']:,} requests per workload",
        f"{'workload':<34}{'req/s':>9}{'median ms':>11}{'p95 ms':>9}{'vs constant JSON':>18}",
        "-" * 81,
    ]
    for run in runs:
        lines.append(
            f"{run['workload']:<34}{run['rps']:>9.0f}{run['median_ms']:>11.2f}{run['p95_ms']:>9.2f}{run['vs_constant']:>18.3f}"
        )
    return "\n".join(lines)


def write_json(payload, path=None):
    path = Path(path or RESULTS / "latest.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"finished_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"), **payload}
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path
