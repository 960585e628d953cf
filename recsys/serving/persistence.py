"""Safe model files: a directory of ``.npy`` / ``.npz`` arrays and a JSON manifest.

Layout of a saved model::

    models/als/
      manifest.json        format version, recsys version, class, hyperparameters, shapes,
                           dtypes and the SHA-256 of every array file
      users_.ids.npy       external ids (numbers, or unicode strings; mixed ids go to JSON)
      item_factors_.npy    dense learned arrays
      similarity_.npz      sparse learned matrices, scipy's npz

What is saved is generic: every public attribute ending in ``_`` (scikit-learn's mark of
learned state). A family whose state needs rebuilding after loading (an ANN index, a backend
object) defines ``_restore()``. Nothing is pickled: arrays load with ``allow_pickle=False``.

Writes are atomic: the directory is written beside the target under a temporary name, then
swapped in by rename, so a crash mid-save leaves the previous model intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.data.ids import IdIndex
from recsys.errors import ChecksumError, DataError
from recsys.models.base import Recommender, registered_models

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _json_value(value: Any, where: str) -> Any:
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v, f"{where}.{k}") for k, v in value.items()}
    raise DataError(f"{where} = {value!r} cannot be saved as JSON")


def _write_ids(ids: np.ndarray, directory: Path, name: str) -> dict:
    """External ids as a plain numeric or unicode array; anything else as tagged JSON."""
    if ids.dtype.kind in "iub":
        array = ids
    elif len(ids) and all(isinstance(v, str) for v in ids):
        array = ids.astype(str)
    elif len(ids) and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                          for v in ids):
        # Python ints beyond int64 cannot live in a numeric array; keep them exact in JSON.
        path = directory / f"{name}.ids.json"
        path.write_text(json.dumps({"kind": "int", "values": [str(int(v)) for v in ids]}))
        return {"file": path.name, "kind": "ids-json"}
    else:
        tagged = []
        for v in ids:
            if isinstance(v, str):
                tagged.append(["s", v])
            elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                tagged.append(["i", str(int(v))])
            elif isinstance(v, (float, np.floating)):
                tagged.append(["f", float(v)])
            else:
                raise DataError(f"{name}: id {v!r} of type {type(v).__name__} cannot be saved")
        path = directory / f"{name}.ids.json"
        path.write_text(json.dumps({"kind": "tagged", "values": tagged}))
        return {"file": path.name, "kind": "ids-json"}
    path = directory / f"{name}.ids.npy"
    np.save(path, array, allow_pickle=False)
    return {"file": path.name, "kind": "ids", "dtype": str(array.dtype)}


def _read_ids(path: Path, entry: dict) -> IdIndex:
    if entry["kind"] == "ids":
        values = np.load(path, allow_pickle=False)
        if values.dtype.kind == "U":
            values = values.astype(object)
        return IdIndex(values)
    payload = json.loads(path.read_text())
    if payload["kind"] == "int":
        values = [int(v) for v in payload["values"]]
    else:
        decode = {"s": str, "i": int, "f": float}
        values = [decode[tag](v) for tag, v in payload["values"]]
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return IdIndex(array)


def _write_state(model: Recommender, directory: Path) -> dict:
    entries: dict[str, dict] = {}
    scalars: dict[str, Any] = {}
    for name, value in sorted(vars(model).items()):
        if not name.endswith("_") or name.startswith("_"):
            continue
        if isinstance(value, IdIndex):
            entries[name] = _write_ids(value.ids, directory, name)
        elif sp.issparse(value):
            path = directory / f"{name}.npz"
            sp.save_npz(path, sp.csr_matrix(value), compressed=False)
            entries[name] = {"file": path.name, "kind": "sparse", "shape": list(value.shape),
                             "dtype": str(value.dtype)}
        elif isinstance(value, np.ndarray):
            if value.dtype == object:
                raise DataError(f"{type(model).__name__}.{name} is an object array; "
                                "only numeric and string arrays can be saved without pickle")
            path = directory / f"{name}.npy"
            np.save(path, np.ascontiguousarray(value), allow_pickle=False)
            entries[name] = {"file": path.name, "kind": "dense", "shape": list(value.shape),
                             "dtype": str(value.dtype)}
        else:
            scalars[name] = _json_value(value, f"{type(model).__name__}.{name}")
    for entry in entries.values():
        entry["sha256"] = _sha256(directory / entry["file"])
    return {"arrays": entries, "scalars": scalars}


def save(model: Recommender, path: str | os.PathLike) -> Path:
    """Save a fitted model to the directory ``path`` atomically.

    Parameters
    ----------
    model : Recommender
        A fitted model of any family.
    path : str or PathLike
        Target directory; replaced as a whole if it exists.

    Returns
    -------
    pathlib.Path
        The directory written.

    Examples
    --------
    >>> import recsys as rs, tempfile
    >>> model = rs.Popularity().fit(rs.Interactions.from_arrays(["u"], ["i"]))
    >>> target = rs.save(model, tempfile.mkdtemp() + "/pop")
    >>> rs.load(target).recommend("u", k=1, exclude_seen=False)["u"]
    ['i']
    """
    model._check_fitted()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        state = _write_state(model, staging)
        from recsys import __version__

        manifest = {
            "format_version": FORMAT_VERSION,
            "recsys_version": __version__,
            "class": type(model).__name__,
            "params": _json_value(model.get_params(), f"{type(model).__name__} parameters"),
            "saved_at": datetime.now(timezone.utc).isoformat(),
            **state,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        _fsync_tree(staging)
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _fsync_tree(directory: Path) -> None:
    for file in directory.iterdir():
        with open(file, "rb") as handle:
            os.fsync(handle.fileno())


def _swap_in(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an existing target is moved aside first and removed
    only once the new one is in place."""
    if not target.exists():
        os.rename(staging, target)
        return
    retired = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
    os.rename(target, retired)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def load(path: str | os.PathLike) -> Recommender:
    """Load a model saved by :func:`save`, verifying format version and every checksum.

    Raises
    ------
    recsys.errors.DataError
        Missing or malformed manifest, future format version, unknown model class.
    recsys.errors.ChecksumError
        An array file was changed or truncated after saving (the message names it).
    """
    directory = Path(path)
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise DataError(f"{directory} is not a saved model: {MANIFEST} is missing")
    try:
        manifest = json.loads(manifest_path.read_text())
        version = manifest["format_version"]
        class_name = manifest["class"]
        params, arrays = manifest["params"], manifest["arrays"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"{manifest_path} is malformed: {exc}") from None
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise DataError(f"{manifest_path} has format version {version!r}; this recsys reads "
                        f"up to {FORMAT_VERSION}: upgrade recsys to load it")
    models = registered_models()
    if class_name not in models:
        raise DataError(f"{manifest_path} names unknown model class {class_name!r}")
    model = models[class_name](**params)
    for name, entry in arrays.items():
        file = directory / entry["file"]
        if not file.is_file() or Path(entry["file"]).name != entry["file"]:
            raise DataError(f"{file} is listed in the manifest but missing")
        if _sha256(file) != entry.get("sha256"):
            raise ChecksumError(f"{file} does not match its SHA-256 in the manifest "
                                "(changed or truncated after saving)")
        try:
            if entry["kind"] in ("ids", "ids-json"):
                value = _read_ids(file, entry)
            elif entry["kind"] == "sparse":
                value = sp.load_npz(file).tocsr()
            else:
                value = np.load(file, allow_pickle=False)
        except (ValueError, OSError, KeyError) as exc:
            raise DataError(f"{file} cannot be read: {exc}") from None
        setattr(model, name, value)
    for name, value in manifest.get("scalars", {}).items():
        setattr(model, name, value)
    model._restore()
    return model
