"""The experiment report a person reads: ``report.md`` with its plots as PNG files beside it,
and ``report.html``, one self-contained file with the same plots embedded (base64).

Both are rendered from one list of blocks (headings, paragraphs, tables, images), so they
always say the same thing.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from recsys.errors import RecsysError
from recsys.evaluation.experiment.results import ExperimentResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PLOT_FILES = {
    "metrics": "metrics.png",
    "curves": "curves.png",
    "popularity_bias": "popularity_bias.png",
    "distributions": "distributions.png",
    "long_tail": "long_tail.png",
}
BEYOND_LABELS = {
    "coverage": "catalog coverage", "gini": "Gini of exposure",
    "personalization": "personalization", "novelty": "novelty (bits)",
    "arp": "avg. recommended popularity", "diversity": "intra-list diversity",
}


@dataclass
class Block:
    """One piece of the report: ``kind`` is "h2", "h3", "p", "list", "table" or "image"."""

    kind: str
    content: Any
    caption: str = ""


# --------------------------------------------------------------------------- plots


def _plots():
    """The plotting module; matplotlib is an optional extra for services that never plot."""
    try:
        from recsys.evaluation import plots
    except ModuleNotFoundError as exc:
        raise RecsysError(f"the report's plots need matplotlib ({exc}): "
                          'pip install "recsys-lab[report]"') from None
    return plots


def report_figures(result: ExperimentResult) -> dict[str, Figure]:
    """The report's figures by role (the keys of ``PLOT_FILES``).

    Every plot needs at least one model that ran, except the data set's long tail.
    """
    plots = _plots()
    config, k = result.config, result.config.report_k
    ok = [run for run in result.runs if run.ok]
    out: dict[str, Figure] = {}
    if ok:
        accuracy = [f"{m}@{k}" for m in config.metrics]
        out["metrics"] = plots.metrics(
            result, metrics=accuracy,
            title=f"Accuracy at k={k}: mean over test users, 95% bootstrap CI "
                  f"(* differs from {result.baseline})")
        curve_metrics: tuple[str, ...] = tuple(
            m for m in ("recall", "ndcg") if m in config.metrics) or tuple(config.metrics[:2])
        out["curves"] = plots.curves(result.curves, metrics=curve_metrics)
        out["popularity_bias"] = plots.popularity_bias(
            result.item_counts, {run.name: run.exposure for run in ok},
            title=f"Popularity bias at k={k}: top-{k} slots vs training interactions")
        columns = [f"{m}@{k}" for m in ("ndcg", "recall") if m in config.metrics] or \
            accuracy[:2]
        if config.beyond:
            columns.append(f"novelty@{k}")
        out["distributions"] = plots.distributions(
            {run.name: run.per_user for run in ok}, columns, title=f"Per-user values at k={k}")
    out["long_tail"] = plots.long_tail(result.interactions,
                                       title=f"{result.data['source']}: item popularity")
    return out


def render_plots(result: ExperimentResult, out_dir: Path) -> dict[str, Path]:
    """Write the report's PNG files into ``out_dir``; returns ``{role: path}``."""
    out = {}
    for role, fig in report_figures(result).items():
        out[role] = out_dir / PLOT_FILES[role]
        fig.savefig(out[role], dpi=110)
    return out


# --------------------------------------------------------------------------- content


