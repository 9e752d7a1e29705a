"""Spreadsheet-safe tables (issue 17, item 2): no CSV or .xlsx Workbench writes holds a cell a spreadsheet runs as
a formula; values read back as written; every CSV/xlsx writer in the package goes through workbench.tables."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
from PIL import Image
from skimage.data import lfw_subset

import workbench
from workbench.cli import main as cli
from workbench.labeling import write_export
from workbench.tables import FORMULA_START, read_csv, safe_cell, write_csv, write_xlsx

ATTACKS = ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1",
           "'=already quoted", "'plain quote"]


def xlsx_cells(path: Path) -> list:
    ws = openpyxl.load_workbook(path).active
    return [c for row in ws.iter_rows() for c in row]


def csv_cells(path: Path) -> list[str]:
    with open(path, newline="") as f:
        return [c for row in csv.reader(f) for c in row]


def is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def assert_no_formula_cells(csv_path: Path, xlsx_path: Path) -> None:
    formulas = [c.value for c in xlsx_cells(xlsx_path) if c.data_type == "f"]
    assert not formulas, f"formula cells in {xlsx_path.name}: {formulas}"
    risky = [c for c in csv_cells(csv_path) if c.startswith(FORMULA_START) and not is_number(c)]
    assert not risky, f"cells a spreadsheet would run in {csv_path.name}: {risky}"


def test_text_cells_are_text_and_numbers_stay_numbers(tmp_path):
    df = pd.DataFrame({"label": ATTACKS, "confidence": np.linspace(-0.5, 0.5, len(ATTACKS)),
                       "count": range(-4, len(ATTACKS) - 4)})
    write_csv(tmp_path / "t.csv", df)
    write_xlsx(tmp_path / "t.xlsx", df)
    assert_no_formula_cells(tmp_path / "t.csv", tmp_path / "t.xlsx")
    # xlsx: the exact text, stored as text; negative numbers are numbers
    cells = xlsx_cells(tmp_path / "t.xlsx")
    text = [c.value for c in cells if c.data_type == "s"]
    as_xml_reads = [a.replace("\r", "\n") for a in ATTACKS]  # XML reads a CR in text as LF
    assert text == ["label", "confidence", "count", *as_xml_reads]
    numbers = [c.value for c in cells if c.data_type == "n"]
    assert len(numbers) == 2 * len(ATTACKS) and min(numbers) < 0
    assert pd.read_excel(tmp_path / "t.xlsx")["label"].tolist() == as_xml_reads
    # CSV: the numbers as written by pandas (a negative number is not text), the text read back exactly
    assert "-0.5" in csv_cells(tmp_path / "t.csv") and "-4" in csv_cells(tmp_path / "t.csv")
    back = read_csv(tmp_path / "t.csv", keep_default_na=False)
    assert back["label"].tolist() == ATTACKS and back["count"].tolist() == df["count"].tolist()


def test_headers_and_index_are_escaped_too(tmp_path):
    df = pd.DataFrame({"=1+1": ["a"], "p_-x": ["b"]}, index=pd.Index(["@x"], name="-i"))
    write_csv(tmp_path / "h.csv", df, index=True)
    assert not [c for c in csv_cells(tmp_path / "h.csv") if c.startswith(FORMULA_START)]
    assert read_csv(tmp_path / "h.csv", index_col=0).reset_index().columns.tolist() == ["-i", "=1+1", "p_-x"]
    assert safe_cell(-3) == -3 and safe_cell("x=1") == "x=1"


def test_an_imported_label_table_exports_without_formulas(store, home, capsys):
    """Labels, a file name and an annotator name that spreadsheets would run, through import and `workbench export`."""
    faces = (lfw_subset()[:6] * 255).round().astype(np.uint8)
    labels = ["=1+2", "@SUM(1;2)", "+1", "-2+3", "=1+2", "-2+3"]
    names = ["=A1.png", "-b.png", "c.png", "d.png", "e.png", "f.png"]
    (home / "imgs").mkdir()
    for a, n in zip(faces, names):
        Image.fromarray(a).save(home / "imgs" / n)
    pd.DataFrame({"filename": names, "label": labels}).to_csv(home / "imgs" / "labels.csv", index=False)
    assert cli(["import", str(home / "imgs" / "labels.csv"), "--name", "evil"]) == 0
    ids = store.images("evil").sort_values("position")["image_id"].tolist()
    store.add_label(ids[2], "=1+2", '=HYPERLINK("http://x","y")')  # an annotator names themself a formula
    store.add_label(ids[3], "+1", "=cmd|' /C calc'!A0")
    for scope in ([], ["--resolved"]):
        out = home / ("resolved" if scope else "all")
        assert cli(["export", "evil", str(out.with_suffix(".csv")), *scope]) == 0
        assert cli(["export", "evil", str(out.with_suffix(".xlsx")), *scope]) == 0
        assert_no_formula_cells(out.with_suffix(".csv"), out.with_suffix(".xlsx"))
    # what was given reads back unchanged, from both files
    for got in (read_csv(home / "all.csv", keep_default_na=False), pd.read_excel(home / "all.xlsx", dtype=str).fillna("")):
        assert set(got["label"]) == set(labels)
        assert {'=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0"} <= set(got["annotator"])
        assert {"=A1.png", "-b.png"} <= set(got["filename"])
    # an export imported again gives the same labels
    Path(home / "imgs" / "labels.csv").unlink()
    resolved = read_csv(home / "resolved.csv", keep_default_na=False)
    (home / "imgs" / "again.csv").write_text((home / "resolved.csv").read_text())
    assert cli(["import", str(home / "imgs" / "again.csv"), "--name", "again"]) == 0
    assert sorted(store.latest_labels("again")["label"]) == sorted(resolved["label"])


def test_every_csv_and_xlsx_writer_goes_through_tables():
    """A new CSV or .xlsx writer in the package must use workbench.tables (found by what it calls)."""
    root = Path(workbench.__file__).parent
    writers = re.compile(r"\.to_csv\(|\.to_excel\(|csv\.writer\(|csv\.DictWriter\(|openpyxl|ExcelWriter")
    # the standalone prediction scripts run without Workbench: each has its own copy of the rule, tested below
    allowed = {root / "tables.py", root / "deploy" / "predict_onnx.py", root / "detect" / "predict_onnx_boxes.py"}
    found = [f"{p.relative_to(root)}:{i}" for p in root.rglob("*.py") if p not in allowed
             for i, line in enumerate(p.read_text().splitlines(), 1) if writers.search(line)]
    assert not found, f"CSV/xlsx written outside workbench.tables: {found}"


def test_the_standalone_onnx_scripts_escape_their_cells():
    from workbench.deploy.predict_onnx import _text
    from workbench.detect.predict_onnx_boxes import _text as _box_text

    assert [_text(a) for a in ATTACKS] == [safe_cell(a) for a in ATTACKS]
    assert [_box_text(a) for a in ATTACKS] == [safe_cell(a) for a in ATTACKS]
