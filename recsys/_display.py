"""Rich notebook display of :class:`~recsys.models.base.Recommendations`.

A compact HTML table, one row per query and one cell per rank, shows item titles where the
data set has them. Titles are found by catalog: a :class:`~recsys.data.Dataset` with a
``title`` column in its item table registers them for its interactions' item index, which
the splits and every model fitted on them share.
"""

from __future__ import annotations

import html
from collections import OrderedDict
from typing import Any

import pandas as pd

# Catalogs whose titles are known, most recent last: id(index) -> (index, titles). The index
# is kept so that its id cannot be reused by another object while the entry exists.
_TITLES: OrderedDict[int, tuple[Any, pd.Series]] = OrderedDict()
_MAX_CATALOGS = 8
MAX_ROWS = 20

_CSS = ("<style>.recsys-recs td, .recsys-recs th {text-align: left; vertical-align: top; "
        "padding: 2px 8px;} .recsys-recs .score {color: #888; font-size: 0.8em;}</style>")


def register_titles(index: Any, titles: pd.Series) -> None:
    """Remember ``titles`` (indexed by external item id) for the item index ``index``."""
    _TITLES[id(index)] = (index, titles)
    _TITLES.move_to_end(id(index))
    while len(_TITLES) > _MAX_CATALOGS:
        _TITLES.popitem(last=False)


def titles_for(index: Any) -> pd.Series | None:
    """The registered titles of this item index, or None."""
    entry = _TITLES.get(id(index))
    return entry[1] if entry is not None and entry[0] is index else None


def _label(item: Any, titles: pd.Series | None) -> str:
    text = str(titles.get(item, item)) if titles is not None else str(item)
    if titles is not None and text != str(item):
        return f'<span title="{html.escape(str(item))}">{html.escape(text)}</span>'
    return html.escape(text)


def recommendations_html(recs: Any, max_rows: int = MAX_ROWS) -> str:
    """HTML table of the first ``max_rows`` queries of a Recommendations.

    Examples
    --------
    >>> import numpy as np
    >>> from recsys.data.ids import IdIndex
    >>> from recsys.models.base import Recommendations
    >>> recs = Recommendations(["u1"], np.array([[1, 0]]), np.array([[0.9, 0.1]]),
    ...                        IdIndex(["a", "b"]))
    >>> "<th>user</th>" in recommendations_html(recs)
    True
    """
    titles = titles_for(recs.item_index)
    shown = min(len(recs), max_rows)
    head = "".join(f"<th>{rank}</th>" for rank in range(1, recs.k + 1))
    rows = []
    for row in range(shown):
        key = recs.keys[row]
        query = _label(key, titles) if recs.key_name == "query_item" else html.escape(str(key))
        cells = [f"<th>{query}</th>"]
        positions = recs.positions[row]
        valid = positions >= 0
        items = recs.item_index.to_ids(positions[valid])
        for item, score in zip(items, recs.scores[row][valid], strict=True):
            cells.append(f'<td>{_label(item, titles)}<br><span class="score">{score:.3g}</span>'
                         "</td>")
        cells += ["<td></td>"] * int((~valid).sum())
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (f"<p>... {len(recs) - shown} more {recs.key_name}s (<code>.to_pandas()</code> "
            "has them all)</p>") if len(recs) > shown else ""
    return (f"{_CSS}<table class=\"recsys-recs\"><thead><tr><th>{html.escape(recs.key_name)}"
            f"</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"<p>{len(recs)} {html.escape(recs.key_name)}(s) x top {recs.k}; score under each "
            f"item</p>{more}")


__all__ = ["MAX_ROWS", "recommendations_html", "register_titles", "titles_for"]
