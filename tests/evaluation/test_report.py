"""The experiment report: plots really rendered, Markdown beside its PNGs, HTML self-contained
with the same plots embedded, and text escaped in both."""

from __future__ import annotations

import base64
import re
import struct

import pandas as pd
import pytest

from recsys.evaluation.experiment.report import PLOT_FILES, Block, to_html, to_markdown

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which follows the signature."""
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_every_plot_is_rendered(demo_experiment):
    out = demo_experiment.output
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == sorted(PLOT_FILES.values())  # five plots, no more, no fewer
    for name in pngs:
        data = (out / name).read_bytes()
        width, height = png_size(data)
        assert width >= 500 and height >= 300, name
        assert len(data) > 15_000, f"{name} is suspiciously small ({len(data)} bytes)"
        assert data.endswith(b"IEND\xaeB`\x82"), f"{name} is truncated"
    assert {role: path.name for role, path in demo_experiment.files.items()
            if path.suffix == ".png"} == PLOT_FILES


def test_markdown_references_its_plots_and_tables(demo_experiment):
    out = demo_experiment.output
    report = (out / "report.md").read_text()
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert sorted(linked) == sorted(PLOT_FILES.values())
    assert all((out / name).exists() for name in linked)  # beside the report
    assert report.startswith("# Experiment: Demo shop")
    for run in demo_experiment.runs:
        assert f"| {run.name} |" in report
    assert "Krichene & Rendle" in report  # why no sampled metrics
    # the results row of a model shows mean [CI] with a star where significant
    ease = next(line for line in report.splitlines() if line.startswith("| EASE |"))
    assert re.search(r"\| 0\.\d{4} \[0\.\d{4}, 0\.\d{4}\]\* \|", ease)
    assert "## Beyond accuracy" in report and "## Tuning" in report


def test_html_is_self_contained_with_the_same_plots(demo_experiment):
    out = demo_experiment.output
    page = (out / "report.html").read_text()
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(embedded) == len(PLOT_FILES)
    files = {(out / name).read_bytes() for name in PLOT_FILES.values()}
    assert {base64.b64decode(data) for data in embedded} == files
    # nothing fetched from elsewhere: no external scripts, styles or images
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert "<script" not in page and "<link" not in page
    assert page.count("<table>") >= 3 and "EASE" in page


def test_text_is_escaped_in_both_formats():
    frame = pd.DataFrame({"model": ["a|b", "<script>x</script>"], "value": ["1", "2"]})
    blocks = [Block("h2", "R&D"), Block("p", "**bold** and `code` <i>"),
              Block("table", frame, "caption")]
    markdown = to_markdown("T", blocks)
    assert "| a\\|b | 1 |" in markdown and "## R&D" in markdown
    page = to_html("T", blocks)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<strong>bold</strong>" in page and "<code>code</code>" in page
    assert "&lt;i&gt;" in page and "R&amp;D" in page


def test_best_model_is_tested_against_each_other(demo_experiment):
    """The best-vs-others table, recomputed from the per-user values with scipy and a
    hand-written Holm step-down."""
    from scipy import stats

    result = demo_experiment
    ok = [run for run in result.runs if run.ok]
    metric = "ndcg@10"
    users = ok[0].per_user.index
    for run in ok[1:]:
        users = users.intersection(run.per_user.index)
    values = pd.DataFrame({run.name: run.per_user.loc[users, metric] for run in ok}).dropna()
    best = values.mean().idxmax()
    others = [name for name in values.columns if name != best]
    p = {name: stats.ttest_rel(values[best], values[name]).pvalue for name in others}
    order = sorted(others, key=p.get)
    holm, running = {}, 0.0
    for rank, name in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p[name]))
        holm[name] = running
    table = result.pairwise[result.pairwise["metric"] == metric].set_index("model")
    assert set(table["best"]) == {best} and sorted(table.index) == sorted(others)
    for name in others:
        assert table.loc[name, "p_holm"] == pytest.approx(holm[name], rel=1e-6)
        assert table.loc[name, "significant"] == (holm[name] < 0.05)
        assert table.loc[name, "diff"] == pytest.approx(values[best].mean()
                                                        - values[name].mean())


def test_conclusion_and_highlight_follow_the_numbers(demo_experiment):
    result = demo_experiment
    report = (result.output / "report.md").read_text()
    pairs = result.pairwise[result.pairwise["metric"] == "ndcg@10"]
    best = pairs["best"].iloc[0]
    conclusion = next(line for line in report.splitlines() if line.startswith("**Conclusion"))
    assert f"On ndcg@10 the best model is **{best}**" in conclusion
    beaten = pairs.loc[pairs["significant"], "model"].tolist()
    tied = pairs.loc[~pairs["significant"], "model"].tolist()
    if beaten:
        assert "significantly better than" in conclusion
        assert all(name in conclusion.split("significantly better than")[1] for name in beaten)
    for name in tied:
        assert f"{name} (" in conclusion.split("The difference to")[1]
    # the best mean of each metric column is bold, and only that one
    header = next(line for line in report.splitlines() if line.startswith("| model | ndcg@10"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    rows = [line for line in report.splitlines()
            if line.startswith("| ") and line.count("[") >= 6]
    for position, metric in enumerate(columns):
        if "@" not in metric:
            continue
        bold = [row.split("|")[1].strip() for row in rows
                if row.split("|")[position + 1].strip().startswith("**")]
        means = result.summary(10)[metric]
        assert bold == [means.idxmax()], metric
    assert "### Is the best model really better?" in report
    page = (result.output / "report.html").read_text()
    assert "<strong>best</strong>" in page and "<strong>Conclusion.</strong>" in page
