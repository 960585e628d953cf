"""Safe model files: a directory of ``.npy`` / ``.npz`` arrays and a JSON manifest.

Layout of a saved model::

    models/als/
      manifest.json        format version, recsys version, class, hyperparameters, shapes,
                           dtypes and the SHA-256 of every array file
      users_.ids.npy       external ids (numbers, or unicode strings; mixed ids go to JSON)
      item_factors_.npy    dense learned arrays
      similarity_.npz      sparse learned matrices, scipy's npz
      derived.hnsw_graph.npy  derived state kept because it is slow to rebuild (optional)

What is saved is generic: every public attribute ending in ``_`` (scikit-learn's mark of
learned state). A family whose state needs rebuilding after loading (an ANN index, a backend
object) defines ``_restore(derived)``; when the rebuild is slow (an HNSW graph: minutes at 1M
items) it also defines ``_derived_arrays()``, whose arrays are saved and checksummed like the
learned ones, under ``derived`` in the manifest, and handed back to ``_restore`` on loading.
Nothing is pickled: arrays load with ``allow_pickle=False``.

Composite models (a Hybrid) hold other models. Such a model defines ``_members()``, returning
its sub-models by name; each is saved the same way into the subdirectory of that name, and the
parent's manifest records the SHA-256 of each member's manifest under ``members``. Parameters
that are sub-models are written as ``{"$member": name}`` and resolved on loading.

Writes are atomic: the directory is written beside the target under a temporary name, then
swapped in by rename, so a crash mid-save leaves the previous model intact.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import shutil
import sys
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
# File name prefix of derived arrays: learned-state names end in "_", so none can collide.
DERIVED_PREFIX = "derived."


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
    elif len(ids) and all(isinstance(v, str) and not v.endswith("\0") for v in ids):
        # numpy's unicode dtype drops trailing NULs ("a\0" would load as "a"): such ids
        # take the JSON route below.
        array = ids.astype(str)
    elif len(ids) and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                          for v in ids):
        # Python ints beyond int64 cannot live in a numeric array; keep them exact in JSON.
        path = directory / f"{name}.ids.json"
        path.write_text(json.dumps({"kind": "int", "values": [str(int(v)) for v in ids]}))
        return {"file": path.name, "kind": "ids-json"}
    elif len(ids) and all(isinstance(v, str) for v in ids):
        path = directory / f"{name}.ids.json"
        path.write_text(json.dumps({"kind": "str", "values": [str(v) for v in ids]}))
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
    elif payload["kind"] == "str":
        values = [str(v) for v in payload["values"]]
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
            entries[name] = _write_dense(value, directory / f"{name}.npy",
                                         f"{type(model).__name__}.{name}")
        else:
            scalars[name] = _json_value(value, f"{type(model).__name__}.{name}")
    derived = _write_derived(model, directory)
    for entry in (*entries.values(), *derived.values()):
        entry["sha256"] = _sha256(directory / entry["file"])
    return {"arrays": entries, "scalars": scalars, "derived": derived}


def _write_dense(value: np.ndarray, path: Path, where: str) -> dict:
    if value.dtype == object:
        raise DataError(f"{where} is an object array; only numeric and string arrays can be "
                        "saved without pickle")
    np.save(path, np.ascontiguousarray(value), allow_pickle=False)
    return {"file": path.name, "kind": "dense", "shape": list(value.shape),
            "dtype": str(value.dtype)}


def _write_derived(model: Recommender, directory: Path) -> dict[str, dict]:
    """The arrays of ``model._derived_arrays()`` as ``derived.<name>.npy`` files."""
    entries: dict[str, dict] = {}
    for name, value in sorted(model._derived_arrays().items()):
        where = f"{type(model).__name__} derived array {name!r}"
        if not (isinstance(name, str) and name.isidentifier()):
            raise DataError(f"{where}: the name must be an identifier (it names a file)")
        if not isinstance(value, np.ndarray):
            raise DataError(f"{where} is a {type(value).__name__}, not a numpy array")
        entries[name] = _write_dense(value, directory / f"{DERIVED_PREFIX}{name}.npy", where)
    return entries


MEMBER_REF = "$member"


def _members_of(model: Recommender) -> dict[str, Recommender]:
    hook = getattr(model, "_members", None)
    members = dict(hook()) if hook is not None else {}
    for name in members:
        _check_member_name(name, type(model).__name__)
    return members


def _check_member_name(name: Any, where: Any) -> None:
    # Names become directory names: keep them to one plain path component.
    if not (isinstance(name, str) and name and Path(name).name == name
            and not name.startswith(".") and name != MANIFEST):
        raise DataError(f"{where}: member name {name!r} is not a plain directory name")


def _member_refs(value: Any, names: dict[int, str], where: str) -> Any:
    """Parameters with every sub-model replaced by a reference to its member name."""
    if isinstance(value, Recommender):
        if id(value) not in names:
            raise DataError(f"{where} holds a {type(value).__name__} that _members() does "
                            "not list, so it cannot be saved")
        return {MEMBER_REF: names[id(value)]}
    if isinstance(value, (list, tuple)):
        return [_member_refs(v, names, where) for v in value]
    if isinstance(value, dict):
        return {k: _member_refs(v, names, where) for k, v in value.items()}
    return value


def _resolve_refs(value: Any, members: dict[str, Recommender], where: Path) -> Any:
    if isinstance(value, dict) and set(value) == {MEMBER_REF}:
        if value[MEMBER_REF] not in members:
            raise DataError(f"{where} refers to member {value[MEMBER_REF]!r}, which it does "
                            "not list")
        return members[value[MEMBER_REF]]
    if isinstance(value, list):
        return [_resolve_refs(v, members, where) for v in value]
    if isinstance(value, dict):
        return {k: _resolve_refs(v, members, where) for k, v in value.items()}
    return value


def _write_model(model: Recommender, directory: Path) -> None:
    """Arrays, members (in subdirectories) and the manifest of ``model`` into ``directory``."""
    name = type(model).__name__
    state = _write_state(model, directory)
    members = _members_of(model)
    listed: dict[str, dict] = {}
    for member_name, member in members.items():
        member._check_fitted()
        (directory / member_name).mkdir()
        _write_model(member, directory / member_name)
        listed[member_name] = {"class": type(member).__name__,
                               "sha256": _sha256(directory / member_name / MANIFEST)}
    params = model.get_params()
    if members:
        params = _member_refs(params, {id(m): n for n, m in members.items()},
                              f"{name} parameters")
    from recsys import __version__

    manifest = {
        "format_version": FORMAT_VERSION,
        "recsys_version": __version__,
        "class": name,
        "params": _json_value(params, f"{name} parameters"),
        "saved_at": datetime.now(timezone.utc).isoformat(),
        **state,
    }
    if members:
        manifest["members"] = listed
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))


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
        _write_model(model, staging)
        _fsync_tree(staging)
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _fsync_tree(directory: Path) -> None:
    for file in directory.iterdir():
        if file.is_dir():  # a member of a composite model
            _fsync_tree(file)
            continue
        with open(file, "rb") as handle:
            os.fsync(handle.fileno())
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    """Make a directory's entries (new files, renames) durable; a no-op where unsupported."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False where the call or the flag is unsupported (other systems, old kernels,
    some filesystems); the caller then falls back to two renames.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second),
                 _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _swap_in(staging: Path, target: Path) -> None:
    """Put ``staging`` in place of ``target``.

    An existing target is exchanged with the staging directory in one atomic step where the
    system allows it, so the target path always names a complete model, even to a reader
    loading it meanwhile or after a crash at any instant. Elsewhere the target is moved
    aside first and removed only once the new one is in place (a crash between the two
    renames leaves the previous model beside the target, as ``.<name>.old-*``).
    """
    if not target.exists():
        try:
            os.rename(staging, target)
            _fsync_dir(target.parent)
            return
        except OSError as exc:  # another save put a target there meanwhile
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
    if _exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)  # now holds the previous model
    else:
        retired = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
        os.rename(target, retired)
        try:
            os.rename(staging, target)
        except BaseException:
            os.rename(retired, target)
            raise
        shutil.rmtree(retired, ignore_errors=True)
    _fsync_dir(target.parent)


