"""docs/architecture.md: its example family is real code that passes the conformance suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np

ARCHITECTURE = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _python_blocks(text: str) -> list[str]:
    return [block.split("\n", 1)[1] for block in text.split("```")[1::2]
            if block.startswith("python")]


def test_example_family_passes_the_conformance_suite():
    family, check = _python_blocks(ARCHITECTURE.read_text())
    assert 20 <= len(family.strip().splitlines()) <= 45  # "about 30 lines"
    namespace: dict = {}
    exec(compile(family, "architecture.md: family", "exec"), namespace)
    exec(compile(check, "architecture.md: check", "exec"), namespace)
    model = namespace["CoOccurrence"](shrink=0.0)
    import recsys as rs

    inter = rs.Interactions.from_arrays(["u1", "u1", "u2", "u3", "u3"],
                                        ["a", "b", "a", "a", "c"])
    # Worked by hand: a co-occurs with b once (u1) and c once (u3); a has 3 users.
    model.fit(inter)
    scores = model.cooccurrence_.toarray()
    np.testing.assert_allclose(scores[0], [0.0, 1.0, 1.0])  # a -> b, c: 1 / (1 + 0)
    np.testing.assert_allclose(scores[1], [1 / 3, 0.0, 0.0])  # b -> a: 1 / 3


def test_architecture_doc_is_linked_from_the_readme():
    readme = (ARCHITECTURE.parents[1] / "README.md").read_text()
    assert "docs/architecture.md" in readme
