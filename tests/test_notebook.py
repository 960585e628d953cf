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
    client = nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=300,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError naming the failing cell and its traceback
    text = "".join(out["text"] for out in _outputs(notebook, "text"))
    assert banner in text
    assert "best model:" in text and "significantly better than popularity" in text
    assert "Warning" not in text  # nothing noisy for the reader
    assert len(_outputs(notebook, "image/png")) == 3  # long tail, activity, comparison bars


CELLS = [
    # 1: the user's own matplotlib first, then the library
    "import matplotlib.pyplot as plt\nbackend = plt.get_backend()\nimport recsys as rs",
    "ds = rs.datasets.demo()\n"
    "train, test = rs.split.random(ds.interactions, test_size=0.2, seed=42)\n"
    "model = rs.ItemKNN().fit(train)\n"
    "recs = model.recommend(test.users.ids[:3], k=5)\nrecs",
    "result = rs.evaluate(model, test, k=10)\nresult",
    "table = rs.compare({'pop': rs.Popularity(), 'knn': model}, train, test, n_bootstrap=100)\n"
    "table",
    "fig = rs.plot.metrics(table)\nfig",
    "plt.plot([1, 2, 3], [3, 1, 2])\nplt.show()\n"
    "print('backend kept:', plt.get_backend() == backend)",
]


def test_a_fresh_notebook_cell_sequence(monkeypatch):
    """import recsys, rich display of recommendations / results / comparison, a figure shown
    once, and the user's own plt.show() still drawing in the notebook's backend."""
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's own (inline) backend
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbclient.NotebookClient(notebook, kernel_name="python3", timeout=300).execute()
    outputs = [cell.outputs for cell in notebook.cells]
    # import recsys prints nothing (no TqdmWarning without ipywidgets)
    assert outputs[0] == []
    html = [next(out["data"]["text/html"] for out in cell if "text/html" in out.get("data", {}))
            for cell in outputs[1:4]]
    titles = rs_titles()
    assert "<table" in html[0] and any(title in html[0] for title in titles)
    assert "ndcg@10" in html[1] and "95% CI" in html[1]
    assert "<strong>" in html[2] and "knn" in html[2] and "pop" in html[2]
    images = [out for out in outputs[4] if "image/png" in out.get("data", {})]
    assert len(images) == 1  # shown once, as the cell's value
    own = [out for out in outputs[5] if "image/png" in out.get("data", {})]
    text = "".join(out.get("text", "") for out in outputs[5])
    assert len(own) == 1 and "backend kept: True" in text


def rs_titles() -> list[str]:
    import recsys as rs

    return rs.datasets.demo().items["title"].tolist()
