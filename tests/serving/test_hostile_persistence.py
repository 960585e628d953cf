"""Hostile model directories and save targets: every probe gets a recsys error naming the file,
and nothing is changed or lost. Probes that crashed the process before (heap corruption,
segfaults in compiled kernels) run in a subprocess whose exit code is asserted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import recsys as rs
from recsys.errors import ChecksumError, DataError, ModelFileError
from recsys.serving import _rename
from recsys.serving.persistence import MANIFEST
from tests.serving.tamper import (
    load_in_subprocess,
    manifest_of,
    put_csr_parts,
    put_dense,
    rehash,
    write_manifest,
)


@pytest.fixture(scope="module")
def ml100k(ml100k_dir) -> rs.Interactions:
    return rs.datasets.movielens_100k(ml100k_dir, show_progress=False).interactions


@pytest.fixture(scope="module")
def saved_models(ml100k, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    models = {"als": rs.ALS(factors=8, iterations=2, seed=0), "knn": rs.ItemKNN(k=20),
              "rules": rs.AssociationRules(min_support=0.05, min_confidence=0.2)}
    return {name: rs.save(model.fit(ml100k), root / name) for name, model in models.items()}


@pytest.fixture()
def copy_of(saved_models, tmp_path):
    def copy(name: str) -> Path:
        return Path(shutil.copytree(saved_models[name], tmp_path / name))
    return copy


def _answers(directory: Path) -> dict:
    model = rs.load(directory)
    return model.recommend(model.users_.ids[:20], k=5).to_dict()


# ------------------------------------------------------------------ crash-prone: subprocess


def _truncated_rows(directory: Path) -> None:
    factors = np.load(directory / "item_factors_.npy")
    put_dense(directory, "item_factors_", factors[:10])


def _far_indices(directory: Path) -> None:
    put_csr_parts(directory, "similarity_", indices=np.full(
        len(np.load(directory / "similarity_.npz")["indices"]), 10**6, np.int32))


def _negative_indices(directory: Path) -> None:
    indices = np.load(directory / "user_items_.npz")["indices"].copy()
    indices[::7] = -3
    put_csr_parts(directory, "user_items_", indices=indices)


def _bad_indptr(directory: Path) -> None:
    indptr = np.load(directory / "similarity_.npz")["indptr"].copy()
    indptr[5] = indptr[-1] + 1000
    put_csr_parts(directory, "similarity_", indptr=indptr)


def _short_indptr(directory: Path) -> None:
    indptr = np.load(directory / "user_items_.npz")["indptr"]
    put_csr_parts(directory, "user_items_", indptr=indptr[:-100])


def _unsorted_indices(directory: Path) -> None:
    parts = np.load(directory / "similarity_.npz")
    indices, indptr = parts["indices"].copy(), parts["indptr"]
    row = int(np.argmax(np.diff(indptr)))
    indices[indptr[row]:indptr[row + 1]] = indices[indptr[row]:indptr[row + 1]][::-1]
    put_csr_parts(directory, "similarity_", indices=indices)


def _wider_shape(directory: Path) -> None:
    put_csr_parts(directory, "user_items_", shape=np.array([943, 5000]))


def _rule_item_out_of_range(directory: Path) -> None:
    antecedents = np.load(directory / "antecedents_.npy").copy()
    antecedents[0, 0] = 10**6
    put_dense(directory, "antecedents_", antecedents)


def _rule_padding_first(directory: Path) -> None:
    antecedents = np.load(directory / "antecedents_.npy").copy()
    antecedents[:, 0] = -1
    put_dense(directory, "antecedents_", antecedents)


def _fewer_user_ids(directory: Path) -> None:
    ids = np.load(directory / "users_.ids.npy")
    np.save(directory / "users_.ids.npy", ids[:-50], allow_pickle=False)
    rehash(directory, "users_")


def _huge_header(directory: Path) -> None:
    # A valid header announcing 10^12 floats over a 128-byte file: numpy would try to
    # allocate them all.
    path = directory / "item_factors_.npy"
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**12, 8)}
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
        handle.write(b"\0" * 128)
    rehash(directory, "item_factors_", describe=False)


CRASH_PRONE = {
    "factor rows fewer than items": ("als", _truncated_rows),
    "CSR column indices of 10^6": ("knn", _far_indices),
    "negative CSR indices": ("knn", _negative_indices),
    "indptr beyond nnz": ("knn", _bad_indptr),
    "indptr too short": ("knn", _short_indptr),
    "unsorted CSR indices": ("knn", _unsorted_indices),
    "CSR wider than the items": ("knn", _wider_shape),
    "rule item out of range": ("rules", _rule_item_out_of_range),
    "rule padding first": ("rules", _rule_padding_first),
    "fewer user ids than rows": ("als", _fewer_user_ids),
    "header larger than file": ("als", _huge_header),
}


@pytest.mark.parametrize("probe", sorted(CRASH_PRONE))
def test_crash_prone_files_are_refused_in_a_subprocess(probe, copy_of):
    name, tamper = CRASH_PRONE[probe]
    directory = copy_of(name)
    tamper(directory)
    code, last_line = load_in_subprocess(directory)
    assert (code, last_line) == (0, "ModelFileError")
    with pytest.raises(ModelFileError, match=str(directory)):  # names the directory / file
        rs.load(directory)


# ------------------------------------------------------------------ in process


def test_dtype_and_shape_are_checked_against_the_manifest(copy_of):
    directory = copy_of("als")
    factors = np.load(directory / "item_factors_.npy")
    put_dense(directory, "item_factors_", factors.astype(np.float64), describe=False)
    with pytest.raises(ModelFileError, match=r"item_factors_\.npy holds float64 .* says float32"):
        rs.load(directory)
    put_dense(directory, "item_factors_", factors[:, :4], describe=False)
    with pytest.raises(ModelFileError, match=r"item_factors_\.npy holds float32 \(1682, 4\)"):
        rs.load(directory)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_refused(copy_of, bad):
    directory = copy_of("als")
    factors = np.load(directory / "user_factors_.npy").copy()
    factors[3, 2] = bad
    put_dense(directory, "user_factors_", factors)
    with pytest.raises(ModelFileError, match="user_factors_ holds NaN or infinite"):
        rs.load(directory)
    directory = copy_of("knn")
    data = np.load(directory / "similarity_.npz")["data"].copy()
    data[0] = bad
    put_csr_parts(directory, "similarity_", data=data)
    with pytest.raises(ModelFileError, match="values must be finite"):
        rs.load(directory)


def test_object_and_record_arrays_are_refused(copy_of):
    directory = copy_of("als")
    put_dense(directory, "item_lengths_", np.zeros(1682, dtype=[("a", "<f4")]))
    with pytest.raises(ModelFileError, match="not a plain numeric or text type"):
        rs.load(directory)


def test_duplicate_ids_are_refused(copy_of):
    directory = copy_of("knn")
    ids = np.load(directory / "items_.ids.npy").copy()
    ids[1] = ids[0]
    np.save(directory / "items_.ids.npy", ids, allow_pickle=False)
    rehash(directory, "items_")
    with pytest.raises(ModelFileError, match="items_.ids.npy: ids must be unique"):
        rs.load(directory)


@pytest.mark.parametrize(("params", "message"), [
    ({"factors": "8"}, "factors = '8' is not of the type"),
    ({"regularization": True}, "regularization = True is not of the type"),
    ({"index": "nope"}, "index must be one of"),
    ({"threads": -4}, "threads must be an integer >= 0"),
    ({"alpha": float("nan")}, "non-finite"),
    ({"weights": [1, 2]}, "ALS has no parameter 'weights'"),
])
def test_parameters_go_through_the_constructor_checks(copy_of, params, message):
    directory = copy_of("als")
    manifest = manifest_of(directory)
    manifest["params"].update(params)
    write_manifest(directory, manifest)
    with pytest.raises(ModelFileError, match=message):
        rs.load(directory)


@pytest.mark.parametrize("change", [
    {"arrays": []}, {"params": "x"}, {"class": ["ALS"]}, {"format_version": 1.0},
    {"scalars": {"weighting_": 5}}, {"scalars": {"user_factors_": 1}},
    {"scalars": {"regularization_": "high"}},
])
def test_manifest_fields_of_the_wrong_type_are_refused(copy_of, change):
    directory = copy_of("als")
    manifest = manifest_of(directory)
    manifest.update(change)
    write_manifest(directory, manifest)
    with pytest.raises(ModelFileError):
        rs.load(directory)


def test_manifest_that_is_not_an_object_or_not_json(copy_of):
    directory = copy_of("knn")
    for text in ("[1, 2]", "\xff\xfe", "{" * 100_000, ""):
        (directory / MANIFEST).write_text(text, encoding="latin-1")
        with pytest.raises(ModelFileError, match="manifest.json is malformed"):
            rs.load(directory)


def test_symlinked_and_special_files_are_not_followed(copy_of, tmp_path):
    directory = copy_of("knn")
    outside = tmp_path / "outside.npy"
    shutil.copy(directory / "item_popularity_.npy", outside)
    (directory / "item_popularity_.npy").unlink()
    (directory / "item_popularity_.npy").symlink_to(outside)
    with pytest.raises(ModelFileError, match="cannot be opened"):
        rs.load(directory)
    (directory / "item_popularity_.npy").unlink()
    os.mkfifo(directory / "item_popularity_.npy")  # would block a reader forever
    with pytest.raises(ModelFileError, match="not a regular file"):
        rs.load(directory)


def test_nul_byte_and_overlong_paths(tmp_path):
    for path in (str(tmp_path) + "/a\0b", str(tmp_path / ("x" * 5000))):
        with pytest.raises(ModelFileError, match="is not a saved model"):
            rs.load(path)


def test_checksums_still_catch_damage(copy_of):
    directory = copy_of("als")
    with open(directory / "item_factors_.npy", "r+b") as handle:
        handle.seek(-1, os.SEEK_END)
        handle.write(b"\x7f")
    with pytest.raises(ChecksumError, match="item_factors_.npy does not match"):
        rs.load(directory)


# ------------------------------------------------------------------ save targets


@pytest.fixture()
def small_model() -> rs.Recommender:
    return rs.Popularity().fit(rs.Interactions.from_arrays(["u1", "u2"], ["a", "b"]))


def test_save_refuses_a_file(small_model, tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    with pytest.raises(DataError, match="exists and is not a directory"):
        rs.save(small_model, target)
    assert target.read_text() == "keep me"
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_save_refuses_a_symlink(small_model, saved_models, tmp_path):
    link = tmp_path / "current"
    link.symlink_to(saved_models["knn"])
    before = _answers(saved_models["knn"])
    with pytest.raises(DataError, match="is a symbolic link"):
        rs.save(small_model, link)
    assert link.is_symlink() and _answers(link) == before


def test_save_refuses_a_directory_of_something_else(small_model, tmp_path):
    target = tmp_path / "photos"
    target.mkdir()
    (target / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(DataError, match="holds no saved model"):
        rs.save(small_model, target)
    assert (target / "cat.jpg").read_bytes() == b"\xff\xd8"


def test_save_refuses_a_path_inside_a_model(small_model, copy_of):
    directory = copy_of("knn")
    before = _answers(directory)
    for inside in (directory / MANIFEST, directory / "sub"):
        with pytest.raises(DataError, match="inside the model directory"):
            rs.save(small_model, inside)
    assert _answers(directory) == before
    assert type(rs.load(directory)) is rs.ItemKNN


def test_save_over_a_model_and_into_an_empty_directory(small_model, copy_of, tmp_path):
    directory = copy_of("knn")
    rs.save(small_model, directory)
    assert type(rs.load(directory)) is rs.Popularity
    empty = tmp_path / "empty"
    empty.mkdir()
    rs.save(small_model, empty)
    assert type(rs.load(empty)) is rs.Popularity


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_leftovers_of_killed_saves_are_swept(small_model, tmp_path):
    target = rs.save(small_model, tmp_path / "model")
    dead, alive = _dead_pid(), os.getpid()
    leftovers = [tmp_path / f".model.tmp-{dead}-{'a' * 12}",
                 tmp_path / f".model.old-{dead}-{'b' * 12}"]
    live = tmp_path / f".model.tmp-{alive}-{'c' * 12}"  # a save running in this process
    other = tmp_path / f".other.tmp-{dead}-{'d' * 12}"  # another target's business
    for path in (*leftovers, live, other):
        path.mkdir()
        (path / "item_factors_.npy").write_bytes(b"\0" * 1000)
    rs.save(small_model, target)
    assert sorted(os.listdir(tmp_path)) == sorted(["model", live.name, other.name])


def test_two_rename_fallback_gives_the_same_result(small_model, saved_models, tmp_path,
                                                   monkeypatch):
    # Where renameat2 is missing (other systems, old C libraries) the swap takes two renames.
    results = {}
    for atomic in (True, False):
        if not atomic:
            monkeypatch.setattr(_rename, "RENAMEAT2", None)
        target = Path(shutil.copytree(saved_models["knn"], tmp_path / f"m-{atomic}"))
        rs.save(small_model, target)
        results[atomic] = (sorted(os.listdir(target)), _answers(target),
                           sorted(p.name for p in tmp_path.iterdir()))
    assert results[True][:2] == results[False][:2]
    assert not any(name.startswith(".") for name in results[False][2])
    assert _rename.exchange(tmp_path / "m-True", tmp_path / "m-False") is False
