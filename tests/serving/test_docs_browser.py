"""``/docs`` renders in a real headless chromium without internet: the Swagger UI assets come
from the service itself, and the endpoint list appears."""

from __future__ import annotations

import shutil
import subprocess

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("swagger_ui_bundle", reason="the serve extra's swagger-ui-bundle")

import recsys as rs  # noqa: E402
from tests.serving.test_app import _launch, _stop, _wait_ready  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ENDPOINTS = ("/recommend", "/similar-items", "/basket", "/reload", "/model", "/health",
             "/metrics")


def _rendered(url: str, profile) -> str:
    """The page's DOM after its scripts ran, with every host but loopback unreachable."""
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         "--virtual-time-budget=15000", "--dump-dom", url],
        capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package "
                                             "'chromium'; make test installs it)")
def test_docs_render_the_endpoint_list_offline(tmp_path):
    model = rs.ItemKNN().fit(rs.datasets.demo().interactions)
    server = _launch(rs.save(model, tmp_path / "models" / "knn"), tmp_path / "server.log",
                     api_key="docs-test-key")
    try:
        _wait_ready(server)
        dom = _rendered(server.url + "/docs", tmp_path / "profile")
    finally:
        _stop(server)
    assert 'class="swagger-ui"' in dom
    assert "Unable to render this definition" not in dom
    for path in ENDPOINTS:
        assert f'data-path="{path}"' in dom, path
    assert "recsys" in dom and "opblock-summary-method" in dom
