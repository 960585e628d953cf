"""Model files: tampering, truncation, versions, no pickle, atomicity under a real crash, ids.

The round trip of every family (same recommendations after loading) lives in the conformance
suite; this file covers what can go wrong with the files themselves.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import recsys as rs
from recsys.errors import ChecksumError, DataError
from recsys.serving import _rename, persistence

USERS = ["u1", "u1", "u2", "u2", "u3", "u3", "u4"]
ITEMS = ["a", "b", "a", "c", "b", "c", "d"]


@pytest.fixture()
def saved(tmp_path: Path) -> tuple[rs.Recommender, Path]:
    model = rs.ItemKNN(k=5).fit(rs.Interactions.from_arrays(USERS, ITEMS))
    return model, rs.save(model, tmp_path / "model")


def _answers(model: rs.Recommender) -> dict:
    return model.recommend(["u1", "u2", "u3", "u4"], k=3, exclude_seen=False).to_dict()


def _array_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name != persistence.MANIFEST)


def _edit_manifest(directory: Path, **changes) -> None:
    path = directory / persistence.MANIFEST
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


# ----------------------------------------------------------------------------- damaged files


def test_every_tampered_file_is_named(saved, tmp_path):
    _, original = saved
    files = _array_files(original)
    assert len(files) >= 4  # ids, popularity, user-items, similarity
    for file in files:
        copy = tmp_path / f"copy-{file.name}"
        shutil.copytree(original, copy)
        data = bytearray((copy / file.name).read_bytes())
        data[len(data) // 2] ^= 0x01  # one flipped bit, in the payload
        (copy / file.name).write_bytes(bytes(data))
        with pytest.raises(ChecksumError, match=file.name.replace(".", r"\.")):
            rs.load(copy)


def test_every_truncated_file_is_named(saved, tmp_path):
    _, original = saved
    for file in _array_files(original):
        copy = tmp_path / f"copy-{file.name}"
        shutil.copytree(original, copy)
        with open(copy / file.name, "r+b") as handle:
            handle.truncate(file.stat().st_size // 2)
        with pytest.raises(ChecksumError, match=file.name.replace(".", r"\.")) as info:
            rs.load(copy)
        assert "truncated" in str(info.value)


def test_truncated_or_malformed_manifest_is_named(saved):
    _, directory = saved
    manifest = directory / persistence.MANIFEST
    manifest.write_bytes(manifest.read_bytes()[:40])
    with pytest.raises(DataError, match=r"manifest\.json is malformed"):
        rs.load(directory)
    manifest.write_text('{"format_version": 1, "class": "ItemKNN", "params": {}, "arrays": 3}')
    with pytest.raises(DataError, match=r"manifest\.json is malformed"):
        rs.load(directory)


def test_missing_manifest(saved):
    _, directory = saved
    (directory / persistence.MANIFEST).unlink()
    with pytest.raises(DataError, match=r"manifest\.json is missing"):
        rs.load(directory)
    with pytest.raises(DataError, match="not a saved model"):
        rs.load(directory.parent / "never-saved")


def test_missing_array_file_is_named(saved):
    _, directory = saved
    victim = _array_files(directory)[0]
    victim.unlink()
    with pytest.raises(DataError, match=victim.name.replace(".", r"\.") + ".*missing"):
        rs.load(directory)


def test_future_format_version_is_refused(saved):
    _, directory = saved
    _edit_manifest(directory, format_version=persistence.FORMAT_VERSION + 1)
    with pytest.raises(DataError, match="format version 2.*upgrade recsys"):
        rs.load(directory)
    for bad in (0, "1", True, None):
        _edit_manifest(directory, format_version=bad)
        with pytest.raises(DataError, match="format version"):
            rs.load(directory)


def test_unknown_class_is_refused(saved):
    _, directory = saved
    _edit_manifest(directory, **{"class": "os.system"})
    with pytest.raises(DataError, match="unknown model class 'os.system'"):
        rs.load(directory)


def test_manifest_cannot_set_methods_or_private_state(saved):
    _, directory = saved
    manifest = json.loads((directory / persistence.MANIFEST).read_text())
    for name in ("recommend", "_score_history", "__class__"):
        _edit_manifest(directory, scalars={**manifest["scalars"], name: 1})
        with pytest.raises(DataError, match="not learned state"):
            rs.load(directory)
    _edit_manifest(directory, scalars=manifest["scalars"], params={"nope": 1})
    with pytest.raises(DataError, match="ItemKNN has no parameter 'nope'"):
        rs.load(directory)


def test_path_traversal_in_manifest_is_refused(saved):
    _, directory = saved
    manifest = json.loads((directory / persistence.MANIFEST).read_text())
    name = next(iter(manifest["arrays"]))
    manifest["arrays"][name]["file"] = "../model/" + manifest["arrays"][name]["file"]
    (directory / persistence.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="not a plain file name"):
        rs.load(directory)


# ----------------------------------------------------------------------------- ANN graph


@pytest.fixture(scope="module")
def hnsw_model() -> rs.ALS:
    """3,000 items: above the size below which HNSWIndex searches exactly, so the graph
    answers; 8 items per user keep the over-fetch on the graph path too."""
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(600), 8)
    items = (users % 30) * 100 + rng.integers(0, 100, len(users))  # 30 blocks of 100 items
    # One more interaction per item, in its own block, so that all 3,000 are in the catalog.
    every_item = np.arange(3000)
    inter = rs.Interactions.from_arrays(
        np.concatenate([users, every_item // 100 + 30 * rng.integers(0, 20, 3000)]),
        np.concatenate([items, every_item]))
    return rs.ALS(factors=16, iterations=3, threads=1, index="hnsw").fit(inter)


def _hnsw_answers(model: rs.ALS) -> tuple[np.ndarray, np.ndarray]:
    recs = model.recommend(model.users_.ids, k=10)
    return recs.positions, recs.scores


def test_hnsw_graph_is_loaded_not_rebuilt(hnsw_model, tmp_path, monkeypatch):
    import faiss

    from recsys.ranking import HNSWIndex

    target = rs.save(hnsw_model, tmp_path / "als")
    manifest = json.loads((target / persistence.MANIFEST).read_text())
    assert manifest["derived"]["hnsw_graph"]["file"] == "derived.hnsw_graph.npy"
    assert np.load(target / "derived.hnsw_graph.npy", allow_pickle=False).dtype == np.uint8

    def no_building(self, vectors):
        raise AssertionError("loading must not build the HNSW graph again")

    read, deserialize = [], faiss.deserialize_index
    monkeypatch.setattr(HNSWIndex, "build", no_building)
    monkeypatch.setattr(faiss, "deserialize_index",
                        lambda data: read.append(deserialize(data)) or read[-1])
    loaded = rs.load(target)
    assert len(read) == 1 and loaded._index._index is read[0]

    graph_calls, graph_search = [], loaded._index._graph_search
    monkeypatch.setattr(loaded._index, "_graph_search",
                        lambda q, k, *rest: graph_calls.append(k) or graph_search(q, k, *rest))
    positions, scores = _hnsw_answers(loaded)
    assert graph_calls  # the graph answered, not the exact fallback
    want_positions, want_scores = _hnsw_answers(hnsw_model)
    np.testing.assert_array_equal(positions, want_positions)
    np.testing.assert_array_equal(scores, want_scores)


def test_tampered_hnsw_graph_is_a_checksum_error(hnsw_model, tmp_path):
    target = rs.save(hnsw_model, tmp_path / "als")
    graph = target / "derived.hnsw_graph.npy"
    data = bytearray(graph.read_bytes())
    data[len(data) // 2] ^= 0x01
    graph.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match=r"derived\.hnsw_graph\.npy"):
        rs.load(target)


def test_model_saved_without_its_graph_builds_it(hnsw_model, tmp_path):
    # Files written before the graph was kept: the same answers, from a rebuilt graph.
    target = rs.save(hnsw_model, tmp_path / "als")
    _edit_manifest(target, derived={})
    (target / "derived.hnsw_graph.npy").unlink()
    loaded = rs.load(target)
    for got, want in zip(_hnsw_answers(loaded), _hnsw_answers(hnsw_model), strict=True):
        np.testing.assert_array_equal(got, want)


def test_derived_names_in_the_manifest_are_checked(hnsw_model, tmp_path):
    target = rs.save(hnsw_model, tmp_path / "als")
    manifest = json.loads((target / persistence.MANIFEST).read_text())
    _edit_manifest(target, derived={"../x": manifest["derived"]["hnsw_graph"]})
    with pytest.raises(DataError, match="not an identifier"):
        rs.load(target)
    _edit_manifest(target, derived=[1])
    with pytest.raises(DataError, match="malformed"):
        rs.load(target)


# ----------------------------------------------------------------------------- no pickle


def test_no_pickle_anywhere(saved):
    _, directory = saved
    suffixes = set()
    for file in directory.iterdir():
        suffixes.add("".join(file.suffixes[-1:]))
        if file.suffix == ".npy":
            array = np.load(file, allow_pickle=False)
            assert not array.dtype.hasobject, file.name
        elif file.suffix == ".npz":
            with np.load(file, allow_pickle=False) as archive:
                for member in archive.files:
                    assert not archive[member].dtype.hasobject, (file.name, member)
        else:
            json.loads(file.read_text())  # plain JSON, nothing else
    assert suffixes <= {".npy", ".npz", ".json"}


def test_object_arrays_are_refused_rather_than_pickled(tmp_path):
    model = rs.Popularity().fit(rs.Interactions.from_arrays(USERS, ITEMS))
    model.extra_ = np.array([{"a": 1}], dtype=object)
    with pytest.raises(DataError, match="object array"):
        rs.save(model, tmp_path / "model")
    assert not (tmp_path / "model").exists()
    assert list(tmp_path.iterdir()) == []  # the staging directory is gone too


# ----------------------------------------------------------------------------- ids


@pytest.mark.parametrize("ids", [
    [3, 1, 2, 7],
    ["u1", "u2", "ü-ñ-😀", " x "],
    [1, "1", 2, "b"],
    [2**70, -2**65, 5, 2**63],
    np.array([1, 2**63 + 5, 3, 4], dtype=np.uint64),
    ["a\0", "a", "b", "c\0\0"],  # numpy's unicode dtype would strip the trailing NULs
], ids=["int", "str", "mixed", "huge-int", "uint64", "trailing-nul"])
def test_ids_survive_with_their_types(ids, tmp_path):
    # Users and items share the ids; user j has items j and j + 1 (cyclically).
    ids = ids if isinstance(ids, np.ndarray) else np.array(ids, dtype=object)
    inter = rs.Interactions.from_arrays(np.concatenate([ids, ids]),
                                        np.concatenate([ids, np.roll(ids, -1)]))
    model = rs.ItemKNN(k=5).fit(inter)
    loaded = rs.load(rs.save(model, tmp_path / "model"))
    for before, after in ((model.users_, loaded.users_), (model.items_, loaded.items_)):
        assert after.ids.tolist() == before.ids.tolist()
        assert [type(v) for v in after.ids.tolist()] == [type(v) for v in before.ids.tolist()]
    user_ids = model.users_.ids.tolist()
    assert (loaded.recommend(user_ids, k=2, exclude_seen=False).to_dict()
            == model.recommend(user_ids, k=2, exclude_seen=False).to_dict())


# ----------------------------------------------------------------------------- atomicity

_CRASHING_SAVE = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    import recsys as rs

    target, mode = sys.argv[1], sys.argv[2]
    model = rs.Popularity().fit(rs.Interactions.from_arrays(
        ["x1", "x2", "x2"], ["new-a", "new-b", "new-a"]))
    if mode == "mid-write":
        real_save, calls = np.save, []

        def save_then_hang(*args, **kwargs):
            real_save(*args, **kwargs)
            calls.append(args[0])
            if len(calls) == 2:  # some arrays written, the manifest not yet
                print("STAGED", flush=True)
                time.sleep(120)

        np.save = save_then_hang
    elif mode == "after-swap":
        import shutil

        def die(*args, **kwargs):  # the swap is done; die before cleaning up
            print("SWAPPED", flush=True)
            os._exit(1)

        shutil.rmtree = die
    rs.save(model, target)
    print("DONE", flush=True)
""")


