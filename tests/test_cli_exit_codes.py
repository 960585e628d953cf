"""`recsys` exit codes, the way CI sees them: 0 every model ran, 1 a model failed (the
ones after it skipped unless --keep-going), 2 a bad file, option or data set."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from recsys._version import __version__
from recsys.cli import main

MODELS = {
    "ok": """
        [[models]]
        class = "Popularity"
        [[models]]
        class = "ItemKNN"
        """,
    "second_fails": """
        [[models]]
        class = "Popularity"
        [[models]]
        class = "ItemKNN"
        name = "broken"
        params = { k = -3 }
        [[models]]
        class = "ItemKNN"
        name = "after"
        """,
    "bad_type": """
        [[models]]
        class = "ItemKNN"
        params = { k = "ten" }
        """,
}


def config(tmp_path, models: str) -> str:
    path = tmp_path / "exp.toml"
    path.write_text(textwrap.dedent("""\
        k = [10]
        n_bootstrap = 30
        beyond = false
        metrics = ["ndcg"]
        [dataset]
        name = "demo"
        """) + textwrap.dedent(MODELS[models]))
    return str(path)


def statuses(tmp_path) -> dict[str, str]:
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    return {model["name"]: model["status"] for model in document["models"]}


@pytest.mark.parametrize(("models", "flags", "code", "expected"), [
    ("ok", [], 0, {"Popularity": "ok", "ItemKNN": "ok"}),
    ("second_fails", [], 1, {"Popularity": "ok", "broken": "failed", "after": "skipped"}),
    ("second_fails", ["--keep-going"], 1, {"Popularity": "ok", "broken": "failed",
                                           "after": "ok"}),
    ("second_fails", ["--set", "models[1].params.k=20"], 0,
     {"Popularity": "ok", "broken": "ok", "after": "ok"}),
    ("ok", ["--quiet"], 0, {"Popularity": "ok", "ItemKNN": "ok"}),
])
def test_evaluate_exit_codes(tmp_path, capsys, models, flags, code, expected):
    path = config(tmp_path, models)
    assert main(["evaluate", path, "--output", str(tmp_path / "out"), *flags]) == code
    assert statuses(tmp_path) == expected
    out, err = capsys.readouterr()
    if "--quiet" in flags:
        assert out == "" and err == ""
    elif code == 1:
        assert "FAILED broken: ConfigError" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "models[5].params.k=3"], "--set models[5].params.k=3: models[5] does not exist"),
    (["--set", "models"], "expected KEY=VALUE"),
    (["--set", "k=ten"], "--set k=ten: k: must be an integer or array"),
    (["--set", "models[1].params.k=-1.5"], "ItemKNN declares k: int"),
])
def test_bad_overrides_name_the_option(tmp_path, capsys, args, message):
    assert main(["evaluate", config(tmp_path, "ok"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("recsys: error: ") and message in err


def test_parameter_types_are_checked_before_any_model_runs(tmp_path, capsys):
    assert main(["evaluate", config(tmp_path, "bad_type"), "--output",
                 str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "line 10" in err and "models[0].params.k: must be an integer" in err
    assert not (tmp_path / "out").exists()  # nothing was run or written


def test_real_process_exit_codes(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "recsys", *args], capture_output=True,
                              text=True, cwd=tmp_path)

    version = run("--version")
    assert version.returncode == 0 and version.stdout.strip().startswith(f"recsys {__version__}")
    failed = run("evaluate", config(tmp_path, "second_fails"), "--quiet", "--output", "out")
    assert failed.returncode == 1 and failed.stdout == ""
    assert "FAILED broken" in failed.stderr and "SKIPPED after" in failed.stderr
    assert run("no-such-command").returncode == 2
    missing = run("evaluate", str(tmp_path / "missing.toml"))
    assert missing.returncode == 2 and missing.stderr.startswith("recsys: error: ")
    assert "Traceback" not in missing.stderr


@pytest.mark.parametrize(("data", "code", "message"), [
    ("groceries", 2, "groceries needs the file: groceries:PATH"),
    ("no-such-file.csv", 2, "is neither a file nor a known name"),
])
def test_info_errors_are_one_line(capsys, data, code, message):
    assert main(["info", data]) == code
    err = capsys.readouterr().err
    assert err.startswith("recsys: error: ") and message in err and "Traceback" not in err


def test_info_reads_names_and_basket_files(shared_data, capsys):
    groceries = shared_data / "groceries" / "groceries.csv"
    for data in (f"groceries:{groceries}", str(groceries)):
        assert main(["info", data]) == 0
        rows = dict(line.split()[:2] for line in capsys.readouterr().out.splitlines())
        assert rows["users"] == "9835" and rows["items"] == "169"  # baskets x items
    for data in (f"movielens-100k:{shared_data / 'ml-100k'}", f"ml-100k:{shared_data / 'ml-100k'}"):
        assert main(["info", data]) == 0
        rows = dict(line.split()[:2] for line in capsys.readouterr().out.splitlines())
        assert rows["users"] == "943" and rows["interactions"] == "100000"


def test_info_on_an_unreadable_file_is_an_error_line(tmp_path, capsys):
    binary = tmp_path / "data.csv"
    binary.write_bytes(b"\xd0\xff\x00\x01" * 100)
    assert main(["info", str(binary)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("recsys: error: ") and "data.csv" in err
