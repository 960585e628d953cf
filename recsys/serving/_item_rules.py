"""Item attributes and named item sets in a model directory (arrays + JSON, no pickle).

Under ``item_rules`` in the manifest::

    "item_rules": {
      "attributes": [{"name": "price", "kind": "float",
                      "values": {<array entry>}, "missing": {<array entry>}}, ...],
      "sets": {"in_stock": {<array entry>}, ...}
    }

Each attribute is one column aligned to the model's items: ``values`` a plain array of
``n_items`` (bool, int64, float64, unicode text, or int64 time since the epoch for
datetimes, with the time zone in ``"tz"`` and the resolution in ``"unit"``), ``missing`` a
boolean array marking the missing values. Each named set is a boolean mask over the items.
Files are named by position (``attr.0.values.npy``, ``set.0.npy``): names may be any text.
Every file is checksummed and checked on loading like the learned arrays; a tampered table is
refused before the model is handed out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys.data.attributes import LOGICAL, SET
from recsys.errors import DataError, ModelFileError
from recsys.models.base import Recommender
from recsys.serving._files import ModelDir, read_entry

SECTION = "item_rules"
# Attribute kind -> the dtype its ``values`` file must hold.
KINDS = {"bool": "bool", "int": "int64", "float": "float64", "str": "U",
         "datetime": "int64"}
UNITS = ("s", "ms", "us", "ns")


def column_kind(series: pd.Series, where: str) -> str:
    """The saved kind of an attribute column; text columns must hold only strings."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        series = series.astype(object)
        dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    present = series.dropna()
    odd = present[~present.map(lambda v: isinstance(v, str) and not v.endswith("\0"))]
    if len(odd):
        raise DataError(f"{where}: item {odd.index[0]!r} holds {odd.iloc[0]!r}; a saved "
                        "attribute holds booleans, numbers, datetimes or text (without a "
                        "trailing NUL)")
    return "str"


def _column_arrays(series: pd.Series, kind: str) -> tuple[np.ndarray, np.ndarray, dict]:
    missing = series.isna().to_numpy(dtype=bool)
    extra: dict[str, Any] = {}
    if kind == "bool":
        values = series.fillna(False).to_numpy(dtype=bool)
    elif kind == "int":
        values = series.fillna(0).to_numpy(dtype=np.int64)
    elif kind == "float":
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        values = np.where(missing, 0.0, values)  # NaN lives in ``missing``, files stay finite
    elif kind == "datetime":
        tz = getattr(series.dtype, "tz", None)
        extra["tz"] = None if tz is None else str(tz)
        extra["unit"] = series.dt.unit
        naive = series.dt.tz_convert("UTC").dt.tz_localize(None) if tz is not None else series
        values = naive.to_numpy().view(np.int64).copy()
        values[missing] = 0
    else:
        values = series.astype(object).where(~missing, "").to_numpy().astype(str)
    return values, missing, extra


def write_item_rules(model: Recommender, directory: Path,
                     write_dense: Any) -> dict | None:
    """The ``item_rules`` manifest section of ``model`` (files written into ``directory``
    by ``write_dense(array, path, where)``), or None when it has neither attributes nor
    sets."""
    attributes = model.__dict__.get("_item_attributes")
    sets = model.__dict__.get("_item_sets")
    if attributes is None and not sets:
        return None
    name = type(model).__name__
    columns = []
    attributes = pd.DataFrame() if attributes is None else attributes
    for i, column in enumerate(attributes.columns):
        where = f"{name} item attribute {column!r}"
        if not isinstance(column, str):
            raise DataError(f"{where}: attribute names must be strings to be saved")
        kind = column_kind(attributes[column], where)
        values, missing, extra = _column_arrays(attributes[column], kind)
        columns.append({"name": column, "kind": kind, **extra,
                        "values": write_dense(values, directory / f"attr.{i}.values.npy",
                                              where),
                        "missing": write_dense(missing, directory / f"attr.{i}.missing.npy",
                                               where)})
    masks = {} if sets is None else sets.masks()
    saved_sets = {set_name: write_dense(mask, directory / f"set.{i}.npy",
                                        f"{name} item set {set_name!r}")
                  for i, (set_name, mask) in enumerate(masks.items())}
    return {"attributes": columns, "sets": saved_sets}


