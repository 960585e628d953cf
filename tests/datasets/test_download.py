"""The download cache: checksums, cache reuse, safe zip extraction, loaders going through it."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import urllib.error
import zipfile
from pathlib import Path

import pytest

from recsys.datasets import download, movielens
from recsys.datasets.download import RemoteFile, cache_dir, extract_zip, fetch, locate
from recsys.errors import ChecksumError, DataError


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def zip_bytes(members: dict[str, bytes], symlinks: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name in symlinks:
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16  # S_IFLNK
            zf.writestr(info, "/etc/passwd")
    return buffer.getvalue()


class Server:
    """A local HTTP server over a folder that counts the GET requests per path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hits: list[str] = []
        hits = self.hits

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self):  # noqa: N802 - http.server's naming
                hits.append(self.path)
                super().do_GET()

            def log_message(self, *args):  # keep test output quiet
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,),
                                       daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def publish(self, name: str, data: bytes) -> RemoteFile:
        (self.root / name).write_bytes(data)
        return RemoteFile(self.url(name), sha256(data), len(data))

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path, monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    root = tmp_path / "www"
    root.mkdir()
    srv = Server(root)
    yield srv
    srv.close()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("RECSYS_DATA", str(folder))
    return folder


# ---------------------------------------------------------------------------- cache location
def test_cache_dir_follows_env_var(cache):
    assert cache_dir() == cache
    assert cache_dir("movielens") == cache / "movielens"


def test_cache_dir_defaults_to_home_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("RECSYS_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "recsys"


# ---------------------------------------------------------------------------- fetch
def test_fetch_downloads_verifies_and_reuses_the_cache(server, cache):
    data = b"some published bytes" * 1000
    remote = server.publish("file.bin", data)
    path = fetch(remote, show_progress=False)
    assert path == cache / "file.bin"
    assert path.read_bytes() == data
    assert server.hits == ["/file.bin"]
    again = fetch(remote, show_progress=False)
    assert again == path
    assert server.hits == ["/file.bin"]  # second call served from the cache
    assert sorted(p.name for p in cache.iterdir()) == ["file.bin"]  # no temp files left


def test_checksum_mismatch_raises_and_keeps_nothing(server, cache):
    remote = server.publish("file.bin", b"tampered")
    wrong = RemoteFile(remote.url, sha256(b"original"))
    with pytest.raises(ChecksumError, match="SHA-256") as info:
        fetch(wrong, show_progress=False)
    assert remote.url in str(info.value)
    assert list(cache.iterdir()) == []


def test_cached_file_with_wrong_checksum_is_downloaded_again(server, cache):
    data = b"good bytes"
    remote = server.publish("file.bin", data)
    cache.mkdir(parents=True)
    (cache / "file.bin").write_bytes(b"half a downl")
    assert fetch(remote, show_progress=False).read_bytes() == data
    assert server.hits == ["/file.bin"]


def test_fetch_with_a_fake_opener(cache):
    data = b"from a fake opener"
    calls = []

    def opener(url):
        calls.append(url)
        return io.BytesIO(data)

    remote = RemoteFile("https://example.invalid/x/data.zip?download=1", sha256(data))
    path = fetch(remote, show_progress=False, opener=opener)
    assert path.name == "data.zip"
    assert path.read_bytes() == data
    assert calls == [remote.url]


def test_network_failure_is_a_data_error_naming_the_url(cache):
    def opener(url):
        raise urllib.error.URLError("no route to host")

    remote = RemoteFile("https://example.invalid/a.zip", "0" * 64)
    with pytest.raises(DataError, match="example.invalid/a.zip"):
        fetch(remote, show_progress=False, opener=opener)
    assert list(cache.glob("*")) == []


def test_http_404_is_a_data_error(server, cache):
    with pytest.raises(DataError, match="could not download"):
        fetch(RemoteFile(server.url("missing.zip"), "0" * 64), show_progress=False)


# ---------------------------------------------------------------------------- extraction
def test_extract_zip_writes_members(tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_bytes({"top/a.txt": b"A", "top/sub/b.txt": b"B"}))
    out = extract_zip(archive, tmp_path / "out")
    assert (out / "top" / "a.txt").read_bytes() == b"A"
    assert (out / "top" / "sub" / "b.txt").read_bytes() == b"B"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("evil", ["../evil", "top/../../evil", "/tmp/evil-abs", "C:/evil",
                                  "..\\evil"])
def test_zip_with_unsafe_entry_raises_and_writes_nothing(tmp_path, evil):
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_bytes({"top/ok.txt": b"fine", evil: b"pwned"}))
    with pytest.raises(DataError, match="unsafe entry"):
        extract_zip(archive, tmp_path / "out" / "dest")
    assert not (tmp_path / "out" / "dest").exists()
    assert not (tmp_path / "evil").exists()
    assert not (tmp_path / "out" / "evil").exists()
    assert not Path("/tmp/evil-abs").exists()


