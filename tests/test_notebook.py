"""notebooks/quickstart.ipynb runs top to bottom in a fresh kernel (the venv's Python), on
MovieLens 100K (what it picks when the shared data is present) and on the demo data (its
default anywhere else)."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the dev extra installs nbformat")
nbclient = pytest.importorskip("nbclient", reason="the dev extra installs nbclient")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"


def _outputs(notebook, kind: str) -> list:
    return [out for cell in notebook.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if kind in out or kind in out.get("data", {})]


@pytest.mark.parametrize(("data", "banner"), [("movielens", "data: MovieLens 100K"),
                                              ("demo", "data: the embedded demo shop")])
def test_quickstart_notebook_runs_without_errors(data, banner, request, monkeypatch):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # Committed without outputs: a diff shows code changes, not stale results.
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    # The kernel inherits this environment: it tells the notebook's flag cell where the
    # shared data is and which data set to use.
    if data == "movielens":
        monkeypatch.setenv("RECSYS_SHARED_DATA", str(request.getfixturevalue("shared_data")))
    monkeypatch.setenv("RECSYS_QUICKSTART_DATA", data)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=300,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError naming the failing cell and its traceback
    text = "".join(out["text"] for out in _outputs(notebook, "text"))
    assert banner in text
    assert "best model:" in text and "significantly better than popularity" in text
    assert "Warning" not in text  # nothing noisy for the reader
    assert len(_outputs(notebook, "image/png")) == 3  # long tail, activity, comparison bars
