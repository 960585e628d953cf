"""Property: whatever is done to a saved model directory (shapes, dtypes, CSR structure,
manifest fields, with or without rehashing), ``rs.load`` either returns a model that answers
exactly as the original or raises a recsys error. Never a crash or a numpy traceback.

The mutations are structural: they break a shape, a dtype or the CSR invariants, or leave
the meaning intact. A finite value replaced by another finite value would be a different,
valid model, which no check can tell from the original (see the README's threat model).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import recsys as rs
from recsys.errors import RecsysError
from recsys.serving.persistence import MANIFEST
from tests.serving.tamper import manifest_of, rehash, write_manifest

QUERY_USERS = 25


class Originals(dict):
    """Saved models and their answers, by name (a short repr for hypothesis' reports)."""

    def __repr__(self) -> str:
        return f"Originals({sorted(self)})"


@pytest.fixture(scope="module")
def originals(ml100k_dir, tmp_path_factory) -> Originals:
    ratings = rs.datasets.movielens_100k(ml100k_dir, show_progress=False).interactions
    frame = ratings.to_pandas().iloc[:20_000]
    inter = rs.Interactions.from_pandas(frame, user="user", item="item")
    root = tmp_path_factory.mktemp("originals")
    models = {
        "als": rs.ALS(factors=8, iterations=2, seed=0),
        "knn": rs.ItemKNN(k=20),
        "pop": rs.Popularity(),
        "rules": rs.AssociationRules(min_support=0.05, min_confidence=0.2),
        "hybrid": rs.Hybrid([rs.ItemKNN(k=10), rs.Popularity()], weights=[0.7, 0.3]),
    }
    out = Originals()
    for name, model in models.items():
        model.fit(inter)
        users = model.users_.ids[:QUERY_USERS].tolist()
        out[name] = (rs.save(model, root / name), users, _answers(model, users))
    return out


def _answers(model: rs.Recommender, users: list) -> dict:
    """Answers to the original model's first users (the ids asked for, whatever the
    loaded model's id map says)."""
    return {
        "recommend": model.recommend(users, k=5).to_dict(),
        "all": model.recommend(users, k=5, exclude_seen=False).to_dict(),
    }


JUNK = st.sampled_from([None, -1, 0, 10**30, -(10**30), 1.5, True, "x", "", [], {}, [1, "a"],
                        {"$member": "model-0"}, "../../etc", "float32", "dense"])


def _other_type(value) -> st.SearchStrategy:
    """Junk of another JSON type than ``value`` (same-typed junk may be a valid setting:
    another candidate depth is another model, not a broken one)."""
    def kind(v):
        return "number" if isinstance(v, (int, float)) and not isinstance(v, bool) \
            else type(v).__name__
    return JUNK.filter(lambda junk: junk is not None and kind(junk) != kind(value))


def _entries(directory: Path) -> list[tuple[str, str]]:
    """(section, name) of every array entry, members included (as "member/name")."""
    out = []
    for path in sorted(directory.rglob(MANIFEST)):
        prefix = path.parent.relative_to(directory).as_posix()
        manifest = json.loads(path.read_text())
        for section in ("arrays", "derived"):
            for name in manifest.get(section, {}):
                out.append((f"{prefix}|{section}", name))
    return out


def _mutate_dense(value: np.ndarray, data: st.DataObject, ids: bool) -> np.ndarray:
    # A changed id (unique still) is a renamed item: valid, so no "poison" for ids.
    choices = ["cut", "grow", "transpose", "dtype", "flatten", "axis"]
    choice = data.draw(st.sampled_from(choices if ids else [*choices, "poison"]))
    if choice == "cut" and value.ndim:
        axis = data.draw(st.integers(0, value.ndim - 1))
        keep = data.draw(st.integers(0, max(0, value.shape[axis] - 1)))
        return np.take(value, np.arange(keep), axis=axis)
    if choice == "grow" and value.ndim:
        return np.concatenate([value, value[:1]], axis=0)
    if choice == "transpose" and value.ndim == 2 and value.shape[0] != value.shape[1]:
        return value.T.copy()
    if choice == "dtype":
        dtype = data.draw(st.sampled_from(["float64", "float16", "int32", "int64", "uint8",
                                           "bool", "<U3", "complex64"]))
        if value.dtype.kind == "U" and dtype[0] != "<":
            return np.zeros(value.shape, dtype)
        return value.astype(dtype)
    if choice == "poison" and value.size and value.dtype.kind == "f":
        poisoned = value.copy()
        poisoned.flat[data.draw(st.integers(0, value.size - 1))] = data.draw(
            st.sampled_from([np.nan, np.inf, -np.inf]))
        return poisoned
    if choice == "poison" and value.size and value.dtype.kind in "iu":
        poisoned = value.copy()
        poisoned.flat[data.draw(st.integers(0, value.size - 1))] = data.draw(
            st.sampled_from([-(2**31), -5, 10**9, 2**31 - 1]))
        return poisoned if not np.array_equal(poisoned, value) else value[:0]
    if choice == "flatten" and value.ndim == 2:
        return value.ravel()
    return value[None] if choice == "axis" else value


def _mutate_csr(parts: dict, data: st.DataObject) -> dict:
    parts = dict(parts)
    n_rows, n_cols = (int(n) for n in parts["shape"])
    nnz = len(parts["indices"])
    choice = data.draw(st.sampled_from(["index", "duplicate", "indptr", "shape", "drop",
                                        "dtype", "format", "poison"]))
    if choice == "index" and nnz:
        indices = parts["indices"].astype(np.int64)
        indices[data.draw(st.integers(0, nnz - 1))] = data.draw(
            st.sampled_from([-1, -(2**31), n_cols, n_cols + 17, 2**40]))
        parts["indices"] = indices
    elif choice == "duplicate" and nnz > 1:
        indptr = parts["indptr"]
        rows = np.flatnonzero(np.diff(indptr) >= 2)
        if len(rows):
            start = int(indptr[rows[data.draw(st.integers(0, len(rows) - 1))]])
            indices = parts["indices"].copy()
            indices[start + 1] = indices[start]
            parts["indices"] = indices
    elif choice == "indptr":
        indptr = parts["indptr"].astype(np.int64)
        position = data.draw(st.integers(0, len(indptr) - 1))
        indptr[position] = data.draw(st.sampled_from([-1, nnz + 1, 2**40]))
        parts["indptr"] = indptr
    elif choice == "shape":
        axis = data.draw(st.integers(0, 1))
        shape = [n_rows, n_cols]
        shape[axis] = data.draw(st.sampled_from([0, 1, shape[axis] - 1, shape[axis] + 1,
                                                 2**40, -3]))
        parts["shape"] = np.array(shape)
    elif choice == "drop" and nnz:
        key = data.draw(st.sampled_from(["indices", "data", "indptr"]))
        parts[key] = parts[key][:-1]
    elif choice == "dtype":
        parts["data"] = parts["data"].astype(data.draw(st.sampled_from(
            ["float64", "int64", "bool", "float16"])))
    elif choice == "format":
        parts["format"] = np.array(data.draw(st.sampled_from(["csc", "coo", "bsr", ""])))
    elif choice == "poison" and nnz:
        values = parts["data"].astype(np.float32)
        values[data.draw(st.integers(0, nnz - 1))] = np.nan
        parts["data"] = values
    return parts


def _mutate_file(directory: Path, section: str, name: str, data: st.DataObject) -> None:
    prefix, section = section.split("|")
    where = directory / prefix
    entry = manifest_of(where)[section][name]
    file = where / entry["file"]
    if entry["kind"] == "sparse":
        with np.load(file, allow_pickle=False) as stored:
            parts = _mutate_csr({key: stored[key] for key in stored.files}, data)
        with open(file, "wb") as handle:
            np.savez(handle, **parts)
    elif entry["kind"] == "ids-json":
        payload = json.loads(file.read_text())
        payload["values"] = payload["values"][:-1] + payload["values"][:1]  # a duplicate
        file.write_text(json.dumps(payload))
    else:
        value = np.load(file, allow_pickle=False)
        np.save(file, _mutate_dense(value, data, ids=entry["kind"] == "ids"),
                allow_pickle=False)
    if data.draw(st.booleans(), label="rehash"):
        if entry["kind"] in ("dense", "sparse"):
            rehash(where, name, section=section, describe=data.draw(st.booleans()))
        else:
            rehash(where, name, section=section, describe=False)


def _mutate_manifest(directory: Path, data: st.DataObject) -> None:
    manifests = sorted(directory.rglob(MANIFEST))
    where = manifests[data.draw(st.integers(0, len(manifests) - 1))].parent
    manifest = manifest_of(where)
    target = data.draw(st.sampled_from(["entry", "param", "scalar", "top"]))
    if target == "entry" and manifest["arrays"]:
        name = data.draw(st.sampled_from(sorted(manifest["arrays"])))
        field = data.draw(st.sampled_from(["shape", "dtype", "kind", "file", "sha256"]))
        manifest["arrays"][name][field] = data.draw(JUNK)
    elif target in ("param", "scalar"):
        values = manifest["params" if target == "param" else "scalars"]
        name = data.draw(st.sampled_from(sorted(values))) if values else None
        if values and values[name] is not None:
            values[name] = data.draw(_other_type(values[name]))
    else:
        field = data.draw(st.sampled_from(["class", "format_version", "arrays", "scalars",
                                           "params", "members", "derived"]))
        manifest[field] = data.draw(st.one_of(JUNK, st.sampled_from(
            ["ALS", "EASE", "Hybrid", "FactorModel", "Recommender"])))
    write_manifest(where, manifest)


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_model_loads_equal_or_raises_a_recsys_error(originals, data):
    name = data.draw(st.sampled_from(sorted(originals)), label="model")
    original, users, expected = originals[name]
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(shutil.copytree(original, Path(scratch) / name))
        for _ in range(data.draw(st.integers(1, 2), label="mutations")):
            try:
                if data.draw(st.booleans(), label="file or manifest"):
                    section, entry = data.draw(st.sampled_from(_entries(directory)),
                                               label="entry")
                    _mutate_file(directory, section, entry, data)
                else:
                    _mutate_manifest(directory, data)
            except (TypeError, KeyError, AttributeError, ValueError, IndexError, OSError):
                # The first mutation broke the manifest beyond the mutator's reach (an entry's
                # file name became junk: the mutator itself cannot open it).
                break
        try:
            answers = _answers(rs.load(directory), users)
        except RecsysError:
            return
    assert answers == expected