def test_zip_with_symlink_raises(tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_bytes({"top/ok.txt": b"fine"}, symlinks=("top/link",)))
    with pytest.raises(DataError, match="symbolic link"):
        extract_zip(archive, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_not_a_zip_raises(tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(b"<html>rate limited</html>")
    with pytest.raises(DataError, match="not a valid zip"):
        extract_zip(archive, tmp_path / "dest")


def test_locate_accepts_the_folder_or_its_parent(tmp_path):
    (tmp_path / "data" / "ml").mkdir(parents=True)
    (tmp_path / "data" / "ml" / "u.data").write_text("")
    assert locate(tmp_path / "data" / "ml", "u.data", "x") == tmp_path / "data" / "ml"
    assert locate(tmp_path / "data", "u.data", "x") == tmp_path / "data" / "ml"
    with pytest.raises(DataError, match="u.data not found"):
        locate(tmp_path, "u.data", "x")
    with pytest.raises(DataError, match="not a directory"):
        locate(tmp_path / "nope", "u.data", "x")


# ---------------------------------------------------------------------------- loaders
ML_FILES = {
    "ml-100k/u.data": b"1\t10\t4\t881250949\n2\t10\t3\t881250950\n2\t20\t5\t881250951\n",
    "ml-100k/u.item": (b"10|Heat (1995)|15-Dec-1995||http://x|0|1|0|0|0|0|1|0|0|0|0|0|0|0|0|0"
                       b"|1|0|0\n20|Clueless (1995)|19-Jul-1995||http://y|0|0|0|0|0|1|0|0|0|0"
                       b"|0|0|0|0|1|0|0|0|0\n"),
    "ml-100k/u.user": b"1|24|M|technician|85711\n2|53|F|other|94043\n",
}


def test_movielens_download_path_end_to_end(server, cache, monkeypatch):
    remote = server.publish("ml-100k.zip", zip_bytes(ML_FILES))
    monkeypatch.setattr(movielens, "ML_100K", remote)
    ds = movielens.movielens_100k(show_progress=False)
    assert ds.interactions.shape == (2, 2)
    assert ds.items.loc[10, "genres"] == "Action|Crime|Thriller"
    assert (cache / "movielens" / "ml-100k.zip").is_file()
    assert (cache / "movielens" / "ml-100k" / "ml-100k" / "u.data").is_file()
    movielens.movielens_100k(show_progress=False)
    assert server.hits == ["/ml-100k.zip"]  # extracted copy reused, no second download


def test_movielens_download_with_bad_checksum_raises(server, cache, monkeypatch):
    remote = server.publish("ml-100k.zip", zip_bytes(ML_FILES))
    monkeypatch.setattr(movielens, "ML_100K", RemoteFile(remote.url, "f" * 64))
    with pytest.raises(ChecksumError):
        movielens.movielens_100k(show_progress=False)
    assert not (cache / "movielens" / "ml-100k").exists()


def test_movielens_download_of_traversal_zip_raises(server, cache, monkeypatch):
    evil = dict(ML_FILES)
    evil["../evil"] = b"pwned"
    remote = server.publish("ml-100k.zip", zip_bytes(evil))
    monkeypatch.setattr(movielens, "ML_100K", remote)
    with pytest.raises(DataError, match="unsafe entry"):
        movielens.movielens_100k(show_progress=False)
    assert not (cache / "evil").exists()
    assert not (cache / "movielens" / "evil").exists()


def test_pinned_checksums_look_like_sha256():
    for remote in (movielens.ML_100K, movielens.ML_1M, movielens.ML_20M):
        assert remote.url.startswith("https://files.grouplens.org/datasets/movielens/")
        assert len(remote.sha256) == 64
        assert int(remote.sha256, 16) >= 0
        assert remote.sha256 == remote.sha256.lower()


def test_download_module_uses_urlopen_by_default(monkeypatch, cache):
    data = b"payload"
    seen = []
    monkeypatch.setattr(download.urllib.request, "urlopen",
                        lambda url, timeout: seen.append((url, timeout)) or io.BytesIO(data))
    fetch(RemoteFile("https://example.invalid/p.bin", sha256(data)), show_progress=False)
    assert seen == [("https://example.invalid/p.bin", download.TIMEOUT)]
