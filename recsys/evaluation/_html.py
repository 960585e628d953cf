"""Rich notebook display of evaluation results and comparison tables."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

_CSS = ("<style>.recsys-eval td, .recsys-eval th {text-align: right; padding: 2px 8px;} "
        ".recsys-eval th:first-child {text-align: left;} .recsys-eval .ci {color: #777;}"
        "</style>")


def _table(head: list[str], rows: list[list[str]], caption: str) -> str:
    thead = "".join(f"<th>{cell}</th>" for cell in head)
    body = "".join("<tr>" + "".join(f"<{'th' if i == 0 else 'td'}>{cell}</"
                                    f"{'th' if i == 0 else 'td'}>"
                                    for i, cell in enumerate(row)) + "</tr>" for row in rows)
    return (f'{_CSS}<table class="recsys-eval"><thead><tr>{thead}</tr></thead><tbody>{body}'
            f"</tbody></table><p>{caption}</p>")


def evaluation_html(result: Any, n_bootstrap: int = 1000, seed: int = 0) -> str:
    """One row per metric: the mean and its 95% bootstrap CI over users (catalog-level values
    such as coverage have no CI)."""
    from recsys.evaluation.significance import bootstrap_ci

    rows = []
    for metric, mean in result.summary.items():
        ci = ""
        if metric in result.per_user:
            values = result.per_user[metric].dropna().to_numpy(float)
            if len(values) > 1:
                low, high = bootstrap_ci(values[:, None], n_bootstrap, seed=seed)[:, 0]
                ci = f'<span class="ci">[{low:.4f}, {high:.4f}]</span>'
        rows.append([html.escape(str(metric)), f"{mean:.4f}", ci])
    info = ", ".join(f"{html.escape(str(key))}: {value:,}" if isinstance(value, (int, np.integer))
                     else f"{html.escape(str(key))}: {html.escape(str(value))}"
                     for key, value in result.info.items())
    return _table(["metric", "mean", "95% CI"], rows, info)


def comparison_html(table: pd.DataFrame) -> str:
    """Models x metrics, ``mean [CI]`` per cell, the best mean of each metric in bold and a
    star where a model differs significantly from the baseline."""
    models = list(dict.fromkeys(table["model"]))
    metrics = list(dict.fromkeys(table["metric"]))
    best = table.groupby("metric")["mean"].max()
    rows = []
    for model in models:
        row = [html.escape(str(model))]
        mine = table[table["model"] == model].set_index("metric")
        for metric in metrics:
            r = mine.loc[metric]
            mean = f"{r['mean']:.4f}"
            if r["mean"] == best[metric]:
                mean = f"<strong>{mean}</strong>"
            star = "*" if r.get("significant", False) else ""
            row.append(f'{mean}{star} <span class="ci">[{r["ci_low"]:.4f}, '
                       f'{r["ci_high"]:.4f}]</span>')
        rows.append(row)
    baseline = table.attrs.get("baseline")
    caption = (f"mean [95% CI] over {int(table['users'].iloc[0]):,} users; bold: best per "
               f"metric; * significantly different from the baseline "
               f"{html.escape(str(baseline))!s} (Holm-adjusted paired t-test)")
    return _table(["model", *map(html.escape, metrics)], rows, caption)


__all__ = ["comparison_html", "evaluation_html"]
