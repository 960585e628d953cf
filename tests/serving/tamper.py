"""Rewriting saved model files the way an attacker with write access would: new content,
the manifest's SHA-256 (and optionally shape and dtype) updated to match."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from recsys.serving._files import sha256
from recsys.serving.persistence import MANIFEST


def manifest_of(directory: Path) -> dict:
    return json.loads((directory / MANIFEST).read_text())


def write_manifest(directory: Path, manifest: dict) -> None:
    (directory / MANIFEST).write_text(json.dumps(manifest))


def rehash(directory: Path, name: str, *, section: str = "arrays",
           describe: bool = True) -> None:
    """Record the current file of entry ``name`` in the manifest: SHA-256, and its shape and
    dtype too when ``describe`` (an attacker covering every track)."""
    manifest = manifest_of(directory)
    entry = manifest[section][name]
    file = directory / entry["file"]
    with open(file, "rb") as handle:
        entry["sha256"] = sha256(handle)
    if describe and entry["kind"] in ("dense", "sparse"):
        value = read_back(file, entry["kind"])
        entry["shape"], entry["dtype"] = list(value.shape), str(value.dtype)
    write_manifest(directory, manifest)


def read_back(file: Path, kind: str):
    if kind == "sparse":
        with np.load(file, allow_pickle=False) as parts:
            return _Shape(parts)
    return np.load(file, allow_pickle=False)


class _Shape:
    """Shape and dtype of an npz written by hand (possibly not a valid CSR)."""

    def __init__(self, parts) -> None:
        self.shape = tuple(int(n) for n in parts["shape"])
        self.dtype = parts["data"].dtype


def put_dense(directory: Path, name: str, value: np.ndarray, *, describe: bool = True,
              section: str = "arrays") -> None:
    entry = manifest_of(directory)[section][name]
    np.save(directory / entry["file"], value, allow_pickle=False)
    rehash(directory, name, section=section, describe=describe)


def put_csr_parts(directory: Path, name: str, *, describe: bool = True, **changes) -> None:
    """Replace some of the CSR arrays (data, indices, indptr, shape, format) of ``name``."""
    entry = manifest_of(directory)["arrays"][name]
    file = directory / entry["file"]
    with np.load(file, allow_pickle=False) as stored:
        parts = {key: stored[key] for key in stored.files}
    parts.update(changes)
    with open(file, "wb") as handle:
        np.savez(handle, **parts)
    rehash(directory, name, describe=describe)


CRASH_PROBE = textwrap.dedent("""
    import sys
    import recsys as rs
    from recsys.errors import RecsysError
    try:
        model = rs.load(sys.argv[1])
        users = model.users_.ids[:50]
        model.recommend(users, k=5)
        model.recommend(users, k=5, exclude_seen=False)
        model.similar_items(model.items_.ids[:5], k=5)
        print("LOADED")
    except RecsysError as exc:
        print(type(exc).__name__)
""")


def load_in_subprocess(directory: Path) -> tuple[int, str]:
    """Load and use the model in a fresh process: (exit code, its last output line), so a
    heap corruption or segfault shows as an exit code instead of killing the test run."""
    done = subprocess.run([sys.executable, "-c", CRASH_PROBE, str(directory)],
                          capture_output=True, text=True, timeout=300)
    lines = done.stdout.strip().splitlines()
    return done.returncode, (lines[-1] if lines else done.stderr[-2000:])
