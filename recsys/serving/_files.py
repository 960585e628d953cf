"""Reading a saved model's files without trusting them.

A model directory is read through one open directory handle (:class:`ModelDir`), so that a
save swapping the directory meanwhile cannot mix two models, and no file is followed
through a symlink or read when it is not a regular file. Every array is checked before it is
handed to model code: its SHA-256, then its ``.npy`` header against the file's size (a header
cannot make numpy allocate more than the file holds), its dtype and shape against the
manifest, and a CSR matrix's structure (``indptr`` monotone from 0 to ``nnz``, column
indices in range and sorted within each row, finite values): scipy's and the families'
compiled kernels trust all of it and would read or write out of bounds otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np
import scipy.sparse as sp

from recsys.data.ids import IdIndex
from recsys.errors import ChecksumError, DataError, ModelFileError

# Array dtypes a model file may hold: numbers, booleans and text (never objects or records).
DTYPE_KINDS = "biufUS"
CSR_KEYS = frozenset({"data", "indices", "indptr", "format", "shape"})
MAX_JSON_BYTES = 256 << 20
_SHA256_HEX = frozenset("0123456789abcdef")


class ModelDir:
    """An open model directory: files are opened relative to it, never through a symlink."""

    def __init__(self, path: Path, parent: ModelDir | None = None) -> None:
        self.path = path
        flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
        try:
            if parent is None:
                self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            else:
                self.fd = os.open(path.name, flags, dir_fd=parent.fd)
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
            raise ModelFileError(f"{path} is not a saved model: {_reason(exc)}") from None

    def __enter__(self) -> ModelDir:
        return self

    def __exit__(self, *exc: Any) -> None:
        os.close(self.fd)

    def open(self, name: str) -> IO[bytes]:
        """The regular file ``name`` of this directory, opened for reading."""
        where = self.path / name
        if not name or Path(name).name != name or name in (".", ".."):
            raise ModelFileError(f"{where}: {name!r} is not a plain file name")
        try:
            # Non-blocking: opening a FIFO planted in place of a file must not wait for a
            # writer (reads of regular files are unaffected).
            fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0),
                         dir_fd=self.fd)
        except FileNotFoundError:
            raise ModelFileError(f"{where} is listed in the manifest but missing") from None
        except (OSError, ValueError) as exc:
            raise ModelFileError(f"{where} cannot be opened: {_reason(exc)}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ModelFileError(f"{where} is not a regular file")
        return os.fdopen(fd, "rb")

    def exists(self, name: str) -> bool:
        try:
            os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except (OSError, ValueError):
            return False
        return True

    def read_json(self, name: str) -> Any:
        with self.open(name) as handle:
            data = handle.read(MAX_JSON_BYTES + 1)
        if len(data) > MAX_JSON_BYTES:
            raise ModelFileError(f"{self.path / name} is larger than {MAX_JSON_BYTES} bytes")
        try:
            return json.loads(data)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ModelFileError(f"{self.path / name} is malformed: {exc}") from None


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def sha256(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    handle.seek(0)
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    handle.seek(0)
    return digest.hexdigest()


def read_entry(directory: ModelDir, entry: Any, name: str) -> Any:
    """The value of one manifest entry (``{"file", "kind", "sha256", ...}``), checked."""
    where = f"{directory.path} entry {name!r}"
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
        raise ModelFileError(f"{where} must be an object with a 'file'")
    kind, recorded = entry.get("kind"), entry.get("sha256")
    if not (isinstance(recorded, str) and len(recorded) == 64 and set(recorded) <= _SHA256_HEX):
        raise ModelFileError(f"{where} has no valid SHA-256")
    file = directory.path / entry["file"]
    with directory.open(entry["file"]) as handle:
        if sha256(handle) != recorded:
            raise ChecksumError(f"{file} does not match its SHA-256 in the manifest "
                                "(changed or truncated after saving)")
        if kind == "ids":
            return _ids_array(read_npy(handle, file), file)
        if kind == "ids-json":
            return _ids_json(handle, file)
        shape, dtype = _declared(entry, file)
        if kind == "dense":
            value = read_npy(handle, file)
        elif kind == "sparse":
            value = read_csr(handle, file)
        else:
            raise ModelFileError(f"{file}: unknown kind {kind!r} in the manifest")
    if value.shape != shape or str(value.dtype) != dtype:
        raise ModelFileError(f"{file} holds {value.dtype} {value.shape}; the manifest says "
                             f"{dtype} {shape}")
    return value


def _declared(entry: dict, file: Path) -> tuple[tuple, str]:
    shape, dtype = entry.get("shape"), entry.get("dtype")
    if not (isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape)
            and isinstance(dtype, str)):
        raise ModelFileError(f"{file}: the manifest needs its shape (a list of sizes) and "
                             "dtype")
    return tuple(shape), dtype


def read_npy(handle: IO[bytes], file: Path | str, size: int | None = None) -> np.ndarray:
    """An array from ``.npy`` bytes, refused unless its header fits the bytes there are."""
    start = handle.tell()
    if size is None:
        size = os.fstat(handle.fileno()).st_size - start
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            raise ValueError(f"unsupported .npy version {version}")
        if dtype.hasobject or dtype.fields is not None or dtype.kind not in DTYPE_KINDS:
            raise ValueError(f"dtype {dtype} is not a plain numeric or text type")
        if int(np.prod(shape, dtype=object)) * dtype.itemsize > size - (handle.tell() - start):
            raise ValueError(f"the header announces {dtype} {shape}, more than the file holds")
        handle.seek(start)
        return np.load(handle, allow_pickle=False)
    except (ValueError, OSError, EOFError, TypeError, SyntaxError, OverflowError) as exc:
        raise ModelFileError(f"{file} is not a valid array file: {exc}") from None


def read_csr(handle: IO[bytes], file: Path) -> sp.csr_matrix:
    """A CSR matrix saved by ``scipy.sparse.save_npz``, its structure checked."""
    try:
        with zipfile.ZipFile(handle) as archive:
            members = {Path(info.filename).stem: info for info in archive.infolist()}
            if set(members) != CSR_KEYS or len(members) != len(archive.infolist()):
                raise ValueError(f"holds {sorted(members)}, expected {sorted(CSR_KEYS)}")
            parts = {}
            for key, info in members.items():
                with archive.open(info) as member:
                    parts[key] = read_npy(member, file, info.file_size)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
            NotImplementedError, RuntimeError) as exc:
        raise ModelFileError(f"{file} is not a valid sparse matrix file: {exc}") from None
    return csr_from_parts(parts, file)


def csr_from_parts(parts: dict[str, np.ndarray], file: Path | str) -> sp.csr_matrix:
    """The CSR matrix of ``data``, ``indices``, ``indptr``, ``shape``, ``format`` arrays,
    after checking everything scipy's kernels assume of them."""
    fmt, shape = parts["format"], parts["shape"]
    if fmt.shape != () or fmt.item() not in ("csr", b"csr"):
        raise ModelFileError(f"{file}: format {fmt!r} is not 'csr'")
    if shape.shape != (2,) or shape.dtype.kind not in "iu" or (shape < 0).any() \
            or (shape >= np.iinfo(np.int64).max // 2).any():
        raise ModelFileError(f"{file}: shape {shape.tolist()} is not two sizes")
    n_rows, n_cols = (int(n) for n in shape)
    data, indices, indptr = parts["data"], parts["indices"], parts["indptr"]
    for key in ("indices", "indptr"):
        if parts[key].ndim != 1 or parts[key].dtype.kind not in "iu":
            raise ModelFileError(f"{file}: {key} must be a 1-D integer array")
    if data.ndim != 1 or data.dtype.kind not in "biuf":
        raise ModelFileError(f"{file}: data must be a 1-D numeric array")
    nnz = len(indices)
    if len(data) != nnz or len(indptr) != n_rows + 1:
        raise ModelFileError(f"{file}: {len(data)} values, {nnz} indices and {len(indptr)} "
                             f"row pointers do not fit a {n_rows} x {n_cols} matrix")
    steps = np.diff(indptr.astype(np.int64))
    if indptr[0] != 0 or indptr[-1] != nnz or (steps < 0).any():
        raise ModelFileError(f"{file}: indptr must rise from 0 to {nnz}")
    if nnz and (indices.min() < 0 or indices.max() >= n_cols):
        raise ModelFileError(f"{file}: column indices outside [0, {n_cols})")
    # Sorted without duplicates within each row: a decrease is allowed only where a row starts.
    row_start = np.zeros(nnz, bool)
    row_start[indptr[:-1][steps > 0]] = True
    if nnz > 1 and not ((np.diff(indices.astype(np.int64)) > 0) | row_start[1:]).all():
        raise ModelFileError(f"{file}: column indices must be sorted and unique within rows")
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        raise ModelFileError(f"{file}: values must be finite (no NaN or infinity)")
    matrix = sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols))
    matrix.has_sorted_indices = True
    return matrix


