"""Progress bars that suit where the code runs.

``tqdm.auto`` picks the notebook widget inside Jupyter, but when ipywidgets is missing it
warns on import (``TqdmWarning: IProgress not found``) and then draws nothing useful. Here the
widget is used only when ipywidgets can be imported; otherwise the text bar, which Jupyter
shows well enough on stderr. tqdm itself is imported on the first bar, not with the package.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Any


@functools.cache
def _bar_class() -> type:
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm


def progress(iterable: Any = None, **kwargs: Any) -> Any:
    """A tqdm bar over ``iterable`` (keyword arguments as for ``tqdm.tqdm``).

    Examples
    --------
    >>> sum(progress(range(3), disable=True))
    3
    """
    return _bar_class()(iterable, **kwargs)
