"""What `pip install` of the package pulls: distributions and installed megabytes of the core
and of each extra, read from the current environment's metadata (run it in an environment
where everything is installed, e.g. the one `make test` builds).

    .venv/bin/python benchmarks/footprint.py [--json PATH]

Not a timing benchmark: it measures the dependency footprint of a service install
(``pip install recsys-lab[serve]``) against the full one.
"""

from __future__ import annotations

import argparse
import json
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _size(dist: metadata.Distribution) -> int:
    total = 0
    for file in dist.files or []:
        try:
            total += file.locate().stat().st_size
        except OSError:
            pass
    return total


def closure(requirements: list[str]) -> dict[str, int | None]:
    """Installed bytes of every distribution the requirements pull (None: not installed)."""
    seen: dict[str, int | None] = {}
    stack = [Requirement(r) for r in requirements]
    while stack:
        req = stack.pop()
        if req.marker and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            seen[name] = None
            continue
        seen[name] = _size(dist)
        for text in dist.requires or []:
            sub = Requirement(text)
            wanted = not sub.marker or sub.marker.evaluate({"extra": ""}) or any(
                sub.marker.evaluate({"extra": extra}) for extra in req.extras)
            if wanted:
                stack.append(sub)
    return seen


def _expand(extras: dict[str, list[str]], extra: str, name: str) -> list[str]:
    """The requirements of an extra, with ``name[a,b]`` (the package itself) replaced by the
    requirements of extras a and b."""
    out = []
    for text in extras[extra]:
        req = Requirement(text)
        if canonicalize_name(req.name) == canonicalize_name(name):
            out += [r for sub in sorted(req.extras) for r in _expand(extras, sub, name)]
        else:
            out.append(text)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    core = project["dependencies"]
    rows = {"core": closure(core)}
    extras = project["optional-dependencies"]
    for extra in extras:
        rows[f"core + {extra}"] = closure(core + _expand(extras, extra, project["name"]))
    print(f"{'install':<22} {'distributions':>13} {'MB':>7}  missing here")
    table = {}
    for label, found in rows.items():
        megabytes = sum(v or 0 for v in found.values()) / 1e6
        missing = sorted(name for name, v in found.items() if v is None)
        table[label] = {"distributions": len(found), "mb": round(megabytes, 1),
                        "missing": missing}
        print(f"{label:<22} {len(found):>13} {megabytes:>7.0f}  {', '.join(missing)}")
    largest = sorted(((v or 0, k) for k, v in rows["core"].items()), reverse=True)[:8]
    print("largest in the core: " + ", ".join(f"{k} {v / 1e6:.0f} MB" for v, k in largest))
    if args.json:
        args.json.write_text(json.dumps(table, indent=2) + "\n")


if __name__ == "__main__":
    main()
