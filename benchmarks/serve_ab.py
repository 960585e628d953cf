"""Paired serving comparison of two checkouts: both servers up at once, short alternating rounds.

On a shared machine the load changes from minute to minute; two servers measured an hour
apart cannot be told apart within 5%. Here ``recsys serve`` runs once from each checkout
(``--a`` and ``--b``, each a directory holding a ``recsys`` package) on the same saved model
(ALS on MovieLens 100K), and rounds of ``--seconds`` alternate between them: per round, one
client sends ``POST /recommend {"user": random, "k": 10}`` back to back (raw keep-alive
HTTP/1.1), and the server's own CPU time per request is read from /proc. The table gives the
median over rounds of requests/s, p50 latency and server CPU per request, and the median of
the per-round-pair ratios b/a.

Run ``python benchmarks/serve_ab.py --a OLD_CHECKOUT --b NEW_CHECKOUT [--rounds 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import recsys as rs  # noqa: E402

SHARED_DATA = Path(os.environ.get("RECSYS_SHARED_DATA",
                                  Path(__file__).resolve().parents[2] / "shared" / "data"))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(checkout: Path, model_dir: Path, log: Path, env_extra: dict) -> tuple:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "RECSYS_API_KEY"}
    env.update(PYTHONPATH=str(checkout), **env_extra)
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "recsys", "serve", str(model_dir),
                                    "--port", str(port)], stdout=out, stderr=subprocess.STDOUT,
                                   env=env, cwd=checkout)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(log.read_text())


async def one_client(port: int, users: list, seconds: float) -> list[float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = np.random.default_rng(0)
    latencies = []
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        body = json.dumps({"user": users[rng.integers(len(users))], "k": 10}).encode()
        started = time.perf_counter()
        writer.write(b"POST /recommend HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
    writer.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=Path, required=True)
    parser.add_argument("--b", type=Path, required=True)
    parser.add_argument("--b-env", default="", help="extra environment of b, NAME=VALUE")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    inter = rs.datasets.movielens_100k(SHARED_DATA / "ml-100k", show_progress=False).interactions
    users = inter.users.ids.tolist()
    extra_b = dict([args.b_env.split("=", 1)]) if args.b_env else {}
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = rs.save(rs.ALS(seed=0).fit(inter), Path(tmp) / "models" / "als")
        servers = {"a": start(args.a, model_dir, Path(tmp) / "a.log", {}),
                   "b": start(args.b, model_dir, Path(tmp) / "b.log", extra_b)}
        results: dict[str, list[tuple[float, float, float]]] = {"a": [], "b": []}
        try:
            for _, port in servers.values():  # warm-up
                asyncio.run(one_client(port, users, 1.0))
            for round_ in range(args.rounds):
                order = ("a", "b") if round_ % 2 == 0 else ("b", "a")
                for name in order:
                    process, port = servers[name]
                    cpu = cpu_seconds(process.pid)
                    latencies = asyncio.run(one_client(port, users, args.seconds))
                    used = cpu_seconds(process.pid) - cpu
                    results[name].append((len(latencies) / args.seconds,
                                          float(np.median(latencies)) * 1000,
                                          used / len(latencies) * 1000))
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.wait(timeout=30)
    print(f"{'':4} {'req/s':>8} {'p50 ms':>8} {'server cpu ms/req':>18}")
    for name, rows in results.items():
        med = np.median(np.asarray(rows), axis=0)
        print(f"{name:4} {med[0]:8.0f} {med[1]:8.3f} {med[2]:18.3f}")
    ratios = np.asarray(results["b"]) / np.asarray(results["a"])
    med = np.median(ratios, axis=0)
    print(f"b/a  {med[0]:8.3f} {med[1]:8.3f} {med[2]:18.3f}   (median of {args.rounds} paired "
          "rounds)")


if __name__ == "__main__":
    main()