def _ids_array(values: np.ndarray, file: Path) -> IdIndex:
    if values.ndim != 1 or values.dtype.kind not in "iubU":
        raise ModelFileError(f"{file}: ids must be a 1-D array of integers or text, got "
                             f"{values.dtype} {values.shape}")
    return _id_index(values.astype(object) if values.dtype.kind == "U" else values, file)


def _ids_json(handle: IO[bytes], file: Path) -> IdIndex:
    try:
        payload = json.loads(handle.read(MAX_JSON_BYTES))
        kind, raw = payload["kind"], payload["values"]
        if not isinstance(raw, list):
            raise TypeError("values must be a list")
        values: list[Any]
        if kind == "int":
            values = [int(_text(v)) for v in raw]
        elif kind == "str":
            values = [_text(v) for v in raw]
        elif kind == "tagged":
            decode = {"s": _text, "i": lambda v: int(_text(v)), "f": float}
            values = [decode[tag](v) for tag, v in raw]
        else:
            raise ValueError(f"unknown kind {kind!r}")
    except (UnicodeDecodeError, ValueError, TypeError, KeyError, RecursionError) as exc:
        raise ModelFileError(f"{file} does not hold valid ids: {exc}") from None
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return _id_index(array, file)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a string")
    return value


def _id_index(values: np.ndarray, file: Path) -> IdIndex:
    try:
        return IdIndex(values)
    except DataError as exc:
        raise ModelFileError(f"{file}: {exc}") from None
