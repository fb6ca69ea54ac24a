"""Excel reading/writing and local-date parsing timings (benchmarks/README.md, "Excel and dates").

    python benchmarks/excel_dates.py [--rows 100000] [--repeat 5]

Compares fastexcel (leadtool's reader) with python-calamine when that is installed
(`pip install python-calamine`; not a dependency)."""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

import polars as pl
import xlsxwriter

from leadtool.io.xlsx import read_xlsx, write_xlsx
from leadtool.match.dates import parse_dates


def make_sheet(path: Path, rows: int) -> None:
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Leads")
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["id", "name", "email", "create_date", "day", "amount", "active", "code", "notes", "tags"])
    base = dt.datetime(2023, 1, 1)
    for r in range(1, rows + 1):
        sheet.write_number(r, 0, r)
        sheet.write_string(r, 1, f"Name {r}")
        sheet.write_string(r, 2, f"user{r}@example.com")
        sheet.write_datetime(r, 3, base + dt.timedelta(minutes=r * 7), stamp)
        sheet.write_datetime(r, 4, base + dt.timedelta(days=r % 400), day)
        sheet.write_number(r, 5, r * 1.5)
        sheet.write_boolean(r, 6, r % 3 == 0)
        sheet.write_string(r, 7, f"{r % 1000:05d}")
        if r % 5:
            sheet.write_string(r, 8, "some note\nline 2")
        sheet.write_string(r, 9, "a,b")
    book.close()


def calamine_read(path: Path) -> pl.DataFrame:
    """What a python-calamine reader must do: Python objects per cell, turned into text."""
    from python_calamine import CalamineWorkbook

    def cell(v: object) -> str:
        if v is None or v == "":
            return ""
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        if isinstance(v, float):
            return str(int(v)) if v.is_integer() else repr(v)
        if isinstance(v, dt.datetime):
            return v.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(v, dt.date):
            return v.isoformat()
        return str(v)

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    cols = list(zip(*rows[1:], strict=True))
    return pl.DataFrame({f"c{i}": [cell(v) for v in col] for i, col in enumerate(cols)})


def timed(label: str, fn, repeat: int) -> None:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    print(f"{label:<34} fastest {min(times):6.2f} s   median {statistics.median(times):6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sheet.xlsx"
        make_sheet(path, args.rows)
        print(f"{args.rows:,} rows x 10 columns, {path.stat().st_size / 1e6:.1f} MB")
        timed("read_xlsx (fastexcel)", lambda: read_xlsx(path), args.repeat)
        try:
            import python_calamine  # noqa: F401
            timed("python-calamine + text cells", lambda: calamine_read(path), args.repeat)
        except ImportError:
            print("python-calamine not installed: skipped")
        headers, frame = read_xlsx(path)
        timed("write_xlsx (xlsxwriter)", lambda: write_xlsx(Path(tmp) / "out.xlsx", headers, frame), args.repeat)
    rng = random.Random(1)
    n = 1_000_000
    local = pl.Series([f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(2000, 2024)} "
                       f"{rng.randint(1, 12)}:{rng.randint(0, 59):02d} PM" for _ in range(n)])
    iso = pl.Series([f"2023-05-{rng.randint(1, 28):02d} 10:22:00" for _ in range(n)])
    timed("parse_dates 1M M/D/YYYY h:mm PM", lambda: parse_dates(local), args.repeat)
    timed("parse_dates 1M ISO", lambda: parse_dates(iso), args.repeat)


if __name__ == "__main__":
    main()
