"""Commands on an Excel workbook against the same export as CSV (benchmarks/README.md, "Excel
workbooks through the commands").

    python benchmarks/xlsx_bench.py [--rows 100000] [--repeat 1]

Generates `benchmarks/data/leads_<rows>.csv` (generate.py) when missing, then two workbooks of
it: every cell a text cell (what leadtool writes; the same values as the CSV file), and typed
cells as Odoo's XLSX export has them (numbers, booleans, date-times). Times `inspect` and
`merge` (to a CSV and to an `.xlsx` output) on each, end to end, and prints the load average."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402  (the benchmark generator beside this file)

import leadtool  # noqa: E402


def typed_book(csv: Path, out: Path) -> None:
    """The export as Odoo's XLSX has it: ids, numbers and booleans typed, dates as date-times."""
    frame = pl.read_csv(csv, infer_schema=False)
    number = ["probability", "expected_revenue"]
    frame = frame.with_columns(
        pl.col("id").cast(pl.Int64, strict=False),
        pl.col("active").replace_strict({"True": True, "False": False}, default=None, return_dtype=pl.Boolean),
        *(pl.col(c).cast(pl.Float64, strict=False) for c in number),
        *(pl.col(c).str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False) for c in ("create_date", "date_conversion")),
    )
    frame.write_excel(out, worksheet="Sheet1", autofit=False,
                      dtype_formats={pl.Datetime: "yyyy-mm-dd hh:mm:ss"})


def timed(args: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    data = HERE / "data"
    csv = data / f"leads_{args.rows // 1000}k.csv"
    if not csv.exists():
        generate.generate(args.rows, str(csv), quiet=True)
    text_book = data / f"leads_{args.rows // 1000}k_text.xlsx"
    typed = data / f"leads_{args.rows // 1000}k_typed.xlsx"
    if not text_book.exists():
        leadtool.write(leadtool.load(str(csv)), str(text_book))
    if not typed.exists():
        typed_book(csv, typed)
    exe = [sys.executable, "-m", "leadtool"]
    print(f"load before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(dir=data) as tmp:
        for label, path in (("CSV", csv), ("xlsx, text cells", text_book), ("xlsx, typed cells", typed)):
            size = path.stat().st_size / 1e6
            inspect = timed([*exe, "inspect", str(path)], args.repeat)
            to_csv = timed([*exe, "merge", str(path), "-o", f"{tmp}/o.csv", "--yes", "-q"], args.repeat)
            to_xlsx = timed([*exe, "merge", str(path), "-o", f"{tmp}/o.xlsx", "--yes", "-q"], args.repeat)
            print(f"| {label} ({size:.1f} MB) | {inspect:.2f} s | {to_csv:.2f} s | {to_xlsx:.2f} s |")
    print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
