"""The articles' three workloads in Python, written the articles' way.

braid bench --python runs this file (embedded in the braid binary) once per
round of each workload. It reads a JSON spec on stdin:

  {"workload": "cpu-bound" | "io-bound" | "mixed", "url": "http://127.0.0.1:PORT",
   "n": tasks, "fib": N, "primes": N, "parse_rounds": N, "pool": workers,
   "models": [{"name": "threads(2)", "kind": "threads", "size": 2}, ...]}

and runs each model in the order given, printing one JSON line per model:

  {"model": NAME, "wall": s, "cpu": s, "peak_mb": MB,
   "timeline": [[task, io_from, io_to, run_from, run_to], ...]}

(the timeline: a sample of up to 12 tasks, in seconds from the model's
start, 0 where the task did not wait or compute)

then one line {"pool_start": s}: a ProcessPoolExecutor's start-up until
every worker has returned a result. Models:

  sequential  one task after another (requests.Session for the GETs)
  loop        asyncio, one task per job, aiohttp without a connection limit
  loop+sem    the same under asyncio.Semaphore(size)
  threads     concurrent.futures.ThreadPoolExecutor(size), a requests
              Session per thread
  processes   concurrent.futures.ProcessPoolExecutor(size)
  hybrid      asyncio tasks that hand the computation to a
              ProcessPoolExecutor(size) with loop.run_in_executor
"""

import asyncio
import json
import os
import re
import sys
import threading
import time
import zlib
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import aiohttp
import requests

SPEC = {}
_local = threading.local()
WORD = re.compile(rb"[A-Za-z]+")


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def count_primes(n):
    count = 0
    for i in range(2, n):
        d = 2
        while d * d <= i:
            if i % d == 0:
                break
            d += 1
        else:
            count += 1
    return count


now = time.time_ns


def cpu_task(i):
    """Task i of the CPU-bound workload: fib and a prime count, alternately.
    Every task returns its value and when it waited and ran (wall clock ns:
    I/O from, to; computing from, to; 0 for none)."""
    t = now()
    v = fib(SPEC["fib"]) if i % 2 == 0 else count_primes(SPEC["primes"])
    return v, (0, 0, t, now())


def parse(page, rounds):
    """The mixed workload's CPU-heavy parse: words hashed with a salt per pass."""
    total = 0
    for r in range(rounds):
        salt = str(r).encode()
        for w in WORD.findall(page):
            h = zlib.crc32(salt + w.lower())
            total = (total ^ (h * len(w))) & 0xFFFFFFFFFFFFFFFF
            total = ((total << 1) | (total >> 63)) & 0xFFFFFFFFFFFFFFFF
    return total


def session():
    s = getattr(_local, "s", None)
    if s is None:
        s = _local.s = requests.Session()
    return s


def url(i):
    return f"{SPEC['url']}/article/{i}"


def get(i):
    r = session().get(url(i), timeout=60)
    r.raise_for_status()
    return r.content


def io_task(i):
    t = now()
    get(i)
    return 0, (t, now(), 0, 0)


def mixed_task(i):
    t = now()
    page = get(i)
    t1 = now()
    v = parse(page, SPEC["parse_rounds"])
    return v, (t, t1, t1, now())


def parse_page(page):
    t = now()
    v = parse(page, SPEC["parse_rounds"])
    return v, (0, 0, t, now())


def job():
    return {"cpu-bound": cpu_task, "io-bound": io_task, "mixed": mixed_task}[SPEC["workload"]]


def init_worker(spec):
    SPEC.update(spec)


async def fetch(http, i):
    async with http.get(url(i)) as r:
        r.raise_for_status()
        return await r.read()


async def run_loop(size, pool=None):
    """One asyncio task per job; with size, an asyncio.Semaphore(size);
    with pool, the computation goes to the pool by run_in_executor."""
    sem = asyncio.Semaphore(size) if size else None
    workload = SPEC["workload"]
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

        async def one(i):
            if workload == "cpu-bound":
                if pool is not None:
                    return await loop.run_in_executor(pool, cpu_task, i)
                return cpu_task(i)
            if sem is not None:
                async with sem:
                    t = now()
                    page = await fetch(http, i)
            else:
                t = now()
                page = await fetch(http, i)
            io = (t, now())
            if workload == "io-bound":
                return 0, io + (0, 0)
            if pool is not None:
                v, span = await loop.run_in_executor(pool, parse_page, page)
            else:
                v, span = parse_page(page)
            return v, io + span[2:]

        return await asyncio.gather(*(one(i) for i in range(SPEC["n"])))


def hwm_mb(pid="self"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def workers_mb(ex):
    return sum(hwm_mb(p) for p in list(getattr(ex, "_processes", {}) or {}))


def new_pool(size):
    return ProcessPoolExecutor(size, initializer=init_worker, initargs=(dict(SPEC),))


def run_model(kind, size):
    n = SPEC["n"]
    fn = job()
    extra = 0.0
    if kind == "sequential":
        out = [fn(i) for i in range(n)]
    elif kind in ("loop", "loop+sem"):
        out = asyncio.run(run_loop(size if kind == "loop+sem" else 0))
    elif kind == "threads":
        with ThreadPoolExecutor(size) as ex:
            out = list(ex.map(fn, range(n)))
    elif kind == "processes":
        ex = new_pool(size)
        out = list(ex.map(fn, range(n)))
        extra = workers_mb(ex)
        ex.shutdown(wait=True)
    elif kind == "hybrid":
        ex = new_pool(size)
        sem = SPEC.get("sem", 0) if SPEC["workload"] != "cpu-bound" else 0
        out = asyncio.run(run_loop(sem, pool=ex))
        extra = workers_mb(ex)
        ex.shutdown(wait=True)
    else:
        raise SystemExit(f"unknown model kind {kind!r}")
    out = list(out)
    return [v for v, _ in out], [span for _, span in out], extra


def cpu_seconds():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def pool_start(size):
    t0 = time.perf_counter()
    with ProcessPoolExecutor(size) as ex:
        list(ex.map(abs, range(size)))
    return time.perf_counter() - t0


def main():
    SPEC.update(json.load(sys.stdin))
    reference = None
    for m in SPEC["models"]:
        reset_hwm()
        c0 = cpu_seconds()
        start = now()
        t0 = time.perf_counter()
        out, spans, workers = run_model(m["kind"], m.get("size", 0))
        wall = time.perf_counter() - t0
        cpu = cpu_seconds() - c0
        if reference is None:
            reference = out
        elif out != reference:
            raise SystemExit(f"{m['name']}: results differ from the first model's")
        step = max(1, -(-len(spans) // 12))
        sample = [[i] + [(x - start) / 1e9 if x else 0 for x in spans[i]] for i in range(0, len(spans), step)]
        print(json.dumps({"model": m["name"], "wall": wall, "cpu": cpu,
                          "peak_mb": hwm_mb() + workers, "timeline": sample}), flush=True)
    print(json.dumps({"pool_start": pool_start(SPEC["pool"])}), flush=True)


if __name__ == "__main__":
    main()