def _run_save(target: Path, mode: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _CRASHING_SAVE, str(target), mode],
                            stdout=subprocess.PIPE, text=True)


def test_killed_save_leaves_previous_model_intact(saved):
    model, target = saved
    manifest_before = (target / persistence.MANIFEST).read_bytes()
    process = _run_save(target, "mid-write")
    try:
        assert process.stdout.readline().strip() == "STAGED"
        staging = [p for p in target.parent.iterdir() if p.name.startswith(".model.tmp-")]
        assert len(staging) == 1 and any(staging[0].iterdir())  # really half-written
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert (target / persistence.MANIFEST).read_bytes() == manifest_before
    loaded = rs.load(target)
    assert type(loaded) is rs.ItemKNN and _answers(loaded) == _answers(model)
    assert not (staging[0] / persistence.MANIFEST).exists()  # the debris never became a model


def test_crash_right_after_the_swap_leaves_the_new_model_complete(saved):
    _, target = saved
    process = _run_save(target, "after-swap")
    out, _ = process.communicate(timeout=60)
    assert "SWAPPED" in out and "DONE" not in out
    loaded = rs.load(target)
    assert type(loaded) is rs.Popularity
    assert loaded.recommend("x1", k=1)["x1"] == ["new-b"]


def test_failed_save_keeps_previous_model_and_cleans_up(saved, monkeypatch):
    model, target = saved
    real_save, calls = np.save, []

    def fail_on_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(np, "save", fail_on_second)
    with pytest.raises(OSError, match="disk full"):
        rs.save(rs.Popularity().fit(rs.Interactions.from_arrays(["x"], ["y"])), target)
    monkeypatch.undo()
    assert _answers(rs.load(target)) == _answers(model)
    assert sorted(p.name for p in target.parent.iterdir()) == ["model"]


