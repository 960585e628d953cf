"""The recsys command, run for real: the demo job and `recsys info`."""

import subprocess
import sys

from recsys.cli import main


def test_demo_prints_table_and_writes_chart(tmp_path, capsys):
    assert main(["demo", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ndcg@10" in out and "EASE" in out and "Popularity" in out
    assert "Example recommendations" in out
    complements = out.split("Cart complements")[1]
    # The demo plants phone -> case: the best-selling phone's first complement is its case.
    first = complements.split("basket: ")[1].splitlines()
    assert "case for " + first[0].strip() in first[1]
    chart = tmp_path / "metrics.png"
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000


def test_demo_ranks_collaborative_filtering_above_popularity(tmp_path):
    from recsys.cli import run_demo

    table = run_demo(tmp_path)
    assert table.index[0] not in ("Popularity", "ContentBased")
    for model in ("ItemKNN", "ALS", "EASE", "RP3beta"):
        assert table.loc[model, "ndcg@10"] > 2 * table.loc["Popularity", "ndcg@10"], model


def test_info_on_movielens_with_plot(ml100k_dir, tmp_path):
    plot = tmp_path / "tail.png"
    result = subprocess.run([sys.executable, "-m", "recsys", "info", str(ml100k_dir),
                             "--plot", str(plot)], capture_output=True, text=True, check=True)
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()
            if len(line.split()) == 2}
    assert rows["users"] == "943" and rows["items"] == "1682"
    assert rows["interactions"] == "100000"
    assert plot.stat().st_size > 10_000


def test_info_names_what_it_cannot_read(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nothing.xyz")]) == 2
    assert "nothing.xyz" in capsys.readouterr().err
