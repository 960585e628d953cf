"""The README's quick start is code users paste: it must run as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_opens_with_the_two_commands():
    first_block = README.read_text().split("```")[1]
    assert "make demo" in first_block and "make test" in first_block


def test_quick_start_runs(capsys):
    text = README.read_text()
    block = re.search(r"## Quick start\s+```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "README.md quick start", "exec"), namespace)
    recs = namespace["recs"].to_pandas()
    assert set(recs["user"]) == {"u0001", "u0002"} and (recs["rank"] <= 10).all()
    assert "i0007" not in set(recs["item"])
    assert "ndcg@10" in capsys.readouterr().out
