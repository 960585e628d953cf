"""Download cache for public data sets: fetch once, verify a SHA-256, extract zips safely.

Files land in ``$RECSYS_DATA`` when that variable is set and in ``~/.cache/recsys`` otherwise.
A download is written to a temporary file next to its final name and only renamed into place
once its checksum matches, so an interrupted or corrupted transfer never looks like a cached
file. Zip archives are checked member by member before anything is written: absolute paths,
``..`` components, drive letters and symbolic links are refused.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from recsys.errors import ChecksumError, DataError

logger = logging.getLogger("recsys")

ENV_VAR = "RECSYS_DATA"
CHUNK = 1 << 20
TIMEOUT = 60.0


@dataclass(frozen=True)
class RemoteFile:
    """A file published at a fixed URL with a known SHA-256.

    Parameters
    ----------
    url : str
    sha256 : str
        Lower-case hex digest of the whole file.
    size : int, optional
        Size in bytes, used for the progress bar only.
    filename : str, optional
        Name in the cache; the last component of the URL by default.

    Examples
    --------
    >>> f = RemoteFile("https://example.org/data/x.zip", "0" * 64)
    >>> f.name
    'x.zip'
    """

    url: str
    sha256: str
    size: int | None = None
    filename: str | None = None

    @property
    def name(self) -> str:
        return self.filename or PurePosixPath(self.url.split("?", 1)[0]).name


def cache_dir(subdir: str | None = None) -> Path:
    """The download cache: ``$RECSYS_DATA`` or ``~/.cache/recsys`` (optionally a subfolder).

    Examples
    --------
    >>> cache_dir("movielens").name
    'movielens'
    """
    root = os.environ.get(ENV_VAR)
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "recsys"
    return base / subdir if subdir else base


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _open_url(url: str) -> BinaryIO:
    return urllib.request.urlopen(url, timeout=TIMEOUT)


def fetch(
    remote: RemoteFile,
    directory: str | os.PathLike | None = None,
    show_progress: bool = True,
    opener: Callable[[str], BinaryIO] | None = None,
) -> Path:
    """Return the local path of ``remote``, downloading and verifying it if needed.

    A cached file whose checksum matches is used as is (no network). A cached file that does
    not match is downloaded again.

    Parameters
    ----------
    remote : RemoteFile
    directory : path, optional
        Where to keep the file; :func:`cache_dir` by default.
    show_progress : bool
        Draw a tqdm progress bar while downloading.
    opener : callable, optional
        ``opener(url)`` returns a binary file-like response; ``urllib.request.urlopen`` by
        default (tests pass a fake).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    recsys.errors.ChecksumError
        The downloaded bytes do not have the expected SHA-256; nothing is left in the cache.
    recsys.errors.DataError
        The download failed.

    Examples
    --------
    >>> from recsys.datasets.movielens import ML_100K
    >>> path = fetch(ML_100K)  # doctest: +SKIP
    """
    folder = Path(directory) if directory is not None else cache_dir()
    target = folder / remote.name
    if target.is_file():
        if sha256_of(target) == remote.sha256:
            logger.debug("using cached %s", target)
            return target
        logger.warning("cached %s does not match its checksum; downloading it again", target)
    folder.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{remote.name}.", suffix=".part", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            actual = _download_to(remote, out, opener or _open_url, show_progress)
        if actual != remote.sha256:
            raise ChecksumError(
                f"{remote.url}: SHA-256 is {actual}, expected {remote.sha256}; the file was "
                "not kept. If the publisher changed the file, download it by hand and pass "
                "its directory as `path`."
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    logger.info("downloaded %s to %s", remote.url, target)
    return target


def _download_to(
    remote: RemoteFile, out: BinaryIO, opener: Callable[[str], BinaryIO], show_progress: bool
) -> str:
    """Stream ``remote`` into ``out`` and return the SHA-256 of what was written."""
    digest = hashlib.sha256()
    try:
        response = opener(remote.url)
    except (urllib.error.URLError, OSError) as exc:
        raise DataError(f"could not download {remote.url}: {exc}") from exc
    with response, _progress(remote, show_progress) as bar:
        while True:
            try:
                block = response.read(CHUNK)
            except OSError as exc:
                raise DataError(f"download of {remote.url} was interrupted: {exc}") from exc
            if not block:
                break
            digest.update(block)
            out.write(block)
            bar.update(len(block))
    return digest.hexdigest()


def _progress(remote: RemoteFile, show: bool):
    from recsys._progress import progress

    return progress(total=remote.size, unit="B", unit_scale=True, desc=remote.name,
                disable=not show, leave=False)


# ---------------------------------------------------------------------------- zip extraction
def _check_member(info: zipfile.ZipInfo, archive: Path) -> None:
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if (name.startswith(("/", "\\")) or (parts and len(parts[0]) == 2 and parts[0][1] == ":")
            or ".." in parts):
        raise DataError(f"{archive}: refusing to extract unsafe entry {name!r} "
                        "(absolute path or '..' component)")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise DataError(f"{archive}: refusing to extract symbolic link {name!r}")


def extract_zip(archive: str | os.PathLike, destination: str | os.PathLike) -> Path:
    """Extract ``archive`` into the directory ``destination`` unless it already exists.

    Every member is checked before anything is written; the archive is unpacked into a
    temporary sibling directory which is renamed into place at the end, so ``destination``
    either holds the whole archive or does not exist.

    Parameters
    ----------
    archive : path
        A zip file.
    destination : path
        Directory to create.

    Returns
    -------
    pathlib.Path
        ``destination``.

    Raises
    ------
    recsys.errors.DataError
        The file is not a zip, or a member has an absolute path, a ``..`` component, a drive
        letter, or is a symbolic link.

    Examples
    --------
    >>> extract_zip("ml-100k.zip", "ml-100k")  # doctest: +SKIP
    PosixPath('ml-100k')
    """
    archive = Path(archive)
    destination = Path(destination)
    if destination.is_dir():
        return destination
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise DataError(f"{archive} is not a valid zip file: {exc}") from exc
    with zf:
        members = zf.infolist()
        for info in members:
            _check_member(info, archive)
        destination.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
        try:
            for info in members:
                _extract_member(zf, info, staging)
            try:
                os.replace(staging, destination)
            except OSError:
                if not destination.is_dir():  # else another process finished first
                    raise
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return destination


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, root: Path) -> None:
    relative = PurePosixPath(info.filename.replace("\\", "/"))
    target = root.joinpath(*relative.parts)
    # A second line of defence in case a name slipped through the textual checks.
    if not target.resolve().is_relative_to(root.resolve()):
        raise DataError(f"refusing to extract {info.filename!r} outside the destination")
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with zf.open(info) as source, open(target, "wb") as out:
        shutil.copyfileobj(source, out, CHUNK)


def fetch_and_extract(
    remote: RemoteFile,
    subdir: str,
    show_progress: bool = True,
    opener: Callable[[str], BinaryIO] | None = None,
) -> Path:
    """Download ``remote`` (a zip) into ``cache_dir(subdir)`` and extract it next to it.

    Returns the extraction directory, named after the archive without ``.zip``. When that
    directory already exists nothing is downloaded.
    """
    folder = cache_dir(subdir)
    destination = folder / PurePosixPath(remote.name).stem
    if destination.is_dir():
        return destination
    archive = fetch(remote, folder, show_progress=show_progress, opener=opener)
    return extract_zip(archive, destination)


def locate(root: str | os.PathLike, marker: str, what: str) -> Path:
    """The directory holding ``marker``: ``root`` itself or one of its direct subdirectories.

    Archives usually wrap their files in a top folder (``ml-100k/u.data``), and people pass
    either folder; both work.

    Raises
    ------
    recsys.errors.DataError
        ``root`` is not a directory or no candidate holds ``marker``.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"{what}: {root} is not a directory (expected the folder holding "
                        f"{marker})")
    if (root / marker).is_file():
        return root
    candidates = sorted(p for p in root.iterdir() if (p / marker).is_file())
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise DataError(f"{what}: several folders in {root} hold {marker}: "
                        f"{[c.name for c in candidates]}; pass one of them")
    raise DataError(f"{what}: {marker} not found in {root} or its subfolders")
