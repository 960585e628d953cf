"""Writing a model directory: learned arrays, derived arrays, members and the manifest.

What is saved is generic: every public attribute ending in ``_`` (scikit-learn's mark of
learned state), see :mod:`recsys.serving.persistence` for the layout. Nothing is pickled.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys._version import __version__
from recsys.data.ids import IdIndex
from recsys.errors import DataError
from recsys.models.base import Recommender
from recsys.serving._files import sha256
from recsys.serving._item_rules import SECTION, entries, write_item_rules

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# File name prefix of derived arrays: learned-state names end in "_", so none can collide.
DERIVED_PREFIX = "derived."


def sha256_of(path: Path) -> str:
    with open(path, "rb") as handle:
        return sha256(handle)


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
        tagged: list[list[str | float]] = []
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
            canonical = sp.csr_matrix(value, copy=True)  # what rs.load will insist on
            canonical.sum_duplicates()
            canonical.sort_indices()
            sp.save_npz(path, canonical, compressed=False)
            entries[name] = {"file": path.name, "kind": "sparse", "shape": list(value.shape),
                             "dtype": str(value.dtype)}
        elif isinstance(value, np.ndarray):
            entries[name] = _write_dense(value, directory / f"{name}.npy",
                                         f"{type(model).__name__}.{name}")
        else:
            scalars[name] = _json_value(value, f"{type(model).__name__}.{name}")
    derived = _write_derived(model, directory)
    for entry in (*entries.values(), *derived.values()):
        entry["sha256"] = sha256_of(directory / entry["file"])
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


def members_of(model: Recommender) -> dict[str, Recommender]:
    hook = getattr(model, "_members", None)
    members = dict(hook()) if hook is not None else {}
    for name in members:
        check_member_name(name, type(model).__name__)
    return members


def check_member_name(name: Any, where: Any) -> None:
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


def write_model(model: Recommender, directory: Path, extra: dict | None = None) -> None:
    """Arrays, members (in subdirectories) and the manifest of ``model`` into ``directory``;
    ``extra`` entries join the top-level manifest."""
    name = type(model).__name__
    state = _write_state(model, directory)
    rules = write_item_rules(model, directory, _write_dense)
    if rules is not None:
        for entry in entries(rules):
            entry["sha256"] = sha256_of(directory / entry["file"])
        state[SECTION] = rules
    members = members_of(model)
    listed: dict[str, dict] = {}
    for member_name, member in members.items():
        member._check_fitted()
        (directory / member_name).mkdir()
        write_model(member, directory / member_name)
        listed[member_name] = {"class": type(member).__name__,
                               "sha256": sha256_of(directory / member_name / MANIFEST)}
    params = model.get_params()
    if members:
        params = _member_refs(params, {id(m): n for n, m in members.items()},
                              f"{name} parameters")
    manifest = {
        "format_version": FORMAT_VERSION,
        "recsys_version": __version__,
        "class": name,
        "params": _json_value(params, f"{name} parameters"),
        "saved_at": datetime.now(timezone.utc).isoformat(),
        **state,
        **(extra or {}),
    }
    if members:
        manifest["members"] = listed
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))


def fsync_dir(directory: Path) -> None:
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
