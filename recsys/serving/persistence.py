"""Safe model files: a directory of ``.npy`` / ``.npz`` arrays and a JSON manifest.

Layout of a saved model::

    models/als/
      manifest.json        format version, recsys version, class, hyperparameters, shapes,
                           dtypes and the SHA-256 of every array file
      users_.ids.npy       external ids (numbers, or unicode strings; mixed ids go to JSON)
      item_factors_.npy    dense learned arrays
      similarity_.npz      sparse learned matrices, scipy's npz
      derived.hnsw_graph.npy  derived state kept because it is slow to rebuild (optional)
      attr.0.values.npy    item attributes and named item sets, when the model has any
      set.0.npy            (see :mod:`recsys.serving._item_rules`)

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
swapped in by rename, so a crash mid-save leaves the previous model intact; what a killed save
leaves behind is swept by the next save of the same target. A target that exists and is not
a model directory (a file, a symlink, a directory of something else) is refused.

Loading trusts nothing it has not checked, before any model code runs: the manifest's
structure, every file's SHA-256, every array's header, dtype and shape, every CSR matrix's
structure, the ids, the parameters' types, the shapes every model shares, and then the
family's own consistency (``Recommender._check_state``). The checksums detect damage (a
truncated copy, a flipped bit), not an attacker: whoever can write the model directory can
rewrite the manifest too. They can then make a model answer wrongly, but not crash the
process or run code (nothing is unpickled). Keep the directory writable only by the job that
saves models.
"""

from __future__ import annotations

import errno
import inspect
import math
import os
import shutil
from pathlib import Path
from typing import Any

from recsys.data.ids import IdIndex
from recsys.errors import ChecksumError, DataError, ModelFileError
from recsys.models._state import expect
from recsys.models.base import Recommender, registered_models
from recsys.serving import _rename
from recsys.serving._files import ModelDir, read_entry, sha256
from recsys.serving._item_rules import SECTION, read_item_rules
from recsys.serving._write import (
    DERIVED_PREFIX,
    FORMAT_VERSION,
    MANIFEST,
    MEMBER_REF,
    check_member_name,
    fsync_dir,
    write_model,
)

__all__ = ["DERIVED_PREFIX", "FORMAT_VERSION", "MANIFEST", "load", "load_with_manifest",
           "save"]

# A load that finds the directory replaced under it starts over, this many times at most.
LOAD_ATTEMPTS = 5


def save(model: Recommender, path: str | os.PathLike, *,
         events: dict | None = None) -> Path:
    """Save a fitted model to the directory ``path`` atomically.

    Parameters
    ----------
    model : Recommender
        A fitted model of any family.
    path : str or PathLike
        Target directory; a model directory there is replaced as a whole. Anything else
        there (a file, a symlink, a directory that holds no model) is refused.
    events : dict, optional
        The model's snapshot point in a service's event log, ``{"log_id": str, "seq":
        int}``: the model holds that log's records up to ``seq`` (see
        :func:`recsys.serving.retrain.retrain`); recorded as ``events`` in the manifest.

    Returns
    -------
    pathlib.Path
        The directory written.

    Raises
    ------
    recsys.errors.DataError
        The target exists and is not a model directory, or lies inside one.

    Examples
    --------
    >>> import recsys as rs, tempfile
    >>> model = rs.Popularity().fit(rs.Interactions.from_arrays(["u"], ["i"]))
    >>> target = rs.save(model, tempfile.mkdtemp() + "/pop")
    >>> rs.load(target).recommend("u", k=1, exclude_seen=False)["u"]
    ['i']
    """
    model._check_fitted()
    if events is not None and not (
            isinstance(events, dict) and set(events) == {"log_id", "seq"}
            and isinstance(events["log_id"], str) and type(events["seq"]) is int
            and events["seq"] >= 0):
        raise DataError(f'events must be {{"log_id": str, "seq": int >= 0}}, got {events!r}')
    target = Path(os.path.abspath(path))
    _check_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _rename.sweep(target)
    staging = _rename.aside(target, "tmp")
    staging.mkdir()
    try:
        write_model(model, staging, {} if events is None else {"events": events})
        _fsync_tree(staging)
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Path(path)


