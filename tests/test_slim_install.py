"""A service install without the report / tune / mlxtend extras: the package imports, loads
a saved model and ranks; what needs an absent extra says which extra to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCK = textwrap.dedent("""\
    import sys

    class Absent:  # the extras' packages cannot be imported, as after a slim install
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("matplotlib", "mlxtend", "optuna"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Absent())
    """)


def run(code: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + textwrap.dedent(code)],
                          capture_output=True, text=True, cwd=tmp_path)


def test_service_path_runs_without_the_extras(tmp_path):
    done = run("""
        import recsys as rs
        ds = rs.datasets.demo()
        model = rs.ItemKNN().fit(ds.interactions)
        rs.save(model, "model")
        loaded = rs.load("model")
        users = list(ds.interactions.users.ids[:3])
        assert loaded.recommend(users, k=5).positions.tolist() == \\
            model.recommend(users, k=5).positions.tolist()
        print(rs.evaluate(loaded, ds.interactions, k=5).summary["ndcg@5"] >= 0)
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("matplotlib", "mlxtend")))
        """, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["True", "[]"]


def test_missing_extras_are_named(tmp_path):
    done = run("""
        import recsys as rs
        for call in (lambda: rs.plot,
                     lambda: rs.AssociationRules(engine="mlxtend", basket_column=None)
                                .fit(rs.datasets.demo().interactions),
                     lambda: rs.tune(rs.Popularity, {"by": ["count"]},
                                     rs.datasets.demo().interactions,
                                     rs.datasets.demo().interactions, sampler="optuna")):
            try:
                call()
            except ImportError as exc:
                print(exc)
        """, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    assert 'recsys-lab[report]' in lines[0] and 'recsys-lab[mlxtend]' in lines[1]
    assert 'recsys-lab[tune]' in lines[2]
