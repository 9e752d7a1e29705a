"""Spreadsheet-safe tables: every CSV and .xlsx file Workbench writes goes through `write_csv` / `write_xlsx`.

Labels, tags, file and annotator names come from users; a spreadsheet opening a cell that begins with `=`, `+`,
`-`, `@`, tab or carriage return may run it as a formula (OWASP, "CSV injection"). So, OWASP's rule:
- CSV: such a text cell is written with a leading `'` (a text cell that already begins with `'` gets one more,
  so `read_csv` can take exactly one off again and every value reads back as written);
- .xlsx: every text cell is stored as text (never as a formula), with its value unchanged.
Numbers (int, float, bool) are written as numbers: a negative number is a value, not a formula. Only text cells
are escaped, so a label "-1" (text) is written `'-1` in a CSV, and a confidence of -0.5 (a number) stays -0.5.
Files are written atomically (workbench.atomic); CSV rows end in CRLF, so a cell holding a line break is quoted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from workbench.atomic import atomic_path
from workbench.lazy import lazy_import

# openpyxl (~0.1 s): imported when an .xlsx is written, not at every CLI start
openpyxl = lazy_import("openpyxl")
openpyxl_cell = lazy_import("openpyxl.cell")

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def safe_cell(value: Any) -> Any:
    """A text value as a CSV cell a spreadsheet shows as text; anything else unchanged."""
    if isinstance(value, str) and value.startswith((*FORMULA_START, QUOTE)):
        return QUOTE + value
    return value


def unescape_cell(value: Any) -> Any:
    """The value `safe_cell` was given, from the cell it wrote (other values unchanged)."""
    if isinstance(value, str) and len(value) > 1 and value[0] == QUOTE and value[1] in (*FORMULA_START, QUOTE):
        return value[1:]
    return value


def text_or_blank(values: pd.Series) -> pd.Series:
    """A text column with its missing values as "": cast to object first, since a column that only ever held
    missing values (a lookup in an empty table) is float64, which pandas 3 will not fill with a string."""
    return values.astype(object).fillna("")


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with its text cells and column names passed through `safe_cell` (numbers untouched)."""
    out = df.copy()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_datetime64_any_dtype(out[col])):
            out[col] = out[col].map(safe_cell)
    out.columns = [safe_cell(c) for c in out.columns]
    if not pd.api.types.is_numeric_dtype(out.index):
        out.index = out.index.map(safe_cell)
    out.index.names = [safe_cell(n) for n in out.index.names]
    return out


def write_csv(path: str | Path, df: pd.DataFrame, index: bool = False) -> Path:
    """`df` as a CSV file, text cells spreadsheet-safe, written atomically."""
    with atomic_path(path) as tmp:
        # CRLF rows (RFC 4180): Python's csv quotes a cell holding a lone CR only when CR ends rows; unquoted,
        # "x\r=1" would start a new row with "=1"
        safe_frame(df).to_csv(tmp, index=index, lineterminator="\r\n")
    return Path(path)


def write_xlsx(path: str | Path, df: pd.DataFrame) -> Path:
    """`df` as an .xlsx sheet (header row, no index): text cells stored as text, never formulas; atomic."""
    wb = openpyxl.Workbook(write_only=True)
    sheet = wb.create_sheet()
    sheet.append([_xlsx_cell(sheet, str(c)) for c in df.columns])
    for row in df.itertuples(index=False, name=None):
        sheet.append([_xlsx_cell(sheet, v) for v in row])
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return Path(path)


def _xlsx_cell(sheet, value: Any) -> Any:
    """An openpyxl WriteOnlyCell: empty for NaN/None, text stored as text, numbers as numbers."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return openpyxl_cell.WriteOnlyCell(sheet, None)
    if hasattr(value, "item"):  # numpy scalars: openpyxl takes Python numbers
        value = value.item()
    cell = openpyxl_cell.WriteOnlyCell(sheet, value)
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl makes any string beginning with '=' a formula; this keeps it text
    return cell


def read_csv(path: str | Path, **kw) -> pd.DataFrame:
    """A CSV as `write_csv` (or another tool) wrote it, text cells as they were before `safe_cell`."""
    df = pd.read_csv(path, **kw)
    for col in df.columns:
        if not pd.api.types.is_numeric_dtype(df[col]):
            df[col] = df[col].map(unescape_cell)
    df.columns = [unescape_cell(c) for c in df.columns]
    if not pd.api.types.is_numeric_dtype(df.index):
        df.index = df.index.map(unescape_cell)
    df.index.names = [unescape_cell(n) for n in df.index.names]
    return df