def _identity(directory: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(directory)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def load(path: str | os.PathLike) -> Recommender:
    """Load a model saved by :func:`save`, verifying format version and every checksum.

    Raises
    ------
    recsys.errors.DataError
        Missing or malformed manifest, future format version, unknown model class.
    recsys.errors.ChecksumError
        An array file was changed or truncated after saving (the message names it).
    """
    return load_with_manifest(path)[0]


def load_with_manifest(path: str | os.PathLike) -> tuple[Recommender, dict]:
    """:func:`load`, also returning the manifest the model was read from.

    A save to the same path may swap the directory while it is being read: every file is
    checked against the manifest read first, so a mix is detected, and the load starts over
    (twice at most) when the directory was indeed replaced meanwhile.
    """
    directory = Path(path)
    for attempt in range(3):
        before = _identity(directory)
        try:
            return _load_once(directory)
        except DataError:
            if attempt == 2 or _identity(directory) == before:
                raise
    raise AssertionError("unreachable")


def _load_once(directory: Path) -> tuple[Recommender, dict]:
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise DataError(f"{directory} is not a saved model: {MANIFEST} is missing")
    try:
        manifest = json.loads(manifest_path.read_text())
        version = manifest["format_version"]
        class_name = manifest["class"]
        params, arrays = manifest["params"], manifest["arrays"]
        scalars = manifest.get("scalars", {})
        members = manifest.get("members", {})
        # Absent from files saved before derived state was kept: the model rebuilds it.
        derived = manifest.get("derived", {})
        if not (isinstance(params, dict) and isinstance(arrays, dict)
                and isinstance(scalars, dict) and isinstance(members, dict)
                and isinstance(derived, dict)
                and all(isinstance(e, dict) for e in members.values())
                and all(isinstance(e, dict) and isinstance(e.get("file"), str)
                        for e in (*arrays.values(), *derived.values()))):
            raise TypeError("params, arrays, derived and scalars must be objects; arrays "
                            "need 'file'")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError,
            AttributeError) as exc:
        raise DataError(f"{manifest_path} is malformed: {exc}") from None
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise DataError(f"{manifest_path} has an invalid format version {version!r}")
    if version > FORMAT_VERSION:
        raise DataError(f"{manifest_path} has format version {version!r}; this recsys reads "
                        f"up to {FORMAT_VERSION}: upgrade recsys to load it")
    models = registered_models()
    if class_name not in models:
        raise DataError(f"{manifest_path} names unknown model class {class_name!r}")
    # Only learned-state names may be set (what save writes): a tampered manifest must not
    # overwrite methods or private attributes of the model.
    for name in (*arrays, *scalars):
        if not (name.isidentifier() and name.endswith("_") and not name.startswith("_")):
            raise DataError(f"{manifest_path} lists {name!r}, which is not learned state")
    for name in derived:
        if not name.isidentifier():
            raise DataError(f"{manifest_path} lists derived array {name!r}, which is not an "
                            "identifier")
    loaded: dict[str, Recommender] = {}
    for member_name, entry in members.items():
        _check_member_name(member_name, manifest_path)
        member_manifest = directory / member_name / MANIFEST
        if not member_manifest.is_file():
            raise DataError(f"{member_manifest} is listed in the manifest but missing")
        if _sha256(member_manifest) != entry.get("sha256"):
            raise ChecksumError(f"{member_manifest} does not match its SHA-256 in the "
                                "manifest (changed or truncated after saving)")
        loaded[member_name] = _load_once(directory / member_name)[0]
    if loaded:
        params = _resolve_refs(params, loaded, manifest_path)
    try:
        model = models[class_name](**params)
    except TypeError as exc:
        raise DataError(f"{manifest_path}: parameters do not fit {class_name}: {exc}") from None
    for name, entry in arrays.items():
        setattr(model, name, _read_entry(directory, entry))
    for name, value in scalars.items():
        setattr(model, name, value)
    model._restore({name: _read_entry(directory, entry) for name, entry in derived.items()})
    return model, manifest


def _read_entry(directory: Path, entry: dict) -> Any:
    """The array of one manifest entry, after checking the file against its SHA-256."""
    file = directory / entry["file"]
    if Path(entry["file"]).name != entry["file"] or not file.is_file():
        raise DataError(f"{file} is listed in the manifest but missing")
    try:
        digest = _sha256(file)
    except OSError as exc:
        raise DataError(f"{file} cannot be read: {exc}") from None
    if digest != entry.get("sha256"):
        raise ChecksumError(f"{file} does not match its SHA-256 in the manifest "
                            "(changed or truncated after saving)")
    try:
        if entry.get("kind") in ("ids", "ids-json"):
            return _read_ids(file, entry)
        if entry.get("kind") == "sparse":
            return sp.load_npz(file).tocsr()
        if entry.get("kind") == "dense":
            return np.load(file, allow_pickle=False)
        raise ValueError(f"unknown kind {entry.get('kind')!r}")
    except (ValueError, OSError, KeyError, TypeError) as exc:
        raise DataError(f"{file} cannot be read: {exc}") from None