def test_overwrite_without_atomic_exchange(saved, monkeypatch):
    # Systems without renameat2(RENAME_EXCHANGE) take the two-rename path.
    _, target = saved
    monkeypatch.setattr(_rename, "exchange", lambda first, second: False)
    replacement = rs.Popularity().fit(rs.Interactions.from_arrays(["x"], ["y"]))
    rs.save(replacement, target)
    assert type(rs.load(target)) is rs.Popularity
    assert sorted(p.name for p in target.parent.iterdir()) == ["model"]


def test_loads_during_repeated_saves_always_see_a_whole_model(tmp_path):
    first = rs.Popularity().fit(rs.Interactions.from_arrays(USERS, ITEMS))
    second = rs.ItemKNN(k=5).fit(rs.Interactions.from_arrays(USERS, ITEMS))
    expected = {type(m).__name__: _answers(m) for m in (first, second)}
    target = rs.save(first, tmp_path / "model")
    stop, errors, seen = threading.Event(), [], set()

    def keep_saving() -> None:
        try:
            for i in range(24):
                rs.save((first, second)[i % 2], target)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            stop.set()

    writer = threading.Thread(target=keep_saving)
    writer.start()
    while not stop.is_set():
        loaded = rs.load(target)
        assert _answers(loaded) == expected[type(loaded).__name__]
        seen.add(type(loaded).__name__)
    writer.join()
    assert not errors
    assert sorted(os.listdir(tmp_path)) == ["model"]