def _check_target(target: Path) -> None:
    if not target.name or target.name in (".", ".."):
        raise DataError(f"cannot save a model as {target}: give a directory name")
    if _is_model_dir(target.parent):
        raise DataError(f"cannot save a model inside the model directory {target.parent}")
    if target.is_symlink():
        raise DataError(f"{target} is a symbolic link: save to a new directory and point the "
                        "link at it (a save never replaces a link)")
    if target.exists() and not target.is_dir():
        raise DataError(f"{target} exists and is not a directory; a save would replace it")
    if target.is_dir() and any(target.iterdir()) and not _is_model_dir(target):
        raise DataError(f"{target} exists and holds no saved model ({MANIFEST} is missing); "
                        "a save would replace it")


def _is_model_dir(directory: Path) -> bool:
    return (directory / MANIFEST).is_file() and not (directory / MANIFEST).is_symlink()


def _fsync_tree(directory: Path) -> None:
    for file in directory.iterdir():
        if file.is_dir():  # a member of a composite model
            _fsync_tree(file)
            continue
        with open(file, "rb") as handle:
            os.fsync(handle.fileno())
    fsync_dir(directory)


def _swap_in(staging: Path, target: Path) -> None:
    """Put ``staging`` in place of ``target``.

    An existing target is exchanged with the staging directory in one atomic step where the
    system allows it, so the target path always names a complete model, even to a reader
    loading it meanwhile or after a crash at any instant (see :mod:`._rename` for the
    fallback elsewhere).
    """
    if not target.exists():
        try:
            os.rename(staging, target)
            fsync_dir(target.parent)
            return
        except OSError as exc:  # another save put a target there meanwhile
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
    _rename.swap(staging, target)
    fsync_dir(target.parent)


def load(path: str | os.PathLike) -> Recommender:
    """Load a model saved by :func:`save`, checking everything before trusting it.

    Raises
    ------
    recsys.errors.ModelFileError
        Missing or malformed manifest or array file, future format version, unknown model
        class, parameters of the wrong type, arrays whose dtype, shape or structure does not
        fit the model (the message names the file and what is wrong).
    recsys.errors.ChecksumError
        An array file was changed or truncated after saving (the message names it).

    Examples
    --------
    >>> import recsys as rs, tempfile
    >>> path = rs.save(rs.Popularity().fit(rs.Interactions.from_arrays(["u"], ["i"])),
    ...                tempfile.mkdtemp() + "/pop")
    >>> type(rs.load(path)).__name__
    'Popularity'
    """
    return load_with_manifest(path)[0]


def load_with_manifest(path: str | os.PathLike) -> tuple[Recommender, dict]:
    """:func:`load`, also returning the manifest the model was read from.

    Every file is read through one handle on the directory, so a save swapping the
    directory meanwhile cannot mix two models; when the swap removed files the load still
    needed, it starts over.
    """
    directory = Path(path)
    for _ in range(LOAD_ATTEMPTS):
        before = _identity(directory)
        try:
            with ModelDir(directory) as handle:
                return _load_dir(handle)
        except DataError:
            if _identity(directory) == before:
                raise
    raise ModelFileError(f"{directory} was replaced while being read, {LOAD_ATTEMPTS} times "
                         "in a row")


def _identity(directory: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(directory)
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino


def _load_dir(directory: ModelDir) -> tuple[Recommender, dict]:
    where = directory.path / MANIFEST
    if not directory.exists(MANIFEST):
        raise ModelFileError(f"{directory.path} is not a saved model: {MANIFEST} is missing")
    manifest = directory.read_json(MANIFEST)
    cls, params, arrays, scalars, derived, members = _parse_manifest(manifest, where)
    loaded = {name: _load_member(directory, name, entry, where)
              for name, entry in members.items()}
    params = _resolve_refs(params, loaded, where)
    _check_params(cls, params, where)
    try:
        model = cls(**params)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{where}: parameters do not fit {cls.__name__}: {exc}") from None
    for name, entry in arrays.items():
        setattr(model, name, read_entry(directory, entry, name))
    for name, value in scalars.items():
        setattr(model, name, value)
    _check_state(model, where)
    derived = {name: read_entry(directory, entry, name) for name, entry in derived.items()}
    try:
        model._restore(derived)
    except (ValueError, TypeError, IndexError) as exc:
        raise ModelFileError(f"{where}: the derived state cannot be restored: {exc}") from None
    read_item_rules(directory, manifest.get(SECTION), model, where)
    return model, manifest


def _parse_manifest(manifest: Any, where: Path) -> tuple:
    """The class, params, arrays, scalars, derived and members of a manifest, checked."""
    if not isinstance(manifest, dict):
        raise ModelFileError(f"{where} is malformed: not a JSON object")
    version = manifest.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{where} has an invalid format version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{where} has format version {version!r}; this recsys reads "
                             f"up to {FORMAT_VERSION}: upgrade recsys to load it")
    sections = [manifest.get(key, {}) for key in ("params", "arrays", "scalars", "derived",
                                                  "members")]
    if "params" not in manifest or "arrays" not in manifest \
            or not all(isinstance(s, dict) for s in sections):
        raise ModelFileError(f"{where} is malformed: params, arrays, scalars, derived and "
                             "members must be objects")
    params, arrays, scalars, derived, members = sections
    models = registered_models()
    class_name = manifest.get("class")
    if not isinstance(class_name, str) or class_name not in models:
        raise ModelFileError(f"{where} names unknown model class {class_name!r}")
    # Only learned-state names may be set (what save writes): a tampered manifest must not
    # overwrite methods or private attributes of the model.
    for name in (*arrays, *scalars):
        if not (name.isidentifier() and name.endswith("_") and not name.startswith("_")):
            raise ModelFileError(f"{where} lists {name!r}, which is not learned state")
    if set(arrays) & set(scalars):
        raise ModelFileError(f"{where} lists {sorted(set(arrays) & set(scalars))} both as "
                             "arrays and as scalars")
    for name in derived:
        if not name.isidentifier():
            raise ModelFileError(f"{where} lists derived array {name!r}, which is not an "
                                 "identifier")
    for name in members:
        check_member_name(name, where)
    _check_finite(scalars, f"{where} scalars")
    return models[class_name], params, arrays, scalars, derived, members