def entries(section: dict) -> list[dict]:
    """Every array entry of a section (for checksumming after writing)."""
    out = [entry for column in section["attributes"] for entry in
           (column["values"], column["missing"])]
    return out + list(section["sets"].values())


def read_item_rules(directory: ModelDir, section: Any, model: Recommender,
                    where: Path) -> None:
    """Attach the saved attributes and sets to ``model``, checking every file and field."""
    if section is None:
        return
    if not (isinstance(section, dict) and isinstance(section.get("attributes"), list)
            and isinstance(section.get("sets"), dict)):
        raise ModelFileError(f"{where}: {SECTION} must hold an 'attributes' list and a "
                             "'sets' object")
    n_items = len(model.items_)
    columns: dict[str, pd.Series] = {}
    for i, column in enumerate(section["attributes"]):
        name, series = _read_column(directory, column, n_items, f"{where} {SECTION}[{i}]")
        if name in columns:
            raise ModelFileError(f"{where}: item attribute {name!r} is listed twice")
        columns[name] = series
    if columns:
        frame = pd.DataFrame(columns)
        frame.index = pd.Index(model.items_.ids, dtype=object)
        model.set_item_attributes(frame)
    for set_name, entry in section["sets"].items():
        label = f"{where} item set {set_name!r}"
        if not set_name:
            raise ModelFileError(f"{label}: a set needs a name")
        mask = read_entry(directory, entry, f"set {set_name}")
        if mask.dtype != bool or mask.shape != (n_items,):
            raise ModelFileError(f"{label} holds {mask.dtype} {mask.shape}, expected a "
                                 f"boolean mask over the {n_items} items")
        model.item_sets[set_name] = model.items_.ids[mask]


def _read_column(directory: ModelDir, column: Any, n_items: int,
                 where: str) -> tuple[str, pd.Series]:
    if not isinstance(column, dict):
        raise ModelFileError(f"{where} must be an object")
    name, kind = column.get("name"), column.get("kind")
    if not isinstance(name, str) or not name or name in LOGICAL or name == SET:
        raise ModelFileError(f"{where}: {name!r} is not a valid attribute name")
    if kind not in KINDS:
        raise ModelFileError(f"{where}: attribute {name!r} has unknown kind {kind!r}; "
                             f"expected one of {sorted(KINDS)}")
    values = read_entry(directory, column.get("values"), f"attribute {name}")
    missing = read_entry(directory, column.get("missing"), f"attribute {name} missing")
    expected = KINDS[kind]
    fits = values.dtype.kind == "U" if expected == "U" else values.dtype == expected
    if not fits or values.shape != (n_items,):
        raise ModelFileError(f"{where}: attribute {name!r} ({kind}) holds {values.dtype} "
                             f"{values.shape}, expected {expected} ({n_items},)")
    if missing.dtype != bool or missing.shape != (n_items,):
        raise ModelFileError(f"{where}: attribute {name!r} missing-value mask holds "
                             f"{missing.dtype} {missing.shape}, expected bool ({n_items},)")
    if kind == "float" and not np.isfinite(values).all():
        raise ModelFileError(f"{where}: attribute {name!r} holds NaN or infinite values "
                             "(missing values belong in its mask)")
    unit = column.get("unit")
    if kind == "datetime" and unit not in UNITS:
        raise ModelFileError(f"{where}: attribute {name!r} has time unit {unit!r}; expected "
                             f"one of {list(UNITS)}")
    return name, _series(values, missing, kind, column.get("tz"), unit, where)


def _series(values: np.ndarray, missing: np.ndarray, kind: str, tz: Any, unit: Any,
            where: str) -> pd.Series:
    if kind == "bool":
        series = pd.Series(values, dtype="boolean")
    elif kind == "int":
        series = pd.Series(values, dtype="Int64" if missing.any() else "int64")
    elif kind == "float":
        series = pd.Series(values, dtype="float64")
    elif kind == "datetime":
        series = pd.Series(values.view(f"datetime64[{unit}]"))
        if tz is not None:
            try:
                series = series.dt.tz_localize("UTC").dt.tz_convert(str(tz))
            except (TypeError, ValueError, KeyError) as exc:
                raise ModelFileError(f"{where}: unknown time zone {tz!r}: {exc}") from None
    else:
        series = pd.Series(values.tolist())  # pandas' own text dtype (str from pandas 3)
    if missing.any():
        series = series.mask(pd.Series(missing))
    if kind == "bool" and not missing.any():
        series = series.astype(bool)
    return series
