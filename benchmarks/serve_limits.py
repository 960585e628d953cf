"""What hostile-but-valid requests cost ``recsys serve``: memory and the latency of /health.

Two figures, against a real ``python -m recsys serve`` subprocess (EASE on MovieLens 100K,
``../shared/data/ml-100k``):

* **big requests**: six concurrent ``POST /recommend`` of 1,000 users x k=1,000 (a 9 KB
  request whose full answer is about 45 MB); the server's peak resident memory (VmHWM) before
  and after, and the answers' status codes and sizes.
* **/health under heavy requests**: four clients sending 8-user, k=1,000 requests back to back
  while a fifth measures ``GET /health``; median and p99 of /health.

Which code is measured is the one on ``PYTHONPATH`` (run it once per checkout to compare).
Run ``python benchmarks/serve_limits.py [--seconds 10] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start(model_dir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "RECSYS_API_KEY"}
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "recsys", "serve", str(model_dir),
                                    "--port", str(port)], stdout=out, stderr=subprocess.STDOUT,
                                   env=env)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(log.read_text())


async def big_requests(url: str, users: list) -> list[tuple[int, int]]:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        answers = await asyncio.gather(*[
            client.post("/recommend", json={"users": users, "k": 1000}) for _ in range(6)])
    return [(r.status_code, len(r.content)) for r in answers]


async def health_under_load(url: str, users: list, seconds: float) -> tuple[list, int]:
    import httpx

    stop = time.monotonic() + seconds
    heavy = [0]

    async def load(offset: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            i = offset
            while time.monotonic() < stop:
                batch = users[i % (len(users) - 8):][:8]
                await client.post("/recommend", json={"users": batch, "k": 1000})
                heavy[0] += 1
                i += 8

    async def probe() -> list:
        latencies = []
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            while time.monotonic() < stop:
                started = time.perf_counter()
                await client.get("/health")
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(0.01)
        return latencies

    results = await asyncio.gather(probe(), *[load(k * 100) for k in range(4)])
    return results[0], heavy[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    inter = rs.datasets.movielens_100k(SHARED_DATA / "ml-100k", show_progress=False).interactions
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = rs.save(rs.EASE().fit(inter), Path(tmp) / "models" / "ease")
        process, url = start(model_dir, Path(tmp) / "server.log")
        try:
            users = inter.users.ids.tolist()
            idle = peak_rss_mb(process.pid)
            latencies, heavy = asyncio.run(health_under_load(url, users, args.seconds))
            answers = asyncio.run(big_requests(url, users[:1000]))
            after = peak_rss_mb(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)
    result = {
        "peak_rss_mb_before": round(idle, 1), "peak_rss_mb_after_big": round(after, 1),
        "big_answers": answers,
        "health_ms_median": round(float(np.median(latencies)) * 1000, 2),
        "health_ms_p99": round(float(np.quantile(latencies, 0.99)) * 1000, 2),
        "health_probes": len(latencies), "heavy_requests": heavy,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
