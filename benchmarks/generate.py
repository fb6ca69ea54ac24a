"""Generate a synthetic Odoo `crm.lead` CSV export of any size, deterministically.

    python benchmarks/generate.py --rows 1000000 -o benchmarks/data/leads_1m.csv [--seed 1]
        [--quote-all] [--truth benchmarks/data/leads_1m.truth.csv]

Everything is vectorized with numpy and polars (no per-row Python loop); rows are produced in
chunks of `--chunk` rows (default 1,000,000) so memory stays bounded for any size. The same
`--rows`, `--seed` and `--chunk` always give the same bytes.

What the data holds (per 1M rows):
- ~59k duplicate clusters (same person, same email address), sizes 2 to 50, skewed
  (P(k) ~ 1/k^2: ~40% pairs, ~18% triples, a few of 30-50);
- email variants inside a cluster: case changes, surrounding spaces, `Name <addr>` and
  `"Last, First" <ADDR>` forms;
- ~5% records without email, a few 'NA' / 'n/a' invalid emails (never grouped);
- ~8% "imported" records: high ids (from 90,000,000) with old create_dates (2009-2015), so the
  oldest record of a cluster is often not its lowest id; some clusters with create_date ties;
  a few records without create_date;
- conflicting and partly empty fields within clusters (contact, company, phones, address, ...);
- multi-line notes (some with `\\r\\n` inside the value, some HTML), 'NA' values, zips with
  leading zeros ('00123'), tags like `vip,hot`;
- ~3% archived (active False), ~3% won (probability 100, stage Won); closed records are
  mostly outside clusters so that they barely change the number of mergeable groups.

`--truth FILE` writes `id,cluster` for every record of a duplicate cluster.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl

COLUMNS = [
    "id", "name", "type", "active", "contact_name", "partner_name", "partner_id", "email_from",
    "phone", "mobile", "website", "function", "title", "street", "street2", "city", "zip",
    "state_id", "country_id", "user_id", "team_id", "stage_id", "probability",
    "expected_revenue", "priority", "tag_ids", "description", "lost_reason_id", "create_date",
    "date_conversion", "x_source",
]

CLUSTERS_PER_ROW = 0.059  # duplicate clusters per generated row
MAX_CLUSTER = 50
CLUSTER_ROW_SHARE = 0.62  # at most this share of a chunk's rows sits in clusters
NO_EMAIL = 0.05
INVALID_EMAIL = 0.003
IMPORTED = 0.08
IMPORTED_ID_BASE = 90_000_000
ARCHIVED = 0.03
WON = 0.03
CLOSED_IN_CLUSTERS = 0.01  # archived (and won) rate among clustered records

# (display, ascii) first and last names; accents only in display names
FIRST = [
    ("Jean", "jean"), ("Marie", "marie"), ("Jérôme", "jerome"), ("Anne", "anne"),
    ("Pierre", "pierre"), ("Sophie", "sophie"), ("Luc", "luc"), ("Hélène", "helene"),
    ("John", "john"), ("Emma", "emma"), ("Olivia", "olivia"), ("Liam", "liam"),
    ("Noah", "noah"), ("Ava", "ava"), ("Lucas", "lucas"), ("Mia", "mia"), ("Raoul", "raoul"),
    ("Zoë", "zoe"), ("François", "francois"), ("Ingrid", "ingrid"), ("Jürgen", "jurgen"),
    ("Ana", "ana"), ("José", "jose"), ("Chloé", "chloe"), ("Thomas", "thomas"),
    ("Laura", "laura"), ("Mehdi", "mehdi"), ("Yuki", "yuki"), ("Priya", "priya"),
    ("Kofi", "kofi"), ("Sven", "sven"), ("Agnès", "agnes"),
]
LAST = [
    ("Dupont", "dupont"), ("Martin", "martin"), ("Bernard", "bernard"), ("Petit", "petit"),
    ("Durand", "durand"), ("Lefèvre", "lefevre"), ("Smith", "smith"), ("Johnson", "johnson"),
    ("Müller", "muller"), ("Schmidt", "schmidt"), ("García", "garcia"), ("Rossi", "rossi"),
    ("Peeters", "peeters"), ("Janssens", "janssens"), ("O'Brien", "obrien"),
    ("Van den Berg", "vandenberg"), ("Nguyen", "nguyen"), ("Kowalski", "kowalski"),
    ("Grosbedon", "grosbedon"), ("Leroy", "leroy"), ("Moreau", "moreau"), ("Silva", "silva"),
    ("Andersson", "andersson"), ("Tanaka", "tanaka"), ("Okafor", "okafor"),
    ("De Smet", "desmet"), ("Novak", "novak"), ("Brown", "brown"),
]
COMPANY_A = ["Agro", "Blue", "Delta", "Euro", "Green", "Nova", "Omni", "Prime", "Rapid",
             "Solar", "Tech", "Urban", "Vita", "West", "Alpha", "Nordic"]
COMPANY_B = ["Systems", "Logistics", "Foods", "Consulting", "Motors", "Pharma", "Media",
             "Textiles", "Energy", "Software", "Build", "Retail"]
COMPANY_SUFFIX = [" SA", " SPRL", " Ltd", " Inc.", " GmbH", " & Co", "", " BV"]
FREE_MAIL = ["gmail.com", "yahoo.fr", "outlook.com", "hotmail.com", "gmx.de", "proton.me"]
TLD = [".com", ".be", ".fr", ".de", ".io", ".eu"]
FUNCTIONS = ["CEO", "CTO", "Purchasing Manager", "Sales Director", "Consultant", "Engineer",
             "Office Manager", "Head of IT", "Buyer", "NA", ""]
TITLES = ["Mister", "Madam", "Doctor", "Miss", "Professor", ""]
STREETS = ["Rue de la Loi", "Avenue Louise", "Main Street", "Chaussée de Wavre",
           "Hauptstraße", "Kerkstraat", "Boulevard Haussmann", "Calle Mayor", "Oak Avenue",
           "Rue du Moulin"]
# (city, country, state)
PLACES = [
    ("Brussels", "Belgium", ""), ("Antwerp", "Belgium", ""), ("Liège", "Belgium", ""),
    ("Paris", "France", ""), ("Lyon", "France", ""), ("Berlin", "Germany", ""),
    ("München", "Germany", ""), ("Amsterdam", "Netherlands", ""), ("Madrid", "Spain", ""),
    ("New York", "United States", "New York (US)"),
    ("Boston", "United States", "Massachusetts (US)"),
    ("Portsmouth", "United States", "New Hampshire (US)"),
    ("San Francisco", "United States", "California (US)"), ("London", "United Kingdom", ""),
]
COUNTRY_CODE = {"Belgium": "32", "France": "33", "Germany": "49", "Netherlands": "31",
                "Spain": "34", "United States": "1", "United Kingdom": "44"}
USERS = ["Mitchell Admin", "Marc Demo", "Joel Willis", "Sales Bot", "Anita Oliver", ""]
TEAMS = ["Sales", "Website", "Direct Sales", "Europe", "Pre-Sales"]
OPEN_STAGES = ["New", "Qualified", "Proposition"]
OPEN_PROB = ["10.0", "20.0", "30.0", "50.0", "70.0", "0.0", "5.55"]
TAGS = ["", "", "", "vip", "hot", "vip,hot", "Product", "Services", "Product,Services",
        "hot,Information", "Consulting, Design", "vip,hot,Trade Fair"]
SOURCES = ["website", "manual", "import-2015", "trade-fair", "NA", "", "referral"]
LOST_REASONS = ["Too expensive", "We don't have people/skills", "Not enough stock"]
PRODUCTS = ["office furniture", "10 licences", "consulting days", "website redesign",
            "cloud migration", "support contract", "2,000 units", "training"]
NOTE_LINES = [
    "Called, no answer.", "Interested in a demo next month.",
    "Asked for a quote: \"premium\" plan, 25 seats.", "Met at the trade fair; wants a call back.",
    "Budget approved, waiting for purchase order.", "Prefers e-mail; do NOT call before 10:00.",
    "Competitor offer is 15% cheaper, we need to align.",
    "Decision maker is the CFO, not the contact.",
    "Follow-up: send brochure, price list and references.",
    "Customer complained about delivery delays, handle with care.", "NA",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
]

T_2009 = 1230768000  # 2009-01-01
T_2016 = 1451606400  # 2016-01-01
T_2025 = 1735689600  # 2025-01-01


def _opts(values: list[str]) -> pl.Series:
    return pl.Series(values, dtype=pl.String)


def _pick(rng: np.random.Generator, values: list[str], n: int,
          p: list[float] | None = None) -> pl.Series:
    idx = rng.choice(len(values), size=n, p=p)
    return _opts(values).gather(idx)


def _notes(rng: np.random.Generator, n: int) -> list[str]:
    """A pool of multi-line notes: plain (\\n or \\r\\n) and HTML, 1-3 lines."""
    pool = []
    for _ in range(n):
        k = int(rng.choice([1, 2, 3], p=[0.5, 0.3, 0.2]))
        lines = [NOTE_LINES[int(i)] for i in rng.integers(0, len(NOTE_LINES), size=k)]
        style = rng.random()
        if style < 0.15:
            pool.append("".join(f"<p>{line}</p>" for line in lines))
        elif style < 0.35:
            pool.append("\r\n".join(lines))
        else:
            pool.append("\n".join(lines))
    return pool


def cluster_sizes(rng: np.random.Generator, n_rows: int) -> np.ndarray:
    """Cluster sizes 2..50 with P(k) ~ 1/k^2, about CLUSTERS_PER_ROW clusters per row."""
    target = int(round(n_rows * CLUSTERS_PER_ROW))
    if target == 0 or n_rows < 2:
        return np.zeros(0, dtype=np.int64)
    k = np.arange(2, MAX_CLUSTER + 1)
    p = 1.0 / k.astype(np.float64) ** 2
    p /= p.sum()
    sizes = rng.choice(k, size=target, p=p)
    budget = int(n_rows * CLUSTER_ROW_SHARE)
    keep = np.cumsum(sizes) <= budget
    return sizes[keep].astype(np.int64)


def make_chunk(rng: np.random.Generator, n: int, id_start: int, imported_start: int,
               person_start: int, cluster_start: int, notes: pl.Series,
               quote_all: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`n` rows (n >= 1); returns (export rows, truth rows)."""
    sizes = cluster_sizes(rng, n)
    n_clusters = len(sizes)
    in_clusters = int(sizes.sum())
    singles = n - in_clusters
    n_persons = n_clusters + singles
    single_share = max(singles / n, 1e-9)
    # person of each row (clusters first, then singletons), and rank inside its cluster
    person = np.concatenate([np.repeat(np.arange(n_clusters), sizes),
                             np.arange(n_clusters, n_persons)])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]) if n_clusters else np.zeros(0, int)
    rank = np.zeros(n, dtype=np.int64)
    if n_clusters:
        rank[:in_clusters] = np.arange(in_clusters) - np.repeat(starts, sizes)
    clustered = np.arange(n) < in_clusters

    # ---- dates: imported records are old; a few clusters have a create_date tie
    imported = rng.random(n) < IMPORTED
    secs = np.where(imported, rng.integers(T_2009, T_2016, n), rng.integers(T_2016, T_2025, n))
    if in_clusters:
        tie = (rank == 1) & (rng.random(n) < 0.03)
        secs[tie] = secs[np.flatnonzero(tie) - 1]

    # ---- shuffle once, on the numpy arrays: clusters end up spread over the file
    perm = rng.permutation(n)
    person, rank, clustered = person[perm], rank[perm], clustered[perm]
    imported, secs = imported[perm], secs[perm]

    # ids: normal ids grow with create_date; imported records have high ids
    ids = np.empty(n, dtype=np.int64)
    normal = np.flatnonzero(~imported)
    ids[normal[np.argsort(secs[normal], kind="stable")]] = id_start + np.arange(len(normal))
    imp = np.flatnonzero(imported)
    ids[imp] = imported_start + rng.permutation(len(imp))

    # ---- lifecycle: closed records mostly outside clusters
    closed_rate = np.where(clustered, CLOSED_IN_CLUSTERS,
                           (ARCHIVED - CLOSED_IN_CLUSTERS * in_clusters / n) / single_share)
    archived = rng.random(n) < closed_rate
    won = (~archived) & (rng.random(n) < closed_rate)
    opp = (rng.random(n) < 0.4) | won
    lost = np.where(archived & (rng.random(n) < 0.7),
                    rng.integers(0, len(LOST_REASONS), n), len(LOST_REASONS))

    # ---- person attributes, gathered to rows
    def per_person(high: int) -> np.ndarray:
        return rng.integers(0, high, n_persons)[person]

    fi, li = per_person(len(FIRST)), per_person(len(LAST))
    ca, cb, cs = per_person(len(COMPANY_A)), per_person(len(COMPANY_B)), per_person(
        len(COMPANY_SUFFIX))
    free = (rng.random(n_persons) < 0.4)[person]
    fm, tld, place = per_person(len(FREE_MAIL)), per_person(len(TLD)), per_person(len(PLACES))
    local_form = per_person(3)
    uid = person_start + person

    def gather(values: list[str], idx: np.ndarray) -> pl.Series:
        return _opts(values).gather(idx)

    d = pl.DataFrame({
        "first": gather([f for f, _ in FIRST], fi), "first_a": gather([a for _, a in FIRST], fi),
        "last": gather([f for f, _ in LAST], li), "last_a": gather([a for _, a in LAST], li),
        "ca": gather(COMPANY_A, ca), "cb": gather(COMPANY_B, cb),
        "cs": gather(COMPANY_SUFFIX, cs), "free": free, "fm": gather(FREE_MAIL, fm),
        "tld": gather(TLD, tld), "lf": local_form, "uid": uid.astype(np.int64),
        "city": gather([p[0] for p in PLACES], place),
        "country": gather([p[1] for p in PLACES], place),
        "state": gather([p[2] for p in PLACES], place),
        "cc": gather([COUNTRY_CODE[p[1]] for p in PLACES], place),
        "clustered": clustered, "v_email": rng.random(n),
        "n_phone": rng.integers(0, 10**8, n), "n_phone2": rng.integers(0, 10**8, n),
        "n_street": rng.integers(1, 400, n), "street_r": _pick(rng, STREETS, n),
        "zipn": np.where(rng.random(n) < 0.05, rng.integers(1, 1000, n),
                         rng.integers(1000, 99999, n)),
        "func_r": _pick(rng, FUNCTIONS, n), "title_r": _pick(rng, TITLES, n),
        # u_x decides whether a field keeps the person's value, is empty or conflicts
        **{f"u_{c}": rng.random(n) for c in ("contact", "company", "phone", "mobile", "addr",
                                              "web", "func", "title", "partner")},
        "id": pl.Series(ids).cast(pl.String),
        "type": gather(["lead", "opportunity"], opp.astype(np.int64)),
        "active": gather(["True", "False"], archived.astype(np.int64)),
        "stage_id": gather([*OPEN_STAGES, "Won"], np.where(
            won, len(OPEN_STAGES), rng.integers(0, len(OPEN_STAGES), n))),
        "probability": gather([*OPEN_PROB, "100.0", "100", "0.0"], np.where(
            won, len(OPEN_PROB) + (rng.random(n) < 0.1), np.where(
                archived, len(OPEN_PROB) + 2, rng.integers(0, len(OPEN_PROB), n)))),
        "lost_reason_id": gather([*LOST_REASONS, ""], lost),
        "user_id": _pick(rng, USERS, n), "team_id": _pick(rng, TEAMS, n),
        "priority": _pick(rng, ["0", "1", "2", "3"], n, p=[.5, .3, .15, .05]),
        "tag_ids": _pick(rng, TAGS, n),
        "src_r": _pick(rng, SOURCES, n), "imported": imported,
        "rev": rng.integers(0, 200, n) * 250, "secs": secs,
        "conv": secs + rng.integers(3600, 90 * 86400, n),
        "no_date": rng.random(n) < 0.002, "opp": opp,
        "note": notes.gather(rng.integers(0, len(notes), n)),
        "has_note": rng.random(n) < 0.45,
        "prod": _pick(rng, PRODUCTS, n),
        "cluster": np.where(clustered, cluster_start + person, -1),
    })

    def keep(col: str, value: pl.Expr, other: pl.Expr, single_keep: float = 0.9) -> pl.Expr:
        uu = pl.col(f"u_{col}")
        limit = pl.when(pl.col("clustered")).then(0.62).otherwise(single_keep)
        empty = pl.when(pl.col("clustered")).then(0.85).otherwise(0.97)
        return pl.when(uu < limit).then(value).when(uu < empty).then(pl.lit("")).otherwise(other)

    uid_s = pl.col("uid").cast(pl.String)
    d = d.with_columns(
        (pl.concat_str([pl.col("ca"), pl.col("cb")], separator=" ") + pl.col("cs"))
        .alias("company"),
        pl.concat_str([pl.col("first"), pl.col("last")], separator=" ").alias("contact"),
        (pl.col("ca") + pl.col("cb")).str.to_lowercase().alias("slug"),
        pl.when(pl.col("lf") == 0)
        .then(pl.concat_str([pl.col("first_a"), pl.lit("."), pl.col("last_a"), uid_s]))
        .when(pl.col("lf") == 1)
        .then(pl.concat_str([pl.col("first_a").str.slice(0, 1), pl.col("last_a"), uid_s]))
        .otherwise(pl.concat_str([pl.col("last_a"), pl.lit("+crm"), uid_s])).alias("local"),
    )
    d = d.with_columns(
        (pl.col("local") + "@" + pl.when(pl.col("free")).then(pl.col("fm"))
         .otherwise(pl.col("slug") + pl.col("tld"))).alias("addr"),
    )
    addr, contact, company = pl.col("addr"), pl.col("contact"), pl.col("company")
    v, cl = pl.col("v_email"), pl.col("clustered")
    t_empty, t_invalid = NO_EMAIL / single_share, (NO_EMAIL + INVALID_EMAIL) / single_share
    # variants: clustered rows get many, singletons mostly the plain address
    email = (
        pl.when(cl & (v < 0.45)).then(addr)
        .when(cl & (v < 0.55)).then(addr.str.to_uppercase())
        .when(cl & (v < 0.65)).then(addr.str.slice(0, 1).str.to_uppercase() + addr.str.slice(1))
        .when(cl & (v < 0.75)).then(pl.lit(" ") + addr + pl.lit("  "))
        .when(cl & (v < 0.92)).then(contact + pl.lit(" <") + addr + pl.lit(">"))
        .when(cl).then(pl.concat_str([pl.lit('"'), pl.col("last"), pl.lit(", "), pl.col("first"),
                                      pl.lit('" <'), addr.str.to_uppercase(), pl.lit(">")]))
        .when(v < t_empty).then(pl.lit(""))
        .when(v < t_invalid)
        .then(pl.when(v * 1000 % 2 < 1).then(pl.lit("NA")).otherwise(pl.lit("n/a")))
        .when(v > 0.88).then(contact + pl.lit(" <") + addr + pl.lit(">"))
        .otherwise(addr)
    )
    phone = pl.concat_str([pl.lit("+"), pl.col("cc"), pl.lit(" "),
                           pl.col("n_phone").cast(pl.String).str.zfill(8)])
    phone2 = pl.concat_str([pl.lit("+"), pl.col("cc"), pl.lit(" 4"),
                            pl.col("n_phone2").cast(pl.String).str.zfill(8)])
    person_phone = pl.concat_str([pl.lit("+"), pl.col("cc"), pl.lit(" "),
                                  (pl.col("uid") % 10**8).cast(pl.String).str.zfill(8)])
    website = pl.concat_str([pl.lit("https://www."), pl.col("slug"), pl.col("tld")])
    zip_code = pl.col("zipn").cast(pl.String).str.zfill(5)
    stamp = "%Y-%m-%d %H:%M:%S"
    d = d.with_columns(
        keep("contact", contact, contact.str.to_uppercase()).alias("contact_name"),
        keep("company", company, pl.col("ca") + pl.lit(" Group")).alias("partner_name"),
        pl.when(pl.col("u_partner") < 0.3).then(company + pl.lit(", ") + contact)
        .otherwise(pl.lit("")).alias("partner_id"),
        email.alias("email_from"),
        keep("phone", person_phone, pl.when(pl.col("u_phone") > 0.95).then(pl.lit("NA"))
             .otherwise(phone)).alias("phone"),
        keep("mobile", phone2, phone2, single_keep=0.5).alias("mobile"),
        keep("web", website, pl.lit("NA")).alias("website"),
        keep("func", pl.col("func_r"), pl.col("func_r")).alias("function"),
        keep("title", pl.col("title_r"), pl.col("title_r")).alias("title"),
        keep("addr", pl.col("n_street").cast(pl.String) + " " + pl.col("street_r"),
             pl.lit("NA")).alias("street"),
        pl.when(pl.col("u_addr") > 0.9).then(pl.lit("Building B, floor 3"))
        .otherwise(pl.lit("")).alias("street2"),
        keep("addr", pl.col("city"), pl.col("city").str.to_uppercase()).alias("city"),
        keep("addr", zip_code, zip_code).alias("zip"),
        keep("addr", pl.col("state"), pl.col("state")).alias("state_id"),
        keep("addr", pl.col("country"), pl.lit("NA")).alias("country_id"),
        pl.when(pl.col("imported")).then(pl.lit("import-2015"))
        .otherwise(pl.col("src_r")).alias("x_source"),
        pl.when(pl.col("rev") == 0).then(pl.lit("0.0"))
        .otherwise(pl.col("rev").cast(pl.String) + ".0").alias("expected_revenue"),
        pl.when(pl.col("has_note"))
        .then(pl.col("note") + pl.lit("\nRef. ") + pl.col("id"))
        .otherwise(pl.lit("")).alias("description"),
        pl.when(pl.col("no_date")).then(pl.lit(""))
        .otherwise(pl.from_epoch(pl.col("secs"), time_unit="s").dt.strftime(stamp))
        .alias("create_date"),
        pl.when(pl.col("opp") & ~pl.col("no_date"))
        .then(pl.from_epoch(pl.col("conv"), time_unit="s").dt.strftime(stamp))
        .otherwise(pl.lit("")).alias("date_conversion"),
    )
    d = d.with_columns(
        pl.when(pl.col("contact_name") != "")
        .then(pl.col("contact_name") + pl.lit("'s opportunity"))
        .when(pl.col("partner_name") != "")
        .then(pl.col("partner_name") + pl.lit(": ") + pl.col("prod"))
        .otherwise(pl.lit("New lead ") + pl.col("id")).alias("name"),
    )
    truth = d.filter(pl.col("cluster") >= 0).select("id", pl.col("cluster").cast(pl.String))
    if quote_all:
        rows = d.select(COLUMNS)
    else:  # an empty value is written as nothing, not as ""
        rows = d.select(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in COLUMNS)
    return rows, truth