def _number(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _p(value: Any, name: str = "") -> str:
    """A p-value as text; with ``name``, as ``p=0.0123`` or ``p<1e-4``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if value < 1e-4:
        return f"{name}<1e-4" if name else "<1e-4"
    return f"{name}={value:.4f}" if name else f"{value:.4f}"


def _best_means(result: ExperimentResult) -> dict[str, float]:
    """Per metric at report_k, the largest mean of a model that ran."""
    k = result.config.report_k
    ok = result.table[(result.table["status"] == "ok")
                      & result.table["metric"].str.endswith(f"@{k}")]
    return ok.groupby("metric")["mean"].max().to_dict()


def _results_table(result: ExperimentResult) -> pd.DataFrame:
    k = result.config.report_k
    table = result.table
    best = _best_means(result)
    rows = []
    for run in result.runs:
        row: dict[str, str] = {"model": run.name}
        mine = table[(table["model"] == run.name) & (table["status"] == "ok")]
        for metric in result.config.metrics:
            found = mine[mine["metric"] == f"{metric}@{k}"]
            if found.empty:
                row[f"{metric}@{k}"] = ""
                continue
            r = found.iloc[0]
            star = "*" if r["significant"] else ""
            mean = f"{r['mean']:.4f}"
            if r["mean"] == best.get(f"{metric}@{k}"):
                mean = f"**{mean}**"
            row[f"{metric}@{k}"] = f"{mean} [{r['ci_low']:.4f}, {r['ci_high']:.4f}]{star}"
        row["fit s"] = _number(run.fit_seconds, 2) if run.ok else ""
        row["status"] = "ok" if run.ok else f"{run.status}: {run.error}"
        rows.append(row)
    return pd.DataFrame(rows)


def _significance_table(result: ExperimentResult) -> pd.DataFrame:
    """Models x metrics: difference to the baseline, effect size and Holm-adjusted p."""
    k = result.config.report_k
    wanted = [f"{m}@{k}" for m in result.config.metrics]
    rows = result.table[(result.table["status"] == "ok") & result.table["metric"].isin(wanted)
                        & (result.table["model"] != result.baseline)]
    out = []
    for model, part in rows.groupby("model", sort=False):
        row = {"model": model}
        for r in part.itertuples(index=False):
            star = "*" if r.significant else ""
            effect = _number(r.effect_size, 2)
            row[r.metric] = f"{r.diff:+.4f} (d={effect}, {_p(r.p_holm, 'p')}){star}"
        out.append(row)
    return pd.DataFrame(out)


def _best_table(result: ExperimentResult) -> pd.DataFrame:
    """Models x metrics: how far each model is behind the best one, and whether the gap is
    significant (Holm-corrected over the other models)."""
    k = result.config.report_k
    wanted = [f"{m}@{k}" for m in result.config.metrics]
    pairs = result.pairwise
    if pairs.empty:
        return pd.DataFrame()
    pairs = pairs[pairs["metric"].isin(wanted)]
    rows = []
    for run in result.runs:
        if not run.ok:
            continue
        row = {"model": run.name}
        for metric in wanted:
            mine = pairs[pairs["metric"] == metric]
            if mine.empty:
                row[metric] = ""
            elif mine["best"].iloc[0] == run.name:
                row[metric] = "**best**"
            else:
                r = mine[mine["model"] == run.name].iloc[0]
                verdict = "behind" if r["significant"] else "tie"
                row[metric] = f"{-r['diff']:+.4f} ({_p(r['p_holm'], 'p')}) {verdict}"
        rows.append(row)
    return pd.DataFrame(rows)


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def conclusion(result: ExperimentResult) -> str:
    """One paragraph, generated from the numbers: the best model on the first metric, what
    it is significantly better than, what is a tie, and where other metrics disagree.

    Examples
    --------
    >>> conclusion(result)  # doctest: +SKIP
    'On ndcg@10 the best model is **EASE** (0.4521, 95% CI 0.4400-0.4650). It is ...'
    """
    k = result.config.report_k
    metric = f"{result.config.metrics[0]}@{k}"
    ok = [run.name for run in result.runs if run.ok]
    failed = [run.name for run in result.runs if not run.ok]
    tail = f" {_names(failed)} failed (see below)." if failed else ""
    if not ok:
        return f"No model ran, so there is nothing to conclude.{tail}"
    rows = result.table[(result.table["metric"] == metric) & (result.table["status"] == "ok")]
    if len(ok) == 1 or result.pairwise.empty:
        r = rows.iloc[0]
        return f"Only **{r['model']}** ran: {metric} {r['mean']:.4f}.{tail}"
    pairs = result.pairwise[result.pairwise["metric"] == metric]
    best = pairs["best"].iloc[0]
    r = rows[rows["model"] == best].iloc[0]
    text = (f"On {metric} the best model is **{best}** ({r['mean']:.4f}, 95% CI "
            f"{r['ci_low']:.4f}-{r['ci_high']:.4f}).")
    beaten = pairs.loc[pairs["significant"], "model"].tolist()
    tied = pairs.loc[~pairs["significant"]]
    if beaten:
        text += (f" It is significantly better than {_names(beaten)} (paired t-test per user, "
                 f"Holm-corrected, p < 0.05).")
    if len(tied):
        ties = [f"{row.model} ({row.mean:.4f}, {_p(row.p_holm, 'p')})"
                for row in tied.itertuples()]
        text += (f" The difference to {_names(ties)} is within the noise of this test set: "
                 "treat them as tied, and prefer the cheaper or simpler one.")
    else:
        text += f" No other model comes close: {best} is the clear choice on {metric}."
    others = result.pairwise[result.pairwise["metric"].isin(
        [f"{m}@{k}" for m in result.config.metrics[1:]])]
    disagree = others.groupby("metric", sort=False)["best"].first()
    disagree = disagree[disagree != best]
    if len(disagree):
        by_model = disagree.groupby(disagree, sort=False).groups
        text += " Other metrics differ: " + "; ".join(
            f"{name} is best on {_names(list(metrics))}" for name, metrics in by_model.items()
        ) + "."
    elif len(others):
        text += f" {best} is also best on every other accuracy metric."
    return text + tail


def _beyond_table(result: ExperimentResult) -> pd.DataFrame:
    k = result.config.report_k
    wide = result.summary(k)
    names = [name for name in ("coverage", "gini", "personalization", "novelty", "arp",
                               "diversity") if f"{name}@{k}" in wide.columns]
    frame = pd.DataFrame({"model": wide.index})
    for name in names:
        digits = 1 if name == "arp" else 3
        frame[BEYOND_LABELS[name]] = [_number(v, digits) for v in wide[f"{name}@{k}"]]
    return frame[[run.ok for run in result.runs]]


def _tuning_table(result: ExperimentResult) -> pd.DataFrame | None:
    rows = []
    for run in result.runs:
        for fold, params in enumerate(run.best_params, start=1):
            tuned = {key: params[key] for key in params if key not in run.params or
                     run.params[key] != params[key]}
            best = None
            if run.trials is not None:
                scored = run.trials[run.trials["fold"] == fold]
                if "rung" in scored:  # rs.auto: lower rungs were fitted on fewer users
                    scored = scored[scored["rung"] == scored["rung"].max()]
                score_column = next(c for c in scored.columns if "@" in c)
                best = f"{score_column} {scored[score_column].max():.4f} " \
                       f"({len(scored)} trials)"
            rows.append({"model": run.name, "fold": fold,
                         "chosen": _arguments(tuned),
                         "validation": best or ""})
    return pd.DataFrame(rows) if rows else None


def _arguments(params: dict) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in params.items())


def build_blocks(result: ExperimentResult, images: dict[str, Path]) -> list[Block]:
    """The report's content, in order."""
    config, data, k = result.config, result.data, result.config.report_k
    split = result.split
    split_text = {
        "random": f"per-user random, {split.get('test_size')} of each user's interactions "
                  f"held out (seed {config.seed})",
        "temporal": f"temporal ({'per user' if split.get('per_user') else 'global cut'}), the "
                    f"latest {split.get('test_size')} held out",
        "leave_last": f"leave-last-{split.get('n')} per user",
        "kfold": f"{split.get('n_folds')}-fold per user (seed {config.seed}); per-user values "
                 "averaged over the folds a user is tested in",
    }[split["method"]]
    filters = ", ".join(f"{key}={value}" for key, value in data["filters"].items()) or "none"
    blocks = [
        Block("p", f"**Conclusion.** {conclusion(result)}"),
        Block("p", f"Data set **{data['source']}**: {data['users']:,} users, "
                   f"{data['items']:,} items, {data['interactions']:,} interactions "
                   f"(density {data['density']:.2%}; filters: {filters}). "
                   f"The most popular 20% of items hold {data['head20_share']:.0%} of them."),
        Block("list", [
            f"Split: {split_text}; train {split['train_interactions']:,} / test "
            f"{split['test_interactions']:,} interactions, {split['test_users']:,} test users.",
            f"Metrics at k = {', '.join(map(str, config.k))}; tables at k = {k}. Full-ranking "
            "evaluation: every model ranks the whole catalog minus the user's training items. "
            "Sampled metrics (ranking against a few random negatives) are not used because "
            "they can change which model wins (Krichene & Rendle, 2020).",
            f"Intervals: 95% percentile bootstrap over users ({config.n_bootstrap:,} "
            f"resamples). Tests: paired t-test and Wilcoxon signed-rank per user against "
            f"**{result.baseline}**, Holm-corrected across models; * marks p < 0.05.",
        ]),
        Block("h2", f"Results at k = {k}"),
        Block("table", _results_table(result),
              "mean [95% CI] over the users every successful model was scored on"),
    ]
    if "metrics" in images:
        blocks.append(Block("image", images["metrics"], "Metric means with 95% CIs"))
    best = _best_table(result)
    if not best.empty:
        blocks += [Block("h3", "Is the best model really better?"),
                   Block("table", best,
                         "per metric, each model's gap to the best one (negative: behind it), "
                         "with the paired t-test p of best vs that model, Holm-corrected over "
                         "the other models; behind: significantly behind (p < 0.05); tie: not "
                         "distinguishable on these users")]
    significance = _significance_table(result)
    if not significance.empty:
        blocks += [Block("h3", f"Against the baseline ({result.baseline})"),
                   Block("table", significance,
                         "difference of means (Cohen's d_z of the per-user differences, "
                         "Holm-adjusted paired t-test p; Wilcoxon p in results.csv)")]
    if "curves" in images:
        blocks += [Block("h2", "Over k"),
                   Block("p", "How the metrics grow with the list length."),
                   Block("image", images["curves"], "Recall@k and NDCG@k")]
    if config.beyond and any(run.ok for run in result.runs):
        blocks += [
            Block("h2", "Beyond accuracy"),
            Block("p", "Coverage: share of the catalog that appears in any list. Gini: how "
                       "unequally the list slots are spread over items (1 = all to one). "
                       "Personalization: 1 - mean overlap of two users' lists. Novelty: mean "
                       "self-information -log2(share of training users) of listed items. "
                       "Diversity: 1 - mean pairwise cosine similarity within a list (item "
                       "features when the data set has them, else co-interaction)."),
            Block("table", _beyond_table(result)),
        ]
        if "popularity_bias" in images:
            blocks.append(Block("image", images["popularity_bias"],
                                "Share of recommendation slots per item-popularity bin"))
    if "distributions" in images:
        blocks += [Block("h2", "Per-user distributions"),
                   Block("p", "The means above hide how unevenly users are served; boxes "
                              "span the middle half of users, diamonds are the means."),
                   Block("image", images["distributions"], "Per-user metric values")]
    tuning = _tuning_table(result)
    if tuning is not None:
        blocks += [Block("h2", "Tuning"),
                   Block("p", "Parameters chosen on a validation split carved out of each "
                              "training set with the same protocol (the test set is never "
                              "seen during tuning)."),
                   Block("table", tuning)]
    failed = [run for run in result.runs if not run.ok]
    if failed:
        blocks += [Block("h2", "Failed models"),
                   Block("list", [f"**{run.name}** ({run.class_name}, params "
                                  f"{run.params}): {run.error}" for run in failed])]
    blocks += [Block("h2", "Data"),
               Block("image", images["long_tail"], "Item popularity long tail")]
    models = ", ".join(f"{run.name} = {run.class_name}({_arguments(run.params)})"
                       for run in result.runs)
    blocks.append(Block("p", f"Models: {models}. Config: `{config.source}`. "
                             f"Runtime {result.seconds:.1f} s."))
    return blocks


# --------------------------------------------------------------------------- rendering


def _md_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(title: str, blocks: list[Block]) -> str:
    """Markdown; images are referenced by file name (the PNGs sit beside the report)."""
    lines = [f"# {title}", ""]
    for block in blocks:
        if block.kind in ("h2", "h3"):
            lines += [f"{'#' * int(block.kind[1])} {block.content}", ""]
        elif block.kind == "p":
            lines += [block.content, ""]
        elif block.kind == "list":
            lines += [f"- {item}" for item in block.content] + [""]
        elif block.kind == "table":
            frame: pd.DataFrame = block.content
            lines.append("| " + " | ".join(_md_cell(c) for c in frame.columns) + " |")
            lines.append("|" + "|".join(" --- " for _ in frame.columns) + "|")
            for row in frame.itertuples(index=False):
                lines.append("| " + " | ".join(_md_cell(v) for v in row) + " |")
            lines += [""] + ([f"*{block.caption}*", ""] if block.caption else [])
        elif block.kind == "image":
            lines += [f"![{block.caption}]({Path(block.content).name})", ""]
    return "\n".join(lines)


def _inline(text: str) -> str:
    """Escape, then render the two inline marks the report uses: **bold** and `code`."""
    out = html.escape(text)
    out = _pairs(out, "**", "<strong>", "</strong>")
    return _pairs(out, "`", "<code>", "</code>")


def _pairs(text: str, mark: str, start: str, end: str) -> str:
    parts = text.split(mark)
    if len(parts) % 2 == 0:  # unbalanced: leave as is
        return text
    return "".join(p if i % 2 == 0 else f"{start}{p}{end}" for i, p in enumerate(parts))


_CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; margin: 0.5em 0; }
figcaption, .caption { color: #666; font-size: 0.85em; }
code { background: #f3f3f3; padding: 0 0.2em; }
"""


def to_html(title: str, blocks: list[Block]) -> str:
    """One self-contained HTML page: inline CSS, plots embedded as base64 data URIs."""
    body = [f"<h1>{html.escape(title)}</h1>"]
    for block in blocks:
        if block.kind in ("h2", "h3"):
            body.append(f"<{block.kind}>{_inline(block.content)}</{block.kind}>")
        elif block.kind == "p":
            body.append(f"<p>{_inline(block.content)}</p>")
        elif block.kind == "list":
            items = "".join(f"<li>{_inline(item)}</li>" for item in block.content)
            body.append(f"<ul>{items}</ul>")
        elif block.kind == "table":
            frame = block.content
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
            rows = "".join("<tr>" + "".join(f"<td>{_inline(str(v))}</td>" for v in row)
                           + "</tr>" for row in frame.itertuples(index=False))
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
            if block.caption:
                body.append(f'<p class="caption">{_inline(block.caption)}</p>')
        elif block.kind == "image":
            data = base64.b64encode(Path(block.content).read_bytes()).decode("ascii")
            alt = html.escape(block.caption)
            body.append(f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">'
                        f"<figcaption>{alt}</figcaption></figure>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def write_report(result: ExperimentResult, out_dir: str | Path) -> dict[str, Path]:
    """Render the plots, ``report.md`` and ``report.html`` into ``out_dir``.

    Returns
    -------
    dict
        ``{"report.md": path, "report.html": path, <plot role>: png path, ...}``.

    Examples
    --------
    >>> from recsys.evaluation.experiment import run_experiment  # doctest: +SKIP
    >>> result = run_experiment("examples/demo.toml", write=False)  # doctest: +SKIP
    >>> sorted(write_report(result, "/tmp/report"))  # doctest: +SKIP
    ['curves', 'distributions', 'long_tail', 'metrics', 'popularity_bias', 'report.html', ...]
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images = render_plots(result, out_dir)
    blocks = build_blocks(result, images)
    title = f"Experiment: {result.config.name}"
    markdown = out_dir / "report.md"
    markdown.write_text(to_markdown(title, blocks) + "\n", encoding="utf-8")
    page = out_dir / "report.html"
    page.write_text(to_html(title, blocks), encoding="utf-8")
    return {**images, "report.md": markdown, "report.html": page}
