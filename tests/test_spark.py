"""The Spark path (issue 16) against the local path: the same groups, output rows and audit
events, on one generated export of a few thousand rows that exercises every rule, in Spark's
local mode on 2 cores (one session for the module: few tests, each doing much)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from leadtool.audit.merge_events import merge_event_lines
from leadtool.config import parse_config
from leadtool.io import load
from leadtool.match.dates import DateOptions
from leadtool.match.emails import email_key_expr, email_keys_all_expr
from leadtool.match.groups import find_groups
from leadtool.merge import apply_merge, plan_merge
from leadtool.recognition import PresetChoice
from leadtool.records import ID, ROW, SRC
from leadtool.spark.apply import GIDX, GROUP, KEYS, MergeBucket

AT = "2026-01-02T03:04:05Z"
ALLOW_BAD = DateOptions(allow_bad=True)  # the export holds an unreadable date in a group
PLACEHOLDERS = {"emails": {"placeholders": {"addresses": ["shared@desk.example"]}}}
CONFIG = parse_config({"stages": {"order": ["New", "Qualified", "Proposition", "Won"], "won": ["Won"]},
                       "merge": {"rules": {"x_source": "concat", "function": "longest"}}, **PLACEHOLDERS})
# the Odoo files' email column, the French label's, and the HubSpot file's two (several columns a field)
MAPPING = {"email_from": ["email_from", "E-mail", "Email", "Work Email"]}
FRENCH = {"id": "ID", "email_from": "E-mail", "create_date": "Créé le", "partner_id": "Client",
          "contact_name": "Nom du contact", "stage_id": "Étape", "active": "Actif", "probability": "Probabilité",
          "phone": "Téléphone", "partner_name": "Nom de la société", "description": "Notes",
          "tag_ids": "Étiquettes", "priority": "Priorité"}


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and Path(home, "bin", "java").exists():
        return str(Path(home, "bin", "java"))
    return shutil.which("java")


needs_java = pytest.mark.skipif(_java() is None, reason="no Java found (JAVA_HOME or java on PATH): Spark cannot start")


@pytest.fixture(scope="module")
def spark():
    """One session for the module: starting Spark costs more than most tests here."""
    if _java() is None:
        pytest.skip("no Java found (JAVA_HOME or java on PATH): Spark cannot start")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("leadtool-tests")
               .config("spark.sql.shuffle.partitions", "2").config("spark.default.parallelism", "2")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.adaptive.coalescePartitions.enabled", "true")
               .config("spark.driver.memory", "2g").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


# ----------------------------------------------------------------------------- the export
def _generator():
    spec = importlib.util.spec_from_file_location("generate", ROOT / "benchmarks" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def _local_date(iso: str) -> str:
    """`2017-01-26 13:04:38` as a day-first local date, `26/01/2017 13:04`."""
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]} {iso[11:16]}" if len(iso) >= 16 else iso


def _hubspot(frame: pl.DataFrame, path: Path) -> None:
    """A HubSpot contacts export (detected preset): names in two columns, two email columns,
    month-first dates (`05/13/2016`), a closed lifecycle stage, a blank Record ID, a placeholder;
    its people are records of the Odoo files (groups across files and systems)."""
    header = ["Record ID", "First Name", "Last Name", "Email", "Work Email", "Phone Number", "Company Name",
              "Lifecycle Stage", "Create Date"]
    rows = []
    for k in range(16):
        rec = frame.row(40 + 3 * k, named=True)
        first, _, last = rec["contact_name"].partition(" ")
        work = frame.row(41 + 3 * k, named=True)["email_from"] if k in (0, 6, 9) else ""
        email = "a@a.com" if k == 7 else rec["email_from"]
        rows.append(["" if k == 3 else str(9000 + k), first, last, email, work, "", rec["partner_name"],
                     "customer" if k == 5 else "lead", f"{1 + k % 12:02d}/{13 + k % 10:02d}/2016 09:{k:02d}"])
    pl.DataFrame(rows, schema=header, orient="row").write_csv(path, line_terminator="\n")


def _export(folder: Path) -> list[Path]:
    """A generated export (3,000 rows) made harder: clusters chained through shared customers
    and phones written differently, a group larger than --max-group, closed records inside
    groups, blank ids, cells with spaces, quotes, lone `\\r`, `\\r\\n` and leading zeros, day-first
    local dates and an unreadable one, placeholder emails; split in two files whose second has
    French labels, lacks a column, orders its columns differently and repeats records of the
    first (repeated ids); then a HubSpot file (given twice: the same records seen twice)."""
    gen = _generator()
    raw = folder / "generated.csv"
    gen.generate(3000, str(raw), seed=7, truth=str(folder / "truth.csv"), quiet=True)
    frame = pl.read_csv(raw, infer_schema=False).fill_null("")
    truth = pl.read_csv(folder / "truth.csv", infer_schema=False)
    firsts = truth.unique("cluster", keep="first", maintain_order=True).head(40).get_column("id").to_list()
    at = {rid: i for i, rid in enumerate(frame.get_column("id").to_list())}
    edits: dict[tuple[int, str], str] = {}
    for row in range(0, 2000, 5):  # local dates, day first (the file has days above 12)
        edits[(row, "create_date")] = _local_date(frame.row(row, named=True)["create_date"])
    for k in range(0, 24, 2):  # chain: cluster k -customer- k+1 -phone- k+2 ...
        a, b, c = at[firsts[k]], at[firsts[k + 1]], at[firsts[k + 2]]
        edits[(a, "partner_id")] = edits[(b, "partner_id")] = f"Chain Co, link {k}"
        edits[(b, "mobile")] = f"+32 2 555 {k:02d} 01"
        edits[(c, "mobile")] = f"0032 (0)2 555{k:02d}01"
    for k in range(12):  # one email shared by 12 records: larger than --max-group 10
        edits[(2000 + k, "email_from")] = "Big Group <BIG@example.com>"
    for k, row in enumerate(range(2100, 2106)):  # closed records in one group
        edits[(row, "email_from")] = "closed.mix@example.org"
        if k % 3 == 1:
            edits[(row, "active")] = "False"
        if k % 3 == 2:
            edits[(row, "probability")] = "100,0"
    for k, row in enumerate(range(2200, 2210)):  # tricky cells in one group
        edits[(row, "email_from")] = f' "Tricky, T" <Tricky@Example.COM>{" " * k}'
        edits[(row, "description")] = ["  spaced  ", 'say "hi"', "a\rb", "a\r\nb\r\n", "00123", "NA", "",
                                       "<p>x</p>", "Zoë\n", "  "][k]
        edits[(row, "tag_ids")] = ["vip, hot", "hot,new", "", "Äpfel", "vip"][k % 5]
        edits[(row, "priority")] = ["", "High", "2", "x", "3"][k % 5]
    edits[(2203, "create_date")] = "soon"  # no date: sorts last with --allow-bad-dates
    for k, row in enumerate(range(2300, 2309)):  # placeholders: never a group
        edits[(row, "email_from")] = ["a@a.com", "NOEMAIL@acme.com", "shared@desk.example"][k % 3]
    edits[(2205, "id")] = ""  # no id: its row number is its id
    edits[(2301, "id")] = "  "
    cols = {c: frame.get_column(c).to_list() for c in frame.columns}
    for (row, col), value in edits.items():
        cols[col][row] = value
    frame = pl.DataFrame(cols, schema=dict.fromkeys(frame.columns, pl.String))
    again = frame.slice(10, 25).with_columns(  # records of the first file seen again (repeated ids)
        pl.when(pl.int_range(pl.len()) % 2 == 0).then(pl.lit("seen again")).otherwise("description")
        .alias("description"))
    first, second = frame.head(2500), pl.concat([frame.slice(2500), again])
    one, two, hub = folder / "part1.csv", folder / "part2.csv", folder / "hubspot.csv"
    first.write_csv(one, quote_style="necessary", line_terminator="\n")
    second.select(list(reversed([c for c in frame.columns if c != "x_source"]))).rename(
        lambda c: FRENCH.get(c, c)).write_csv(two, quote_style="always", line_terminator="\r\n")
    _hubspot(frame, hub)
    return [one, two, hub, hub]


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> list[str]:
    return [str(p) for p in _export(tmp_path_factory.mktemp("spark_export"))]


def local_merge(paths: list[str], *, head: str = "oldest", config=None, allow_large: bool = False,
                allow_conflicts: bool = False, dates: DateOptions | None = None, preset=None, **options):
    records = load(paths, mapping=MAPPING, preset=PresetChoice.parse(preset))
    plan = plan_merge(records, find_groups(records, config=config, **options), head=head, config=config,
                      allow_large=allow_large, allow_conflicts=allow_conflicts, dates=dates or ALLOW_BAD)
    rows = apply_merge(records, plan).frame.select(records.columns).rows()
    bad = plan.groups.get_column("bad_dates").explode().drop_nulls()
    return rows, merge_event_lines(records, plan, AT).to_list(), {**plan.summary(), "bad_dates": bad.len()}


def spark_merge(spark, paths: list[str], preset=None, **options):
    from leadtool.spark import merge_records, read

    options.setdefault("dates", ALLOW_BAD)
    result = merge_records(read(spark, paths, mapping=MAPPING, preset=preset), at=AT, **options)
    rows = [tuple(r)[:-1] for r in result.merged().collect()]
    lines = [r[0] for r in result.audit_lines().collect()]
    return rows, lines, {**result.summary(), "bad_dates": result.bad_dates()[0]}


CASES = {
    "email, placeholders, inferred local dates": dict(config=parse_config(PLACEHOLDERS),
                                                      dates=DateOptions(allow_bad=True)),
    "several keys, every address, closed, config rules, small max-group, --date-order": dict(
        by=["email", "customer", "phone"], include_closed=True, config=CONFIG, max_group=10, email_key="all",
        canonical=True, dates=DateOptions("dmy", allow_bad=True)),
}


@needs_java
@pytest.mark.parametrize("case", list(CASES))
def test_spark_equals_local(spark, export: list[str], case: str) -> None:
    options = CASES[case]
    rows, lines, summary = spark_merge(spark, export, **options)
    want_rows, want_lines, want_summary = local_merge(export, **options)
    assert want_summary["groups"] > 100 and want_summary["bad_dates"] >= 1  # the export does exercise the rules
    assert {k: summary[k] for k in want_summary} == want_summary
    assert len(rows) == len(want_rows)
    assert rows == want_rows
    assert lines == want_lines


def test_export_exercises_the_rules(export: list[str]) -> None:
    """What the comparisons above rest on: chains that only several keys join, a large group,
    closed records, composed values, an id-less record, repeated ids (the same record twice),
    placeholders that join nothing, the HubSpot file recognised, both date orders."""
    records = load(export, mapping=MAPPING)
    hub = records.sources[2].recognition
    assert hub.preset is not None and hub.preset.preset.name == "hubspot-contacts"
    assert records.sources[1].recognition.language == "fr" and records.more_columns["email_from"]
    email = local_merge(export)[2]
    several = local_merge(export, by=["email", "customer", "phone"], max_group=10)[2]
    closed = local_merge(export, include_closed=True)[2]
    assert several["groups"] < email["groups"]  # chained clusters became one group each
    assert several["skipped_large_groups"] >= 1
    assert closed["records_merged_away"] > email["records_merged_away"]
    # the chain links clusters of different people: held back unless allowed (docs/groups.md#different-people)
    chained = local_merge(export, by=["email", "customer", "phone"], config=CONFIG)[2]
    assert chained["skipped_conflicts"] >= 1
    lines = "\n".join(local_merge(export, by=["email", "customer", "phone"], config=CONFIG, allow_conflicts=True)[1]
                      + local_merge(export)[1])
    for needle in ('"customer:Chain Co, link 0"', '"phone:+3225550', '"description":{"before"', '"tag_ids":{',
                   '"priority":{', '"street":{', "<br><br>", '"x_source":{', '"id:900', '"id:hubspot.csv:4"',
                   'hubspot.csv#4:'):
        assert needle in lines, needle
    for placeholder in ("a@a.com", "noemail@acme.com", "shared@desk.example"):
        assert f'"email:{placeholder}"' not in "\n".join(local_merge(export, config=parse_config(PLACEHOLDERS))[1])
    # the files' own day/month orders decide which record heads a group
    mdy = local_merge(export, dates=DateOptions("mdy", allow_bad=True))
    assert mdy[0] != local_merge(export, dates=DateOptions(allow_bad=True))[0]


# ----------------------------------------------------------------------------- files and the CLI
def _parts(folder: Path, suffix: str) -> list[str]:
    return sorted(str(p) for p in folder.iterdir() if p.name.startswith("part-") and p.name.endswith(suffix))


def _normalized(lines: list[str]) -> list[dict]:
    events = []
    for line in lines:
        event = json.loads(line)
        event["at"] = "AT"
        if event["event"] == "run":  # the local run also records its output file's digest
            for key in ("output", "output_sha256", "output_bytes"):
                event.pop(key, None)
        events.append(event)
    return events


@needs_java
def test_cli_engine_spark_writes_what_local_writes(spark, export: list[str], tmp_path: Path, cli) -> None:
    """A given preset, several columns for a field, a date order and bad dates, a file given twice."""
    local_out, spark_out = tmp_path / "local.csv", tmp_path / "spark.csv"
    hub = export[2]
    args = [hub, hub, "--by", "email,customer", "--preset", "hubspot-contacts", "--map", "email_from=Email",
            "--map", "email_from=Work Email", "--date-order", "dmy", "--allow-bad-dates", "--yes"]
    local = cli("merge", *args, "-o", local_out)
    assert local.exit_code == 0, local.output
    result = cli("merge", *args, "-o", spark_out, "--engine", "spark", "--spark-master", "local[2]")
    assert result.exit_code == 0, result.output
    assert "have a create_date that cannot be read" in result.output  # the local warning, as locally
    assert [x for x in result.output.splitlines() if "groups," in x] == [
        x for x in local.output.splitlines() if "groups," in x]
    assert spark_out.is_dir() and not any(p.name.endswith(".staging") for p in tmp_path.iterdir())
    got, want = load(_parts(spark_out, ".csv")), load([str(local_out)])
    assert [got.headers[c] for c in got.columns] == [want.headers[c] for c in want.columns]
    assert got.data().rows() == want.data().rows()
    audit_lines = [line for part in _parts(Path(f"{spark_out}.audit.jsonl"), ".txt")
                   for line in Path(part).read_text(encoding="utf-8").split("\n") if line]
    events = _normalized(audit_lines)
    assert events == _normalized(Path(f"{local_out}.audit.jsonl").read_text().splitlines())
    assert any("hubspot.csv#2:" in json.dumps(e) for e in events)  # the same record seen twice: ID@FILE#2:ROW


@needs_java
def test_parquet_and_dataframe(spark, export: list[str], tmp_path: Path) -> None:
    """A Parquet folder of several files is read in file-name order, the output too; and
    `leadtool.spark.merge` on a DataFrame (its partitions' order is the input order)."""
    import leadtool.spark
    from leadtool.spark import merge_files

    frame = load(export[:1]).data().head(1200)
    folder = tmp_path / "leads.parquet"
    folder.mkdir()
    for k, start in enumerate(range(0, frame.height, 500)):  # unequal files: Spark reads big ones first
        frame.slice(start, 500).write_parquet(folder / f"part-{k:05d}.parquet")
    out = tmp_path / "merged.parquet"
    summary, _ = merge_files([str(folder)], str(out), spark=spark, by=["email"], at=AT,
                             dates=DateOptions(allow_bad=True))
    csv_copy = tmp_path / "same.csv"
    frame.write_csv(csv_copy)
    want_rows, want_lines, want_summary = local_merge([str(csv_copy)], dates=DateOptions(allow_bad=True))
    assert summary["groups"] == want_summary["groups"] > 10
    assert pl.read_parquet(out / "*.parquet").rows() == want_rows
    lines = [line for part in _parts(Path(f"{out}.audit.jsonl"), ".txt")
             for line in Path(part).read_text(encoding="utf-8").split("\n") if line]
    assert [line.replace(str(folder), "F") for line in lines[1:]] == [
        line.replace(str(csv_copy), "F") for line in want_lines]

    df = spark.createDataFrame(frame.rows(), frame.columns)
    assert df.rdd.getNumPartitions() > 1
    merged, audit = leadtool.spark.merge(df, by=("email", "phone"), head="odoo", at=AT)
    want_rows, want_lines, _ = local_merge([str(csv_copy)], by=["email", "phone"], head="odoo")
    assert merged.columns == frame.columns
    assert [tuple(r) for r in merged.collect()] == want_rows
    assert [r["line"] for r in audit.collect()] == [line.replace(str(csv_copy), "<dataframe>") for line in want_lines]


@needs_java
def test_long_chain_and_the_local_errors(spark, tmp_path: Path) -> None:
    """A chain of 24 records, each linked to the next by a customer or a phone in turn: one
    component (several large-star/small-star rounds), numbered by its first record. The user
    errors a bucket stops on are the local ones: an unreadable date of a grouped record, and
    a file whose slash dates no order settles (its whole column, not the bucket's part)."""
    from leadtool.errors import InputError, UsageError

    rows = ["id,email_from,partner_id,phone,create_date"]
    for k in range(24):
        cust = f"C{k // 2}" if k % 2 == 0 else f"C{(k - 1) // 2}"
        phone = f"+3225550{(k + 1) // 2:03d}" if k > 0 else ""
        rows.append(f"{100 - k},x{k}@example.com,{cust},{phone},2024-01-{1 + k % 28:02d} 10:00:00")
    rows.append("999,lonely@example.com,,,2024-01-01 00:00:00")
    path = tmp_path / "chain.csv"
    path.write_text("\n".join(rows) + "\n")
    got = spark_merge(spark, [str(path)], by=["customer", "phone"])
    want = local_merge([str(path)], by=["customer", "phone"])
    assert got[2]["groups"] == 1 and got[2]["records_merged_away"] == 23
    assert got[:2] == want[:2]

    dated = tmp_path / "dated.csv"
    dated.write_text("id,email_from,create_date\n1,a@x.com,04/05/2023\n2,a@x.com,2023-01-01\n"
                     "3,b@x.com,13/05/2023\n4,c@x.com,05/13/2023\n5,d@x.com,later\n6,d@x.com,2023-01-01\n")
    for kind, options in ((UsageError, {"dates": DateOptions()}), (InputError, {"dates": DateOptions("dmy")})):
        with pytest.raises(kind) as local_error:
            local_merge([str(dated)], **options)
        with pytest.raises(kind) as spark_error:
            spark_merge(spark, [str(dated)], **options)
        assert str(spark_error.value) == str(local_error.value)


# ----------------------------------------------------------------------------- the email key
TRICKY = [
    "Name <NaMe@DoMaIn.CoM>", "  Foo.Bar@Example.COM  ", "a@b.com, c@d.com", '"john@gmail.com" <johnny@gmail.com>',
    "Raoul raoul@grosbedon.fr", "Jérôme <Jérôme@Exämple.COM>", "x@y.com <z@w.com>", "Foo.Bar+tag@GMail.com",
    "not an email", "", "<>", "x@", "NA", None, "\u00a0A@B.com\u2003", "a@b.com\n", "x <a@b.com>\n",
    '"a\\\nb" <Q@R.com>', "ΣΑΣ@ΕΞ.COM", "İ@X.COM", "a@b.com\r", "foo\u2028<a@b.com>", '"x\\"y@z" <k@l.m>',
    "a@b@c.com", "<a@b.com", "Name <a@b.com> x@y.com", "x\u0085a@b.com", " \t a@b.com ,", "K\u212a@x.com",
    "Foo.Bar+x@GoogleMail.com", "\"Last, First\" <FIRST.LAST@EXAMPLE.COM>", "a;b@c.d;e@f.g", "'q@r.s'",
]
ALPHABET = st.sampled_from(list("aAzZ09.+-_@<>\"',; \t\n\r\\") + ["é", "É", "ß", "Σ", "İ", "\u00a0", "\u2028",
                                                                    "\u0085", "\u212a", "ǅ", "ﬃ", "😀"])


def _spark_keys(spark, values: list[str | None]):
    from pyspark.sql import functions as F

    from leadtool.spark.keys import email_key_col, email_keys_all_col

    df = spark.createDataFrame([(i, v) for i, v in enumerate(values)], "i int, v string")
    out = df.orderBy("i").select(*[email_key_col("v", c).alias(f"k{c:d}") for c in (False, True)],
                                 *[F.coalesce(email_keys_all_col("v", c), F.array()).alias(f"a{c:d}")
                                   for c in (False, True)]).collect()
    return [tuple(list(x) if isinstance(x, list) else x for x in r) for r in out]


def _local_keys(values: list[str | None]):
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    out = frame.select(*[email_key_expr(pl.col("v"), c).alias(f"k{c:d}") for c in (False, True)],
                       *[email_keys_all_expr(pl.col("v"), c).alias(f"a{c:d}") for c in (False, True)])
    return [tuple(r) for r in out.rows()]


@needs_java
def test_email_key_expression_on_tricky_values(spark) -> None:
    assert _spark_keys(spark, TRICKY) == _local_keys(TRICKY)


@needs_java
@settings(max_examples=4, deadline=None)
@given(st.lists(st.text(ALPHABET, max_size=30), min_size=100, max_size=400))
def test_email_key_expression_equals_local(spark, values: list[str]) -> None:
    # most random text has no address: a few real shapes are mixed in
    values = values + [f"{v} <{v.strip()[:5]}@X{v[:3]}.Com>" for v in values[:40]] + [
        f"{v[:6]}@{v[6:12]}" for v in values[40:80]]
    assert _spark_keys(spark, values) == _local_keys(values)


# ----------------------------------------------------------------------------- the bucket function, no JVM
def test_bucket_merge_is_the_local_merge(samples: Path) -> None:
    """`MergeBucket` given a file's grouped records (shuffled, as Spark hands them over) gives
    the heads' merged values, the merged-away records and the audit lines of the local path."""
    path = str(samples / "leads.csv")
    records = load([path])
    groups = find_groups(records, by=["email", "customer"])
    plan = plan_merge(records, groups)
    merged = apply_merge(records, plan)
    keys = (groups.info.explode("reasons").select("group", pl.col("reasons").alias(KEYS)))
    members = groups.members.join(keys.group_by("group").agg(KEYS), on="group")
    frame = (records.frame[members.get_column("__lt_idx")]
             .with_columns(members.get_column("group").cast(pl.Int64).alias(GROUP), members.get_column(KEYS),
                           (pl.col(ROW).cast(pl.Int64)).alias(GIDX), pl.col(SRC).cast(pl.Int32),
                           pl.col(ROW).cast(pl.Int64), pl.col(ID))
             .rename({c: f"c{i}" for i, c in enumerate(records.columns)})
             .sample(fraction=1.0, shuffle=True, seed=3))
    job = MergeBucket(records=records.with_frame(records.frame.clear()), head="oldest", config=None,
                      allow_large=False, max_group=50, at=AT)
    out = job.merge(frame)
    heads = out.filter(pl.col("__lt_tag") == 1).sort(GIDX)
    rows = {r[ROW]: r for r in merged.frame.iter_rows(named=True)}
    for row in heads.iter_rows(named=True):
        want = rows[row[GIDX]]
        assert [row[f"c{i}"] for i in range(len(records.columns))] == [want[c] for c in records.columns]
    away = set(out.filter(pl.col("__lt_tag") == 2).get_column(GIDX).to_list())
    assert away == set(records.frame.get_column(ROW).to_list()) - set(merged.frame.get_column(ROW).to_list())
    lines = out.filter(pl.col("__lt_tag") == 3).sort(GROUP).get_column("__lt_line").to_list()
    assert lines == merge_event_lines(records, plan, AT).to_list()
    assert len(lines) == plan.summary()["groups"] > 0


# ----------------------------------------------------------------------------- errors, before Spark starts
def test_unknown_engine_is_one_line(cli, samples: Path, tmp_path: Path) -> None:
    from conftest import assert_one_line_error

    result = cli("merge", samples / "leads.csv", "-o", tmp_path / "out.csv", "--engine", "dask")
    assert_one_line_error(result, "--engine 'dask'")


def test_spark_engine_refuses_stdout_inputs_and_unsupported_options(cli, samples: Path, tmp_path: Path) -> None:
    from conftest import assert_one_line_error

    out = tmp_path / "[bold]out.csv"
    for option in (["--fuzzy-merge", "95"], ["--preview", "all"]):
        result = cli("merge", samples / "leads.csv", "-o", out, "--engine", "spark", *option)
        assert_one_line_error(result, f"{option[0]} is not supported with --engine spark")
    assert_one_line_error(cli("merge", samples / "leads.csv", "-o", "-", "--engine", "spark"), "-o -")
    multiline = ROOT / "tests" / "fixtures" / "exports" / "odoo_multiline.csv"
    assert_one_line_error(cli("merge", multiline, "-o", out, "--engine", "spark", "--spark-master", "local[1]"),
                          "are read by the local engine only")
    assert_one_line_error(cli("merge", samples / "leads.csv", "-o", samples / "leads.csv", "--engine", "spark"),
                          "refusing to overwrite")


@needs_java
def test_the_library_refuses_a_workbook_and_a_binary_file(spark, tmp_path: Path) -> None:
    """`leadtool.spark.read` (not only the command line) refuses what Spark's CSV reader would
    take as text: a workbook, read by the local engine only, and another binary file."""
    from leadtool.errors import InputError, UsageError
    from leadtool.spark import read

    book = ROOT / "tests" / "fixtures" / "exports" / "odoo_en.xlsx"
    with pytest.raises(UsageError, match="read by the local engine only"):
        read(spark, [str(book)])
    pdf = tmp_path / "leads.csv"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    with pytest.raises(InputError, match="PDF"):
        read(spark, [str(pdf)])