def generate(rows: int, out: str, seed: int = 1, quote_all: bool = False,
             truth: str | None = None, chunk: int = 1_000_000, quiet: bool = False) -> None:
    rng = np.random.default_rng(seed)
    notes = _opts(_notes(rng, 4096))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    quote = "always" if quote_all else "necessary"
    id_start, imported_start, person_start, cluster_start = 1, IMPORTED_ID_BASE, 1, 1
    started = time.perf_counter()
    truth_handle = None
    if truth:
        Path(truth).parent.mkdir(parents=True, exist_ok=True)
        truth_handle = open(truth, "wb")  # noqa: SIM115 - closed in finally

    def write(frame: pl.DataFrame, truth_rows: pl.DataFrame, first: bool) -> None:
        frame.write_csv(handle, include_header=first, quote_style=quote, line_terminator="\n")
        if truth_handle is not None:
            truth_rows.write_csv(truth_handle, include_header=first, quote_style=quote)

    # chunk k is written by a thread while chunk k+1 is generated (polars releases the GIL)
    pool = ThreadPoolExecutor(max_workers=1)
    pending: Future[None] | None = None
    try:
        with open(out, "wb") as handle:
            if rows == 0:
                pl.DataFrame(schema=dict.fromkeys(COLUMNS, pl.String)).write_csv(
                    handle, quote_style=quote)
            done = 0
            while done < rows:
                n = min(chunk, rows - done)
                chunk_rng = np.random.default_rng([seed, done])
                frame, truth_rows = make_chunk(chunk_rng, n, id_start, imported_start,
                                               person_start, cluster_start, notes, quote_all)
                if pending is not None:
                    pending.result()
                pending = pool.submit(write, frame, truth_rows, done == 0)
                del frame, truth_rows
                # ids and numbers stay unique across chunks
                id_start += n
                imported_start += n
                person_start += n
                cluster_start += n
                done += n
                if not quiet:
                    print(f"  {done:,} rows ({time.perf_counter() - started:.1f} s)",
                          file=sys.stderr)
            if pending is not None:
                pending.result()
    finally:
        pool.shutdown(wait=True)
        if truth_handle is not None:
            truth_handle.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, required=True, help="number of data rows")
    parser.add_argument("-o", "--output", required=True, help="CSV file to write")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--quote-all", action="store_true", help="quote every field")
    parser.add_argument("--truth", help="also write id,cluster of the true duplicate clusters")
    parser.add_argument("--chunk", type=int, default=1_000_000,
                        help="rows generated per chunk (memory bound; part of the determinism)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.rows < 0 or args.chunk < 1:
        parser.error("--rows must be >= 0 and --chunk >= 1")
    started = time.perf_counter()
    generate(args.rows, args.output, seed=args.seed, quote_all=args.quote_all,
             truth=args.truth, chunk=args.chunk, quiet=args.quiet)
    size = Path(args.output).stat().st_size
    if not args.quiet:
        print(f"wrote {args.output}: {args.rows:,} rows, {size / 1e6:.1f} MB in "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
