"""Python peers of braid bench's micro workloads (shipped inside braid).

  peers.py aiohttp --base URL --n N --conc C     N GETs under asyncio.Semaphore(C), aiohttp
                                                 (on uvloop when it is installed)
  peers.py requests --base URL --n N --workers W N GETs, ThreadPoolExecutor(W), a Session per thread
  peers.py pool startup    --impl cf|mp          a new pool of 2 to its first result
  peers.py pool throughput --impl cf|mp --how submit|map1|map100 --n N
  peers.py pool latency    --impl cf|mp          one trivial task's round trip, warm pool
  peers.py pool bigarg     --impl cf|mp --reps R 10 MB of bytes in and back
  peers.py pool fib        --fib N               8 x fib(N): sequential vs a warm ProcessPoolExecutor

Each prints one line "RESULT key=value ...". cf is
concurrent.futures.ProcessPoolExecutor, mp is multiprocessing.Pool.
"""

import argparse
import asyncio
import multiprocessing
import os
import statistics
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

WORKERS = 2


def result(**kv):
    print("RESULT " + " ".join(f"{k}={v}" for k, v in kv.items()), flush=True)


def loopback(base):
    if not base.startswith("http://127.0.0.1:"):
        raise SystemExit("peers.py: --base must be a loopback URL")
    return base


def run_aiohttp(a):
    import aiohttp

    loop_name = "asyncio"
    try:
        import uvloop

        uvloop.install()
        loop_name = "uvloop"
    except ImportError:
        pass

    async def main():
        sem = asyncio.Semaphore(a.conc)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:

            async def get(i):
                async with sem:
                    async with s.get(f"{a.base}/article/{i}") as r:
                        await r.read()
                        return r.status == 200

            t0 = time.perf_counter()
            ok = await asyncio.gather(*(get(i) for i in range(a.n)))
            return time.perf_counter() - t0, sum(ok)

    secs, ok = asyncio.run(main())
    if ok != a.n:
        raise SystemExit(f"peers.py aiohttp: {a.n - ok} GETs failed")
    result(n=a.n, conc=a.conc, loop=loop_name, secs=f"{secs:.4f}")


def run_requests(a):
    import requests

    local = threading.local()

    def get(i):
        s = getattr(local, "s", None)
        if s is None:
            s = local.s = requests.Session()
        r = s.get(f"{a.base}/article/{i}", timeout=60)
        return r.status_code == 200

    t0 = time.perf_counter()
    with ThreadPoolExecutor(a.workers) as ex:
        ok = sum(ex.map(get, range(a.n)))
    secs = time.perf_counter() - t0
    if ok != a.n:
        raise SystemExit(f"peers.py requests: {a.n - ok} GETs failed")
    result(n=a.n, workers=a.workers, secs=f"{secs:.4f}")


def inc(x):
    return x + 1


def same(b):
    return b


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


class Pool:
    """One interface over ProcessPoolExecutor (cf) and multiprocessing.Pool (mp)."""

    def __init__(self, impl):
        self.impl = impl
        self.p = ProcessPoolExecutor(WORKERS) if impl == "cf" else multiprocessing.Pool(WORKERS)

    def call(self, fn, arg):
        if self.impl == "cf":
            return self.p.submit(fn, arg).result()
        return self.p.apply(fn, (arg,))

    def submit_all(self, fn, args):
        if self.impl == "cf":
            return [f.result() for f in [self.p.submit(fn, x) for x in args]]
        return [r.get() for r in [self.p.apply_async(fn, (x,)) for x in args]]

    def map(self, fn, args, chunk):
        if self.impl == "cf":
            return list(self.p.map(fn, args, chunksize=chunk))
        return self.p.map(fn, args, chunksize=chunk)

    def warm(self):
        self.map(inc, range(4 * WORKERS), 1)

    def close(self):
        if self.impl == "cf":
            self.p.shutdown(wait=True)
        else:
            self.p.close()
            self.p.join()


def quantile(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * (len(v) - 1)))]


def run_pool(a):
    if a.test == "startup":
        t0 = time.perf_counter()
        p = Pool(a.impl)
        assert p.call(inc, 1) == 2
        first = time.perf_counter() - t0
        p.close()
        result(impl=a.impl, first_result_ms=f"{first * 1e3:.2f}")
    elif a.test == "throughput":
        p = Pool(a.impl)
        p.warm()
        t0 = time.perf_counter()
        if a.how == "submit":
            out = p.submit_all(inc, range(a.n))
        else:
            out = p.map(inc, range(a.n), 1 if a.how == "map1" else 100)
        secs = time.perf_counter() - t0
        p.close()
        assert out == [i + 1 for i in range(a.n)]
        result(impl=a.impl, how=a.how, n=a.n, secs=f"{secs:.4f}", tasks_per_s=f"{a.n / secs:.0f}")
    elif a.test == "latency":
        p = Pool(a.impl)
        p.warm()
        lat = []
        for i in range(100 + a.n):
            t0 = time.perf_counter()
            p.call(inc, i)
            if i >= 100:
                lat.append(time.perf_counter() - t0)
        p.close()
        result(impl=a.impl, p50_us=f"{quantile(lat, 0.5) * 1e6:.1f}", p99_us=f"{quantile(lat, 0.99) * 1e6:.1f}")
    elif a.test == "bigarg":
        payload = os.urandom(10 << 20)
        p = Pool(a.impl)
        p.warm()
        p.call(same, payload)
        ts = []
        for _ in range(a.reps):
            t0 = time.perf_counter()
            back = p.call(same, payload)
            ts.append(time.perf_counter() - t0)
            assert back == payload
        p.close()
        result(impl=a.impl, roundtrip_ms=f"{statistics.median(ts) * 1e3:.2f}")
    elif a.test == "fib":
        t0 = time.perf_counter()
        want = [fib(a.fib) for _ in range(8)]
        seq = time.perf_counter() - t0
        p = Pool("cf")
        p.warm()
        t0 = time.perf_counter()
        got = p.map(fib, [a.fib] * 8, 1)
        warm = time.perf_counter() - t0
        p.close()
        assert got == want
        result(fib=a.fib, seq_s=f"{seq:.4f}", procpool_warm_s=f"{warm:.4f}",
               speedup_proc_warm=f"{seq / warm:.2f}", one_fib_ms=f"{seq / 8 * 1e3:.1f}")


def main():
    ap = argparse.ArgumentParser(prog="peers.py")
    sub = ap.add_subparsers(dest="peer", required=True)
    p = sub.add_parser("aiohttp")
    p.add_argument("--base", type=loopback, required=True)
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--conc", type=int, default=200)
    p = sub.add_parser("requests")
    p.add_argument("--base", type=loopback, required=True)
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--workers", type=int, default=20)
    p = sub.add_parser("pool")
    p.add_argument("test", choices=["startup", "throughput", "latency", "bigarg", "fib"])
    p.add_argument("--impl", choices=["cf", "mp"], default="cf")
    p.add_argument("--how", choices=["submit", "map1", "map100"], default="submit")
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--fib", type=int, default=27)
    a = ap.parse_args()
    if a.peer == "pool" and a.test == "latency" and a.n == 20000:
        a.n = 2000
    {"aiohttp": run_aiohttp, "requests": run_requests, "pool": run_pool}[a.peer](a)


if __name__ == "__main__":
    main()
