"""Load and latency of ``recsys serve``: throughput, p50/p99 latency and errors over loopback.

Scenarios, each against a real ``python -m recsys serve MODEL_DIR`` subprocess:

* **ml-100k**: ALS (``rs.ALS`` defaults) fitted on MovieLens 100K (``../shared/data/ml-100k``).
* **catalog**: a synthetic catalog of ``--catalog-items`` items (1M by default) under an ALS
  model ranked through its HNSW index (``index="hnsw"``). The graph is built here, when the
  two models are fitted, and saved with them: the server and every reload read it from disk.

When ALS is not available (it is built concurrently), the ml-100k row falls back to ItemKNN
and the catalog scenario is skipped; the table says so.

Each scenario measures ``POST /recommend {"user": <random known user>, "k": 10}`` from 1, 8
and 64 concurrent clients for ``--duration`` seconds, then 8 clients while ``POST /reload``
swaps between two model directories back to back (``reload`` rows: the number of completed
reloads is shown; a failed request there would be a request dropped by the swap). With
``--workers N`` (N > 1) the server runs N processes; ``/reload`` would reach one of them, so
the reload row saves the two models alternately over the served directory instead, every
``WATCH_SECONDS``, and each worker's watch reloads it (the documented daily refresh).

The clients are coroutines in this process (``--client httpx``: ``httpx.AsyncClient``, one
keep-alive connection per client; ``--client raw``: a minimal HTTP/1.1 keep-alive client on
asyncio streams, which costs the client side far less CPU). wrk is used instead when it is
installed and ``--client wrk`` is given. Client and server share the machine's cores: on a
small or busy machine the client's own CPU time shows up in the latencies, and numbers are
noisy. Latency is measured per request on the client, from send to the full answer.

The ml-100k server also keeps an event log (``--events-log``), and two more rows measure
``POST /events``: ``events`` (one client posting batches of ``--event-batch`` events of
known users and items back to back: each batch is validated, applied to the model with
``update``, appended to the log and fsynced before the answer; ``events/s`` is what that
client got through), and ``events+read`` (``RELOAD_CLIENTS`` clients reading ``/recommend``
while one client posts events: the readers' latency is the row's).

Run ``python benchmarks/serve.py [--duration 5] [--catalog-items N | --skip-catalog]
[--events-only] [--json PATH]``.

Target (issue 5): p99 < 10 ms at 8 concurrent clients on MovieLens 100K, zero errors, zero
failed requests during reload. Target (issue 14): ``/recommend`` p99 < 15 ms with 8 readers
while one client posts events, zero errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import recsys as rs  # noqa: E402
from recsys.serving.server import WATCH_SECONDS  # noqa: E402

SHARED_DATA = Path(os.environ.get("RECSYS_SHARED_DATA",
                                  Path(__file__).resolve().parents[2] / "shared" / "data"))
CONCURRENCY = (1, 8, 64)
PROTOCOL = ""  # set by --protocol
RELOAD_CLIENTS = 8


# --------------------------------------------------------------------------- models


def als_class() -> type[rs.Recommender] | None:
    """rs.ALS, or the ALS module when it exists but is not exported yet; None otherwise."""
    if hasattr(rs, "ALS"):
        return rs.ALS
    try:
        from recsys.models.als import ALS
    except ImportError:
        return None
    return ALS


def ml100k_models(directory: Path, family: str = "als") -> tuple[Path, Path, str]:
    """Two fitted models on MovieLens 100K (different seeds), saved; and a description."""
    inter = rs.datasets.movielens_100k(SHARED_DATA / "ml-100k").interactions
    als = als_class()
    if family == "itemknn":
        first, second = rs.ItemKNN(), rs.ItemKNN(k=50)
        name = "ItemKNN"
    elif als is None:
        first, second = rs.ItemKNN(), rs.ItemKNN(k=50)
        name = "ItemKNN (ALS not available)"
    else:
        first, second = als(seed=0), als(seed=1)
        name = f"ALS(factors={first.factors})"
    return (rs.save(first.fit(inter), directory / "ml100k-a"),
            rs.save(second.fit(inter), directory / "ml100k-b"), name)


def catalog_models(directory: Path, n_items: int, n_users: int, factors: int,
                   seed: int) -> tuple[Path, Path, str] | None:
    """ALS on a synthetic long-tailed catalog, saved to be served through HNSW."""
    als = als_class()
    if als is None:
        return None
    rng = np.random.default_rng(seed)
    per_user = 40
    # Zipf-like item popularity, so that the factors have structure to learn.
    popularity = 1.0 / (np.arange(n_items) + 50.0)
    popularity /= popularity.sum()
    items = rng.choice(n_items, size=n_users * per_user, p=popularity)
    items[:n_items] = np.arange(n_items)  # every item seen at least once
    users = np.repeat(np.arange(n_users), per_user)
    inter = rs.Interactions.from_arrays(users, items)
    # A lighter graph than the defaults: building two 1M-item graphs at the defaults takes
    # many minutes on two cores.
    index_params = {"M": 16, "ef_construction": 40, "ef_search": 64}
    paths = []
    for name, model_seed in (("catalog-a", 0), ("catalog-b", 1)):
        model = als(factors=factors, iterations=3, seed=model_seed, index="hnsw",
                    index_params=index_params).fit(inter)
        paths.append(rs.save(model, directory / name))
    return paths[0], paths[1], f"ALS(factors={factors}, index=hnsw M=16 efC=40)"


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's worker processes), from /proc."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                queue.extend(int(child) for child in task.read_text().split())
            except OSError:
                pass
    return found


class Server:
    """``python -m recsys serve`` in a subprocess, stopped by its own pid."""

    def __init__(self, model_dir: Path, log: Path, timeout: float, workers: int = 1,
                 extra: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.model_dir, self.workers = model_dir, workers
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {k: v for k, v in os.environ.items() if k != "RECSYS_API_KEY"}
        if PROTOCOL:  # "public": uvicorn's own protocol instead of recsys' subclass
            env["RECSYS_HTTP_PROTOCOL"] = PROTOCOL
        started = time.perf_counter()
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "recsys", "serve", str(model_dir),
                 "--port", str(self.port), "--workers", str(workers), *extra],
                stdout=out, stderr=subprocess.STDOUT, env=env)
        self._wait(timeout)
        self.startup_s = time.perf_counter() - started

    def _wait(self, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not up after {timeout} s:\n{self.log.read_text()}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server and its worker processes so far (Linux
        /proc; NaN elsewhere)."""
        total = 0.0
        for pid in _process_tree(self.process.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return float("nan")
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --------------------------------------------------------------------------- clients


class RawClient:
    """A minimal HTTP/1.1 keep-alive JSON client: little CPU per request, nothing else."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class HttpxClient:
    def __init__(self, port: int, timeout: float = 30.0) -> None:
        import httpx

        self.client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=timeout)

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        response = await self.client.post(path, content=body,
                                          headers={"Content-Type": "application/json"})
        return response.status_code, response.content

    async def close(self) -> None:
        await self.client.aclose()


@dataclass
class Row:
    scenario: str
    model: str
    phase: str
    clients: int
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms: float  # server CPU time per answered request (user + system)
    reloads: int = 0
    reload_s: float = float("nan")  # mean wall time of one POST /reload (load, index, warm-up)
    events_per_s: float = float("nan")  # events acknowledged per second by the poster


async def _load(server: Server, users: list, clients: int, duration: float, client_kind: str,
                reload_paths: tuple[str, str] | None, seed: int,
                events: tuple[list, int] | None = None) -> dict:
    """Requests from ``clients`` coroutines for ``duration`` s, with reloads meanwhile if
    ``reload_paths`` and one client posting batches of events meanwhile if ``events``
    (the items to pick from, the batch size): latencies, errors, reload durations, the
    poster's latencies and event count, elapsed time and server CPU.

    Clients are created and connected (one untimed request each) before the clock starts:
    creating 64 httpx clients alone takes longer than a short phase.
    """
    make = RawClient if client_kind == "raw" else HttpxClient
    latencies: list[float] = []
    errors = 0
    reload_times: list[float] = []
    stop, go = asyncio.Event(), asyncio.Event()
    pool = [make(server.port) for _ in range(clients)]
    ready = [0]

    def body(rng: np.random.Generator) -> bytes:
        return json.dumps({"user": users[int(rng.integers(len(users)))], "k": 10}).encode()

    async def one_client(index: int) -> None:
        nonlocal errors
        rng = np.random.default_rng(seed + index)
        client = pool[index]
        await client.post("/recommend", body(rng))  # connect; not timed
        ready[0] += 1
        await go.wait()
        while not stop.is_set():
            payload = body(rng)
            started = time.perf_counter()
            try:
                status, _ = await client.post("/recommend", payload)
            except Exception:  # noqa: BLE001 - a failed request is what we count
                errors += 1
                await client.close()
                client = pool[index] = make(server.port)
                continue
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors += 1

    async def reloader(deadline: float) -> None:
        nonlocal errors
        admin = HttpxClient(server.port, timeout=3600.0)
        try:
            # Back to back until the phase's time is up, and at least one swap per phase.
            while not reload_times or time.perf_counter() < deadline:
                path = reload_paths[len(reload_times) % 2]
                started = time.perf_counter()
                try:
                    status, _ = await admin.post("/reload", json.dumps({"path": path}).encode())
                except Exception:  # noqa: BLE001 - counted, and the phase ends
                    status = -1
                if status != 200:
                    errors += 1
                    break
                reload_times.append(time.perf_counter() - started)
        finally:
            await admin.close()

    async def saver(deadline: float) -> None:
        # Several worker processes: /reload would reach one of them, so the model is saved
        # over the served directory (atomically) and every worker's watch picks it up.
        models = [rs.load(path) for path in reload_paths]
        while not reload_times or time.perf_counter() < deadline:
            started = time.perf_counter()
            await asyncio.to_thread(rs.save, models[len(reload_times) % 2], server.model_dir)
            reload_times.append(time.perf_counter() - started)
            await asyncio.sleep(WATCH_SECONDS)

    posted: list[float] = []
    n_events = [0]

    async def poster() -> None:
        nonlocal errors
        items, size = events
        rng = np.random.default_rng(seed + 10_000)  # apart from the readers' streams
        client = make(server.port)
        ready[0] += 1
        await go.wait()
        try:
            while not stop.is_set():
                batch = [{"user": users[int(rng.integers(len(users)))],
                          "item": items[int(rng.integers(len(items)))], "type": "view"}
                         for _ in range(size)]
                started = time.perf_counter()
                status, _ = await client.post("/events", json.dumps(batch).encode())
                posted.append(time.perf_counter() - started)
                if status == 200:
                    n_events[0] += size
                else:
                    errors += 1
        finally:
            await client.close()

    tasks = [asyncio.create_task(one_client(i)) for i in range(clients)]
    if events is not None:
        tasks.append(asyncio.create_task(poster()))
    while ready[0] < len(tasks):
        await asyncio.sleep(0.01)
    started, cpu = time.perf_counter(), server.cpu_seconds()
    go.set()
    swap = reloader if server.workers == 1 else saver
    reload_task = asyncio.create_task(swap(started + duration)) if reload_paths else None
    await asyncio.sleep(duration)
    if reload_task is not None:
        while not reload_times and not reload_task.done():  # a slow (HNSW) reload: wait for it
            await asyncio.sleep(0.1)
    stop.set()
    await asyncio.gather(*tasks)
    elapsed, cpu = time.perf_counter() - started, server.cpu_seconds() - cpu
    if reload_task is not None:
        await reload_task
    for client in pool:
        await client.close()
    return {"latencies": latencies, "errors": errors, "reload_times": reload_times,
            "elapsed": elapsed, "cpu": cpu, "posted": posted, "events": n_events[0]}


def measure(server: Server, users: list, scenario: str, model: str, clients: int,
            duration: float, client_kind: str, reload_paths: tuple[str, str] | None = None,
            seed: int = 0, events: tuple[list, int] | None = None) -> Row:
    result = asyncio.run(_load(server, users, clients, duration, client_kind, reload_paths,
                               seed, events))
    # Without readers, the row is the poster's: one request per batch of events.
    latencies = result["latencies"] if clients else result["posted"]
    reload_times = result["reload_times"]
    ms = np.asarray(latencies) * 1000 if latencies else np.array([np.nan])
    phase = ("reload" if reload_paths else "steady" if events is None
             else "events+read" if clients else "events")
    return Row(scenario, model, phase, clients,
               len(latencies), result["errors"], len(latencies) / result["elapsed"],
               float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), float(ms.max()),
               result["cpu"] * 1000 / max(len(latencies), 1), len(reload_times),
               float(np.mean(reload_times)) if reload_times else float("nan"),
               result["events"] / result["elapsed"] if events else float("nan"))


def run_wrk(server: Server, users: list, clients: int, duration: float) -> Row | None:
    """Optional: wrk with a Lua script posting random users; None if wrk is missing."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("users = {" + ",".join(json.dumps(u) for u in users[:500]) + "}\n"
                     'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                     "request = function()\n"
                     "  local u = users[math.random(#users)]\n"
                     '  return wrk.format(nil, "/recommend", nil, '
                     '\'{"user": \' .. u .. \', "k": 10}\')\nend\n')
    out = subprocess.run([wrk, "-t", "2", "-c", str(clients), "-d", f"{duration:g}s",
                          "--latency", "-s", script.name, server.url],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    print(out)
    return None  # wrk's own report is printed as is


# --------------------------------------------------------------------------- main


def run_scenario(name: str, model_name: str, first: Path, second: Path, args: argparse.Namespace,
                 log_dir: Path, rows: list[Row], notes: list[str]) -> None:
    loaded = rs.load(first) if name == "ml-100k" else None
    served = log_dir / f"{name}-served"  # saved over during a multi-worker reload phase
    shutil.copytree(first, served)
    with_events = name == "ml-100k" and args.workers == 1
    extra = ("--events-log", str(log_dir / f"{name}-events.log")) if with_events else ()
    server = Server(served, log_dir / f"{name}.log", timeout=args.start_timeout,
                    workers=args.workers, extra=extra)
    notes.append(f"{name}: server up in {server.startup_s:.1f} s (imports, load, checksums, "
                 "index build, warm-up)")
    try:
        import httpx

        info = httpx.get(server.url + "/model", timeout=30).json()
        users = (loaded.users_.ids if loaded is not None else np.arange(info["n_users"]))
        users = users[: args.max_users].tolist()
        if loaded is not None:  # what the model costs without HTTP, for comparison
            for user in users[:20]:
                loaded.recommend([user], k=10)
            started, cpu = time.perf_counter(), time.process_time()
            for user in users[:500]:
                loaded.recommend([user], k=10)
            n = len(users[:500])
            notes.append(f"{name}: model.recommend([user], k=10) in process: "
                         f"{(time.perf_counter() - started) / n * 1000:.2f} ms wall, "
                         f"{(time.process_time() - cpu) / n * 1000:.2f} ms CPU per call")
        # Warm-up: connections, the first requests through every code path.
        measure(server, users, name, model_name, 2, 0.5, args.client)
        if args.client == "wrk":
            for clients in CONCURRENCY:
                run_wrk(server, users, clients, args.duration)
            return
        phases = []
        if not args.events_only:
            phases = [{"clients": clients} for clients in CONCURRENCY]
            phases.append({"clients": RELOAD_CLIENTS, "reload_paths": (str(second), str(first))})
        if with_events:
            items = loaded.items_.ids.tolist()
            phases += [{"clients": 0, "events": (items, args.event_batch)},
                       {"clients": RELOAD_CLIENTS, "events": (items, args.event_batch)}]
        for phase in phases:
            row = measure(server, users, name, model_name, duration=args.duration,
                          client_kind=args.client, **phase)
            rows.append(row)
            print_row(row)
    finally:
        server.stop()


HEADER = (f"{'scenario':<9} {'model':<44} {'phase':<11} {'clients':>7} {'requests':>8} "
          f"{'errors':>6} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'cpu/req':>7} "
          f"{'reloads':>7} {'reload s':>8} {'events/s':>8}")


def print_row(row: Row) -> None:
    print(f"{row.scenario:<9} {row.model:<44} {row.phase:<11} {row.clients:>7} "
          f"{row.requests:>8} {row.errors:>6} {row.rps:>8.0f} {row.p50_ms:>7.2f} "
          f"{row.p99_ms:>7.2f} {row.max_ms:>7.1f} {row.server_cpu_ms:>7.2f} {row.reloads:>7} "
          f"{row.reload_s:>8.2f} {row.events_per_s:>8.0f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per row")
    parser.add_argument("--client", choices=("httpx", "raw", "wrk"), default="httpx")
    parser.add_argument("--catalog-items", type=int, default=1_000_000)
    parser.add_argument("--catalog-users", type=int, default=50_000)
    parser.add_argument("--catalog-factors", type=int, default=32)
    parser.add_argument("--skip-catalog", action="store_true")
    parser.add_argument("--skip-ml100k", action="store_true")
    parser.add_argument("--max-users", type=int, default=5000,
                        help="requests pick from this many known users")
    parser.add_argument("--start-timeout", type=float, default=1800.0)
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes; with more than one, reloads save over the "
                             "served directory and the workers' watch picks the model up")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--event-batch", type=int, default=10,
                        help="events per POST /events in the events rows (default: 10)")
    parser.add_argument("--ml100k-model", choices=("als", "itemknn"), default="als",
                        help="the family served in the ml-100k scenario (default: als)")
    parser.add_argument("--events-only", action="store_true",
                        help="ml-100k: only the events rows")
    parser.add_argument("--protocol", choices=("recsys", "public"), default="recsys",
                        help="the server's HTTP protocol: recsys' uvicorn subclass (one write "
                             "per answer, header timeout) or uvicorn's public one")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    global PROTOCOL
    PROTOCOL = "public" if args.protocol == "public" else ""

    rows: list[Row] = []
    notes = [f"client: {args.client}, in the same process as the load loop; client and "
             f"server share {os.cpu_count()} cores (load average before: "
             f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}); numbers are noisy"]
    with tempfile.TemporaryDirectory(prefix="recsys-serve-bench-") as tmp:
        tmp_path = Path(tmp)
        if als_class() is None:
            notes.append("ALS is not available: ml-100k uses ItemKNN, the catalog is skipped")
        elif not hasattr(rs, "ALS"):
            notes.append("ALS taken from recsys.models.als (not exported as rs.ALS yet)")
        print(HEADER)
        if not args.skip_ml100k:
            started = time.perf_counter()
            first, second, model_name = ml100k_models(tmp_path, args.ml100k_model)
            notes.append(f"ml-100k: two models fitted and saved in "
                         f"{time.perf_counter() - started:.1f} s")
            run_scenario("ml-100k", model_name, first, second, args, tmp_path, rows, notes)
        if args.skip_catalog:
            notes.append("catalog scenario skipped (--skip-catalog)")
        else:
            started = time.perf_counter()
            catalog = catalog_models(tmp_path, args.catalog_items, args.catalog_users,
                                     args.catalog_factors, args.seed)
            if catalog is None:
                notes.append("catalog scenario skipped: no ALS with index='hnsw'")
            else:
                notes.append(f"catalog: {args.catalog_items:,} items, {args.catalog_users:,} "
                             f"users; two models fitted and saved in "
                             f"{time.perf_counter() - started:.1f} s")
                run_scenario("catalog", catalog[2], catalog[0], catalog[1], args, tmp_path,
                             rows, notes)
    print()
    for note in notes:
        print(f"note: {note}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "benchmark": "serve",
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version()},
            "params": vars(args) | {"json": str(args.json)},
            "rows": [asdict(row) for row in rows],
            "notes": notes,
        }, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