def _load_member(directory: ModelDir, name: str, entry: Any, where: Path) -> Recommender:
    member = directory.path / name
    if not isinstance(entry, dict):
        raise ModelFileError(f"{where}: member {name!r} must be an object")
    with ModelDir(member, parent=directory) as handle:
        with handle.open(MANIFEST) as manifest:
            if sha256(manifest) != entry.get("sha256"):
                raise ChecksumError(f"{member / MANIFEST} does not match its SHA-256 in the "
                                    "manifest (changed or truncated after saving)")
        return _load_dir(handle)[0]


def _resolve_refs(value: Any, members: dict[str, Recommender], where: Path) -> Any:
    if isinstance(value, dict) and set(value) == {MEMBER_REF}:
        if value[MEMBER_REF] not in members:
            raise ModelFileError(f"{where} refers to member {value[MEMBER_REF]!r}, which it "
                                 "does not list")
        return members[value[MEMBER_REF]]
    if isinstance(value, list):
        return [_resolve_refs(v, members, where) for v in value]
    if isinstance(value, dict):
        return {k: _resolve_refs(v, members, where) for k, v in value.items()}
    return value


def _check_params(cls: type[Recommender], params: dict, where: Path) -> None:
    """Each parameter is one the constructor takes, of the type of its default (or None)."""
    signature = inspect.signature(cls.__init__).parameters
    _check_finite(params, f"{where} params")
    for name, value in params.items():
        if name not in cls._param_names():
            raise ModelFileError(f"{where}: {cls.__name__} has no parameter {name!r}")
        default = signature[name].default
        if default is None or default is inspect.Parameter.empty:
            continue
        if isinstance(default, bool):  # a flag is never None: None would read as False
            fits = isinstance(value, bool)
        elif isinstance(default, (int, float)):
            fits = value is None or isinstance(
                value, int if isinstance(default, int) else (int, float)) \
                and not isinstance(value, bool)
        elif isinstance(default, str):
            # A string default may stand for a rule ("auto") whose alternative is a number.
            fits = value is None or isinstance(value, (str, list, int, float)) \
                and not isinstance(value, bool)
        else:
            fits = True
        if not fits:
            raise ModelFileError(f"{where}: parameter {name} = {value!r} is not of the type "
                                 f"of its default ({type(default).__name__})")


def _check_finite(value: Any, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ModelFileError(f"{where} hold a non-finite number {value!r}")
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            _check_finite(item, where)


def _check_state(model: Recommender, where: Path) -> None:
    """What every fitted model holds, then the family's own checks (``_check_state``)."""
    try:
        users, items = getattr(model, "users_", None), getattr(model, "items_", None)
        if not (isinstance(users, IdIndex) and isinstance(items, IdIndex)):
            raise ModelFileError("users_ and items_ must be saved id maps")
        expect(model, "user_items_", (len(users), len(items)), sparse=True)
        expect(model, "item_popularity_", (len(items),))
        model._check_state()
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise ModelFileError(f"{where}: the learned state does not fit together: "
                             f"{exc}") from None
