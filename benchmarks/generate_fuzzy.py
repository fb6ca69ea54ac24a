"""Generate a synthetic Odoo `crm.lead` export whose duplicates are *near* duplicates, with
the truth, to measure fuzzy matching.

    python benchmarks/generate_fuzzy.py --rows 100000 -o benchmarks/data/fuzzy_100k.csv \\
        --truth benchmarks/data/fuzzy_100k.truth.csv [--seed 1]

The rows, ids, dates, stages and notes are those of `generate.py` (same clusters: ~59k per 1M
rows, sizes 2-50); what identifies a person is drawn again from a richer model, then written
differently from one record of a person to the next, as people and CRMs do:

- people: ~150 first names (with accents and nicknames) and ~250 last names, both drawn with
  a skew (many `John Smith`s: different people with one common name); a company from ~25k
  (a few large accounts with hundreds of contacts), whose colleagues share its address,
  switchboard number and email domain (different people who look alike); a work or
  personal address, a direct line or the switchboard, a mobile;
- a duplicate record (the 2nd, 3rd, ... of a person) keeps the email address (52%, in any case
  or `Name <addr>` form), has a typo in its local part (8%) or its domain (`gmial.com`,
  `hotmial.com`, a letter of a company domain; 6%), the person's other address (10%) or none
  (24%); its name is written `First Last`, `Last, First`, `F. Last`, with a nickname, without
  accents, in capitals, with a middle initial, with a typo, or not at all; the company with
  another legal form (`Corp.` / `Corporation` / none) or not at all; phones as `+32 2 555 12
  34`, `+3225551234`, `0032 2 555 12 34`, `02/555.12.34` or `(617) 555-1234`; the street
  abbreviated (`St.`, `Ave`, `Str.`) or in another order, the city in capitals or without
  accents.

`--truth FILE` writes `id,cluster` for every record of a duplicate cluster (a person with two
records or more), as `generate.py` does.
"""

from __future__ import annotations

import argparse
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate  # noqa: E402

# (display name, nicknames)
FIRST = [
    ("James", "Jim Jimmy"), ("John", "Jack Johnny"), ("Robert", "Bob Rob Bobby"), ("Michael", "Mike"),
    ("William", "Bill Will"), ("David", "Dave"), ("Richard", "Rick Dick"), ("Joseph", "Joe"),
    ("Thomas", "Tom"), ("Charles", "Charlie"), ("Christopher", "Chris"), ("Daniel", "Dan Danny"),
    ("Matthew", "Matt"), ("Anthony", "Tony"), ("Steven", "Steve"), ("Andrew", "Andy"),
    ("Edward", "Ed Ted"), ("Samuel", "Sam"), ("Benjamin", "Ben"), ("Alexander", "Alex"),
    ("Nicholas", "Nick"), ("Patrick", "Pat"), ("Peter", "Pete"), ("Gregory", "Greg"),
    ("Timothy", "Tim"), ("Kenneth", "Ken"), ("Philip", "Phil"), ("Henry", "Harry"),
    ("Mary", "Molly"), ("Elizabeth", "Liz Beth"), ("Katherine", "Kate Katie"), ("Margaret", "Maggie Meg"),
    ("Jennifer", "Jen Jenny"), ("Susan", "Sue"), ("Rebecca", "Becky"), ("Victoria", "Vicky"),
    ("Deborah", "Debbie"), ("Jessica", "Jess"), ("Abigail", "Abby"), ("Patricia", ""),
    ("Linda", ""), ("Barbara", ""), ("Sarah", ""), ("Karen", ""), ("Nancy", ""), ("Lisa", ""),
    ("Emma", ""), ("Olivia", ""), ("Sophia", ""), ("Isabella", ""), ("Charlotte", ""), ("Amelia", ""),
    ("Liam", ""), ("Noah", ""), ("Oliver", ""), ("Lucas", ""), ("Ethan", ""), ("Mason", ""),
    ("Jean", ""), ("Marie", ""), ("Pierre", ""), ("Jérôme", ""), ("Hélène", ""), ("François", ""),
    ("Amélie", ""), ("Céline", ""), ("Sébastien", ""), ("Stéphane", ""), ("Frédéric", "Fred"),
    ("Chloé", ""), ("Zoë", ""), ("Agnès", ""), ("Benoît", ""), ("Gaëlle", ""), ("Mathilde", ""),
    ("Nathalie", ""), ("Julien", ""), ("Nicolas", ""), ("Camille", ""), ("Léa", ""), ("Manon", ""),
    ("Jürgen", ""), ("Jörg", ""), ("Günther", ""), ("Björn", ""), ("Søren", ""), ("Lars", ""),
    ("Sven", ""), ("Ingrid", ""), ("Anke", ""), ("Katrin", ""), ("Wolfgang", ""), ("Stefan", ""),
    ("Johannes", "Hans"), ("Friedrich", "Fritz"), ("Ursula", ""), ("Heike", ""), ("Dirk", ""),
    ("Pieter", ""), ("Joost", ""), ("Sanne", ""), ("Bram", ""), ("Femke", ""), ("Wouter", ""),
    ("José", ""), ("María", ""), ("Ana", ""), ("Javier", ""), ("Lucía", ""), ("Álvaro", ""),
    ("Marco", ""), ("Giulia", ""), ("Francesca", ""), ("Luca", ""), ("Matteo", ""), ("Chiara", ""),
    ("João", ""), ("Inês", ""), ("Mehdi", ""), ("Fatima", ""), ("Yuki", ""), ("Hiroshi", ""),
    ("Priya", ""), ("Raj", ""), ("Wei", ""), ("Mei", ""), ("Kofi", ""), ("Ama", ""), ("Olga", ""),
    ("Dmitri", ""), ("Agnieszka", ""), ("Piotr", ""), ("Zsófia", ""), ("Ferenc", ""),
]
LAST = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris",
    "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green",
    "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips",
    "Evans", "Turner", "Parker", "Collins", "Edwards", "Stewart", "Morris", "Murphy", "Cook",
    "Rogers", "Morgan", "Cooper", "Peterson", "Reed", "Bailey", "Bell", "Kelly", "Howard", "Ward",
    "Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray", "Hughes", "Price",
    "Sanders", "Myers", "Long", "Ross", "Foster", "O'Brien", "O'Connor", "McDonald", "MacLeod",
    "Dupont", "Durand", "Lefèvre", "Moreau", "Laurent", "Simon", "Michel", "Leroy", "Roux",
    "Fournier", "Girard", "Bonnet", "Mercier", "Lambert", "Fontaine", "Rousseau", "Vincent",
    "Muller", "Faure", "André", "Gauthier", "Garnier", "Chevalier", "François", "Legrand",
    "Gaillard", "Brun", "Barbier", "Arnaud", "Rolland", "Aubert", "Lemaître", "Benoît",
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
    "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt",
    "Werner", "Krause", "Meier", "Lehmann", "Köhler", "Jäger", "Peeters", "Janssens", "Maes",
    "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "De Smet", "De Vos",
    "Van den Berg", "Van Dijk", "De Jong", "Jansen", "De Vries", "Bakker", "Visser", "Smit",
    "Meijer", "De Boer", "Mulder", "De Groot", "Bos", "Vos", "Dekker", "Van Leeuwen",
    "García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez",
    "Gómez", "Díaz", "Muñoz", "Álvarez", "Romero", "Navarro", "Rossi", "Russo", "Ferrari",
    "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno", "Gallo",
    "Conti", "De Luca", "Costa", "Silva", "Santos", "Ferreira", "Pereira", "Oliveira",
    "Rodrigues", "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Novák", "Horváth",
    "Nagy", "Kovács", "Szabó", "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson",
    "Larsen", "Hansen", "Nielsen", "Jensen", "Pedersen", "Korhonen", "Virtanen", "Ivanov",
    "Petrov", "Nguyen", "Tran", "Le", "Pham", "Kim", "Park", "Chen", "Wang", "Zhang", "Liu",
    "Tanaka", "Suzuki", "Takahashi", "Watanabe", "Sato", "Patel", "Shah", "Kumar", "Singh",
    "Okafor", "Mensah", "Haddad", "Khalil", "Cohen", "Levi", "Grosbedon", "Ashworth",
]
COMPANY_A = ["Agro", "Blue", "Delta", "Euro", "Green", "Nova", "Omni", "Prime", "Rapid", "Solar",
             "Tech", "Urban", "Vita", "West", "Alpha", "Nordic", "Apex", "Atlas", "Beacon", "Cedar",
             "Crest", "Ember", "Falcon", "Global", "Harbor", "Iron", "Jade", "Keystone", "Lumen",
             "Maple", "North", "Orion", "Pioneer", "Quantum", "Summit", "Titan", "Vertex", "Zenith",
             "Silver", "Golden"]
COMPANY_B = ["Systems", "Logistics", "Foods", "Consulting", "Motors", "Pharma", "Media",
             "Textiles", "Energy", "Software", "Build", "Retail", "Finance", "Health", "Labs",
             "Networks", "Design", "Capital", "Dynamics", "Industries", "Robotics", "Solutions",
             "Trading", "Ventures", "Works", "Analytics", "Brands", "Chemicals", "Electric",
             "Insurance"]
COMPANY_C = ["", "", "", "", "", "", "", "", "Group", "International", "Partners", "Holding",
             "Europe", "Benelux", "France", "Nederland", "Deutschland", "America", "UK", "Services",
             "Technologies"]
# (written, other ways of writing it); "" is no legal form
LEGAL = [("SA", ["S.A.", "sa", ""]), ("Inc.", ["Inc", "Incorporated", ""]),
         ("Corp.", ["Corporation", "Corp", ""]), ("Ltd", ["Limited", "Ltd.", ""]),
         ("GmbH", ["G.m.b.H.", "gmbh", ""]), ("BV", ["B.V.", "bv", ""]), ("LLC", ["L.L.C.", ""]),
         ("SARL", ["S.A.R.L.", "Sarl", ""]), ("", ["Ltd", "Inc."])]
FREE_MAIL = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "gmx.de", "proton.me",
             "yahoo.fr", "orange.fr", "skynet.be", "icloud.com"]
FREE_MAIL_TYPOS = {"gmail.com": ["gmial.com", "gmail.con", "gmai.com", "gmaill.com"],
                   "yahoo.com": ["yaho.com", "yahoo.co"], "outlook.com": ["outlok.com", "outllook.com"],
                   "hotmail.com": ["hotmial.com", "hotmail.co", "hotmal.com"], "gmx.de": ["gmx.d"],
                   "proton.me": ["protn.me"], "yahoo.fr": ["yaho.fr"], "orange.fr": ["ornage.fr"],
                   "skynet.be": ["skynet.b"], "icloud.com": ["iclod.com"]}
TLD = [".com", ".be", ".fr", ".de", ".io", ".eu", ".nl"]
# (city, country, state, zip digits, street style): E = `12 Main Street`, F = `Rue X 12`
# (also `12 rue X`), G = `Xstraße 12`, N = `Xstraat 12`, S = `Calle X 12`
PLACES = [
    ("Brussels", "Belgium", "", 4, "F"), ("Antwerpen", "Belgium", "", 4, "N"),
    ("Liège", "Belgium", "", 4, "F"), ("Gent", "Belgium", "", 4, "N"),
    ("Paris", "France", "", 5, "F"), ("Lyon", "France", "", 5, "F"), ("Orléans", "France", "", 5, "F"),
    ("Berlin", "Germany", "", 5, "G"), ("München", "Germany", "", 5, "G"), ("Köln", "Germany", "", 5, "G"),
    ("Amsterdam", "Netherlands", "", 4, "N"), ("Utrecht", "Netherlands", "", 4, "N"),
    ("Madrid", "Spain", "", 5, "S"), ("Málaga", "Spain", "", 5, "S"),
    ("New York", "United States", "New York (US)", 5, "E"),
    ("Boston", "United States", "Massachusetts (US)", 5, "E"),
    ("San Francisco", "United States", "California (US)", 5, "E"),
    ("London", "United Kingdom", "", 0, "E"), ("Manchester", "United Kingdom", "", 0, "E"),
]
COUNTRY_CODE = {"Belgium": "32", "France": "33", "Germany": "49", "Netherlands": "31",
                "Spain": "34", "United States": "1", "United Kingdom": "44"}
STREET_NAMES = ["Main", "Oak", "Church", "Station", "Park", "Mill", "High", "Market", "Garden",
                "Lake", "River", "Bridge", "King", "Queen", "Victoria", "Elm", "Maple", "Cedar",
                "Washington", "Lincoln", "Hill", "Forest", "Meadow", "Spring", "Castle"]
FR_STREETS = ["de la Loi", "du Moulin", "Louise", "de la Gare", "Victor Hugo", "de l'Église",
              "des Lilas", "du Commerce", "de la Paix", "Saint-Michel", "des Écoles", "du Midi",
              "de Wavre", "Pasteur", "Jean Jaurès", "de la République"]
FR_TYPES = [("Rue", "Rue"), ("Avenue", "Av."), ("Boulevard", "Bd"), ("Chaussée", "Chée"), ("Place", "Pl.")]
EN_TYPES = [("Street", "St."), ("Avenue", "Ave"), ("Road", "Rd"), ("Lane", "Ln"), ("Drive", "Dr."),
            ("Boulevard", "Blvd")]
GERMANIC = ["Haupt", "Bahnhof", "Kirch", "Schul", "Garten", "Berg", "Linden", "Markt", "Wald",
            "Rosen", "Kerk", "Molen", "Dorp", "Heide", "Brink", "Goethe", "Schiller", "Mozart"]
ES_STREETS = ["Mayor", "Real", "del Sol", "de Alcalá", "Gran Vía", "de la Paz", "Nueva", "del Mar"]
LOCAL_FORMS = 6  # first.last, flast, firstl, first, first_last, last.first
KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"
# the columns drawn again here (the others are generate.py's)
IDENTITY = ["name", "contact_name", "partner_name", "partner_id", "email_from", "phone", "mobile",
            "website", "street", "city", "zip", "state_id", "country_id"]


def _fold(expr: pl.Expr) -> pl.Expr:
    """Accents dropped, as some systems write names."""
    return expr.str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.replace_all("ø", "o")


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if not unicodedata.combining(c)).replace("ø", "o").replace("Ø", "O")


def _zipf(rng: np.random.Generator, k: int, n: int, s: float) -> np.ndarray:
    p = 1.0 / np.arange(1, k + 1) ** s
    return rng.choice(k, size=n, p=p / p.sum())


def _s(values: list[str]) -> pl.Series:
    return pl.Series(values, dtype=pl.String)


def _lit(values: list[str]) -> pl.Expr:
    return pl.lit(_s(values))


def _typo(text: pl.Expr, pos: pl.Expr, op: pl.Expr, letter: pl.Expr) -> pl.Expr:
    """One edit at `pos` (inside the text): swap with the next letter, drop, double, or
    replace by `letter`."""
    head, here, nxt = text.str.slice(0, pos), text.str.slice(pos, 1), text.str.slice(pos + 1, 1)
    return (pl.when(op == 0).then(head + nxt + here + text.str.slice(pos + 2))
            .when(op == 1).then(head + text.str.slice(pos + 1))
            .when(op == 2).then(head + here + here + text.str.slice(pos + 1))
            .otherwise(head + letter + text.str.slice(pos + 1)))


def _phone_forms(cc: pl.Expr, nsn: pl.Expr, form: pl.Expr) -> pl.Expr:
    """A number in one of the ways people write it."""
    us = cc == "1"
    grouped = pl.when(us).then(nsn.str.slice(0, 3) + "-" + nsn.str.slice(3, 3) + "-" + nsn.str.slice(6)) \
        .otherwise(nsn.str.slice(0, 1) + " " + nsn.str.slice(1, 3) + " " + nsn.str.slice(4, 2) + " "
                   + nsn.str.slice(6))
    national = pl.when(us).then("(" + nsn.str.slice(0, 3) + ") " + nsn.str.slice(3, 3) + "-" + nsn.str.slice(6)) \
        .otherwise("0" + nsn.str.slice(0, 1) + "/" + nsn.str.slice(1, 3) + "." + nsn.str.slice(4, 2) + "."
                   + nsn.str.slice(6))
    return (pl.when(form == 0).then("+" + cc + " " + grouped)
            .when(form == 1).then("+" + cc + nsn)
            .when(form == 2).then("00" + cc + " " + nsn)
            .otherwise(national))


def _people(rng: np.random.Generator, persons: int) -> pl.DataFrame:
    """One row per person: name, company, addresses, numbers (canonical forms)."""
    n_companies = max(10, persons // 30)
    first = _zipf(rng, len(FIRST), persons, 0.7)
    last = _zipf(rng, len(LAST), persons, 0.8)
    company = _zipf(rng, n_companies, persons, 0.6)
    # companies: name parts, legal form, address, domain and switchboard, from their number
    crng = np.random.default_rng([int(rng.integers(1 << 31)), 7])
    ca = crng.integers(0, len(COMPANY_A), n_companies)
    cb = crng.integers(0, len(COMPANY_B), n_companies)
    cc_ = crng.integers(0, len(COMPANY_C), n_companies)
    legal = crng.integers(0, len(LEGAL), n_companies)
    cplace = crng.integers(0, len(PLACES), n_companies)
    cstreet = crng.integers(0, 10_000, n_companies)
    chouse = crng.integers(1, 300, n_companies)
    czip = crng.integers(1000, 99_999, n_companies)
    cphone = crng.integers(10**7, 10**8, n_companies)
    ctld = crng.integers(0, len(TLD), n_companies)
    own_place = rng.integers(0, len(PLACES), persons)
    at_work = rng.random(persons) < 0.7
    place = np.where(at_work, cplace[company], own_place)
    frame = pl.DataFrame({
        "fi": first, "li": last, "co": company, "work_mail": rng.random(persons) < 0.55,
        "lf": rng.integers(0, LOCAL_FORMS, persons), "fm": rng.integers(0, len(FREE_MAIL), persons),
        "place": place, "street_i": np.where(at_work, cstreet[company], rng.integers(0, 10_000, persons)),
        "house": np.where(at_work, chouse[company], rng.integers(1, 300, persons)),
        "zipn": np.where(at_work, czip[company], rng.integers(1000, 99_999, persons)),
        "direct": rng.integers(10**7, 10**8, persons), "switch": cphone[company],
        "phone_kind": rng.choice(3, size=persons, p=[0.5, 0.3, 0.2]),
        "mobile_n": rng.integers(10**7, 10**8, persons), "has_mobile": rng.random(persons) < 0.5,
        "middle": rng.integers(0, 26, persons),
    })
    first_s = _s([f for f, _ in FIRST])
    nick = _s([nk.split()[0] if nk else f for f, nk in FIRST])
    comp = pl.DataFrame({
        "co": np.arange(n_companies), "ca": _s(COMPANY_A).gather(ca), "cb": _s(COMPANY_B).gather(cb),
        "cc": _s(COMPANY_C).gather(cc_), "legal": _s([x for x, _ in LEGAL]).gather(legal),
        "legal_alt": _s([alts[0] for _, alts in LEGAL]).gather(legal),
        "legal_alt2": _s([alts[-1] for _, alts in LEGAL]).gather(legal),
        "tld": _s(TLD).gather(ctld)})
    comp = comp.with_columns(
        pl.concat_str([pl.col("ca"), pl.col("cb"), pl.col("cc")], separator=" ").str.strip_chars()
        .alias("company"))
    comp = comp.with_columns(
        (pl.col("company").str.to_lowercase().str.replace_all(" ", "") + pl.col("tld")).alias("domain"))
    frame = frame.join(comp, on="co", how="left", maintain_order="left").with_columns(
        pl.lit(first_s).gather(pl.col("fi")).alias("first"), pl.lit(nick).gather(pl.col("fi")).alias("nick"),
        _lit(LAST).gather(pl.col("li")).alias("last"),
        _lit([p[0] for p in PLACES]).gather(pl.col("place")).alias("city"),
        _lit([p[1] for p in PLACES]).gather(pl.col("place")).alias("country"),
        _lit([p[2] for p in PLACES]).gather(pl.col("place")).alias("state"),
        _lit([COUNTRY_CODE[p[1]] for p in PLACES]).gather(pl.col("place")).alias("ccode"),
        pl.lit(pl.Series([p[3] for p in PLACES])).gather(pl.col("place")).alias("zip_len"),
        _lit([p[4] for p in PLACES]).gather(pl.col("place")).alias("style"),
    )
    ascii_first = _lit([_ascii(f).lower() for f, _ in FIRST]).gather(pl.col("fi"))
    ascii_last = _lit([_ascii(x).lower().replace(" ", "").replace("'", "") for x in LAST]).gather(pl.col("li"))
    lf = pl.col("lf")
    local = (pl.when(lf == 0).then(ascii_first + "." + ascii_last)
             .when(lf == 1).then(ascii_first.str.slice(0, 1) + ascii_last)
             .when(lf == 2).then(ascii_first + ascii_last.str.slice(0, 1))
             .when(lf == 3).then(ascii_first)
             .when(lf == 4).then(ascii_first + "_" + ascii_last)
             .otherwise(ascii_last + "." + ascii_first))
    frame = frame.with_columns(local.alias("local0"), _lit(FREE_MAIL).gather(pl.col("fm")).alias("free"))
    # one mailbox per person: a taken address gets a number, as mail providers ask for
    for col, domain in (("work", pl.col("domain")), ("home", pl.col("free"))):
        frame = frame.with_columns(domain.alias("_d")).with_columns(
            pl.int_range(pl.len()).over("local0", "_d").alias("_k"))
        frame = frame.with_columns(
            (pl.col("local0") + pl.when(pl.col("_k") > 0).then(pl.col("_k").cast(pl.String))
             .otherwise(pl.lit("")) + "@" + pl.col("_d")).alias(col))
    frame = frame.with_columns(
        pl.when(pl.col("work_mail")).then(pl.col("work")).otherwise(pl.col("home")).alias("addr"),
        pl.when(pl.col("work_mail")).then(pl.col("home")).otherwise(pl.col("work")).alias("other"))
    frame = frame.with_columns(
        pl.when(pl.col("phone_kind") == 0).then(pl.col("direct")).when(pl.col("phone_kind") == 1)
        .then(pl.col("switch")).alias("pnum"))
    # national numbers: 9 digits, 10 in the United States
    us = pl.col("ccode") == "1"
    return frame.with_columns(
        (pl.when(us).then(pl.lit("61")).otherwise(pl.lit("2")) + pl.col("pnum").cast(pl.String)).alias("nsn"),
        (pl.when(us).then(pl.lit("91")).otherwise(pl.lit("4")) + pl.col("mobile_n").cast(pl.String)).alias("msn"))


def _street(style: pl.Expr, i: pl.Expr, house: pl.Expr, variant: pl.Expr) -> pl.Expr:
    """The street of address number `i` in its country's style; `variant` 1 abbreviates the
    street type, 2 writes it in the other order."""
    h = house.cast(pl.String)
    en_name = _lit(STREET_NAMES).gather(i % len(STREET_NAMES))
    en_type = _lit([t for t, _ in EN_TYPES]).gather((i // 100) % len(EN_TYPES))
    en_abbr = _lit([a for _, a in EN_TYPES]).gather((i // 100) % len(EN_TYPES))
    fr_name = _lit(FR_STREETS).gather(i % len(FR_STREETS))
    fr_type = _lit([t for t, _ in FR_TYPES]).gather((i // 100) % len(FR_TYPES))
    fr_abbr = _lit([a for _, a in FR_TYPES]).gather((i // 100) % len(FR_TYPES))
    ge_name = _lit(GERMANIC).gather(i % len(GERMANIC))
    es_name = _lit(ES_STREETS).gather(i % len(ES_STREETS))
    return (
        pl.when(style == "E").then(
            pl.when(variant == 1).then(h + " " + en_name + " " + en_abbr)
            .when(variant == 2).then(h + ", " + en_name + " " + en_type)
            .otherwise(h + " " + en_name + " " + en_type))
        .when(style == "F").then(
            pl.when(variant == 1).then(fr_abbr + " " + fr_name + " " + h)
            .when(variant == 2).then(h + " " + fr_type.str.to_lowercase() + " " + fr_name)
            .otherwise(fr_type + " " + fr_name + " " + h))
        .when(style == "G").then(
            pl.when(variant == 1).then(ge_name + "str. " + h)
            .when(variant == 2).then(ge_name + "strasse " + h)
            .otherwise(ge_name + "straße " + h))
        .when(style == "N").then(
            pl.when(variant == 1).then(ge_name + "str. " + h)
            .otherwise(ge_name + "straat " + h))
        .otherwise(
            pl.when(variant == 1).then("C/ " + es_name + ", " + h)
            .otherwise("Calle " + es_name + " " + h))
    )


def make_fuzzy_chunk(rng: np.random.Generator, n: int, id_start: int, imported_start: int,
                     person_start: int, cluster_start: int, notes: pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows, truth = generate.make_chunk(rng, n, id_start, imported_start, person_start, cluster_start, notes)
    rows = rows.drop(IDENTITY).join(truth.select("id", pl.col("cluster").cast(pl.Int64)), on="id", how="left",
                     maintain_order="left")
    # a person per cluster, and one per record outside the clusters
    rows = rows.with_columns(
        pl.when(pl.col("cluster").is_not_null()).then(pl.col("cluster") - cluster_start)
        .otherwise(pl.int_range(pl.len()) + n).alias("pkey"))
    rows = rows.with_columns(pl.col("pkey").rank("dense").cast(pl.Int64).sub(1).alias("person"),
                             pl.int_range(pl.len()).over("pkey").alias("rank"))
    persons = int(rows.get_column("person").max()) + 1
    people = _people(rng, persons).with_row_index("person").with_columns(pl.col("person").cast(pl.Int64))
    d = rows.join(people, on="person", how="left", maintain_order="left")
    h = d.height

    def u(name: str) -> pl.Series:
        return pl.Series(name, rng.random(h))

    d = d.with_columns(u("u_name"), u("u_name2"), u("u_comp"), u("u_mail"), u("u_mail2"), u("u_phone"),
                       u("u_mob"), u("u_addr"), u("u_city"), u("u_zip"),
                       pl.Series("pos", rng.integers(0, 1 << 20, h)), pl.Series("op", rng.integers(0, 4, h)),
                       pl.Series("key", rng.integers(0, len(KEYBOARD), h)),
                       pl.Series("pform", rng.integers(0, 4, h)), pl.Series("mform", rng.integers(0, 4, h)))
    dup = pl.col("rank") > 0
    first, last, nick = pl.col("first"), pl.col("last"), pl.col("nick")
    letter = _lit(list(KEYBOARD)).gather(pl.col("key"))
    un = pl.col("u_name")
    middle = _lit([c.upper() for c in "abcdefghijklmnopqrstuvwxyz"]).gather(pl.col("middle"))
    first_asc, last_asc = _fold(first), _fold(last)
    typo_last = _typo(last, pl.col("pos") % pl.max_horizontal(last.str.len_chars() - 1, 1), pl.col("op"), letter)
    typo_first = _typo(first, pl.col("pos") % pl.max_horizontal(first.str.len_chars() - 1, 1), pl.col("op"),
                       letter)
    canonical = first + " " + last
    contact = (
        pl.when(~dup & (un < 0.90)).then(canonical)
        .when(~dup).then(pl.lit(None, dtype=pl.String))
        .when(un < 0.50).then(canonical)
        .when(un < 0.58).then(last + ", " + first)
        .when(un < 0.64).then(first.str.slice(0, 1) + ". " + last)
        .when(un < 0.70).then(nick + " " + last)
        .when(un < 0.76).then(first_asc + " " + last_asc)
        .when(un < 0.81).then(canonical.str.to_uppercase())
        .when(un < 0.85).then(first + " " + middle + ". " + last)
        .when(un < 0.88).then(first + " " + typo_last)
        .when(un < 0.91).then(typo_first + " " + last)
        .when(un < 0.93).then(pl.lit("  ") + first.str.to_lowercase() + "  " + last.str.to_lowercase())
        .otherwise(pl.lit(None, dtype=pl.String)))
    legal_of = (pl.when(pl.col("u_comp") < 0.6).then(pl.col("legal")).when(pl.col("u_comp") < 0.7)
                .then(pl.col("legal_alt")).when(pl.col("u_comp") < 0.78).then(pl.col("legal_alt2"))
                .otherwise(pl.col("legal")))
    company_name = (pl.col("company") + pl.when(legal_of != "").then(" " + legal_of).otherwise(pl.lit("")))
    company = (pl.when(~dup & (pl.col("u_comp") < 0.85)).then(company_name).when(~dup).then(None)
               .when(pl.col("u_comp") < 0.78).then(company_name)
               .when(pl.col("u_comp") < 0.83).then(company_name.str.to_uppercase())
               .otherwise(None))
    # email
    addr, other = pl.col("addr"), pl.col("other")
    a_local = addr.str.split("@").list.first()
    a_domain = addr.str.split("@").list.last()
    typo_local = _typo(a_local, pl.col("pos") % pl.max_horizontal(a_local.str.len_chars() - 1, 1),
                       pl.col("op"), letter) + "@" + a_domain
    free_typo = pl.col("free").replace_strict(
        {k: v[0] for k, v in FREE_MAIL_TYPOS.items()}, default=None)
    free_typo2 = pl.col("free").replace_strict({k: v[-1] for k, v in FREE_MAIL_TYPOS.items()}, default=None)
    dom_typo = (pl.when(a_domain == pl.col("free"))
                .then(pl.when(pl.col("op") < 2).then(free_typo).otherwise(free_typo2))
                .otherwise(_typo(a_domain, pl.col("pos") % pl.max_horizontal(
                    a_domain.str.find(r"\.") - 1, 1), pl.col("op"), letter)))
    um, um2 = pl.col("u_mail"), pl.col("u_mail2")
    display = pl.coalesce(contact, canonical)
    form = (pl.when(um2 < 0.55).then(addr).when(um2 < 0.65).then(addr.str.to_uppercase())
            .when(um2 < 0.72).then(pl.lit(" ") + addr + " ")
            .when(um2 < 0.9).then(display + " <" + addr + ">")
            .otherwise('"' + last + ", " + first + '" <' + addr.str.to_uppercase() + ">"))
    email = (pl.when(~dup & (um < 0.95)).then(form).when(~dup).then(None)
             .when(um < 0.52).then(form)
             .when(um < 0.60).then(typo_local)
             .when(um < 0.66).then(a_local + "@" + dom_typo)
             .when(um < 0.76).then(other)
             .otherwise(None))
    # phones
    phone = (pl.when(pl.col("pnum").is_null() | (pl.col("u_phone") < 0.25)).then(None)
             .otherwise(_phone_forms(pl.col("ccode"), pl.col("nsn"), pl.when(dup).then(pl.col("pform"))
                                     .otherwise(0))))
    mobile = (pl.when(~pl.col("has_mobile") | (pl.col("u_mob") < 0.3)).then(None)
              .otherwise(_phone_forms(pl.col("ccode"), pl.col("msn"), pl.when(dup).then(pl.col("mform"))
                                      .otherwise(0))))
    # address
    ua = pl.col("u_addr")
    variant = pl.when(dup & (ua < 0.15)).then(1).when(dup & (ua < 0.25)).then(2).otherwise(0)
    has_addr = pl.when(dup).then(ua < 0.75).otherwise(ua < 0.85)
    street = pl.when(has_addr).then(_street(pl.col("style"), pl.col("street_i"), pl.col("house"), variant))
    zip_code = pl.when(pl.col("zip_len") == 0).then(
        pl.lit("M") + (pl.col("zipn") % 60).cast(pl.String) + " " + (pl.col("zipn") % 9).cast(pl.String) + "AB")\
        .otherwise(pl.col("zipn").cast(pl.String).str.zfill(5).str.slice(5 - pl.col("zip_len")))
    zip_code = pl.when(has_addr & (pl.col("u_zip") < 0.9)).then(zip_code)
    uc = pl.col("u_city")
    city = (pl.when(~has_addr & (uc < 0.7)).then(None)
            .when(dup & (uc < 0.1)).then(pl.col("city").str.to_uppercase())
            .when(dup & (uc < 0.2)).then(_fold(pl.col("city")))
            .otherwise(pl.col("city")))
    d = d.with_columns(
        contact.alias("contact_name"), company.alias("partner_name"), email.alias("email_from"),
        phone.alias("phone"), mobile.alias("mobile"), street.alias("street"), zip_code.alias("zip"),
        city.alias("city"), pl.when(has_addr).then(pl.col("country")).alias("country_id"),
        pl.when(has_addr & (pl.col("state") != "")).then(pl.col("state")).alias("state_id"),
        pl.when(pl.col("u_comp") < 0.3).then(pl.col("company") + ", " + canonical).alias("partner_id"),
        ("https://www." + pl.col("domain").str.replace(r"\.[a-z]+$", "") + pl.col("tld")).alias("website"),
    )
    d = d.with_columns(
        pl.when(pl.col("contact_name").is_not_null()).then(pl.col("contact_name") + "'s opportunity")
        .when(pl.col("partner_name").is_not_null()).then(pl.col("partner_name") + ": " + pl.lit("10 licences"))
        .otherwise(pl.lit("New lead ") + pl.col("id")).alias("name"))
    truth = d.filter(pl.col("cluster").is_not_null()).select("id", pl.col("cluster").cast(pl.String))
    return d.select(generate.COLUMNS), truth


def generate_fuzzy(rows: int, out: str, seed: int = 1, truth: str | None = None,
                   chunk: int = 1_000_000) -> None:
    rng = np.random.default_rng(seed)
    notes = generate._opts(generate._notes(rng, 4096))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    id_start, imported_start, person_start, cluster_start = 1, generate.IMPORTED_ID_BASE, 1, 1
    with open(out, "wb") as handle:
        truth_handle = open(truth, "wb") if truth else None  # noqa: SIM115 - closed below
        try:
            done = 0
            while done < rows:
                n = min(chunk, rows - done)
                frame, truth_rows = make_fuzzy_chunk(np.random.default_rng([seed, done]), n, id_start,
                                                     imported_start, person_start, cluster_start, notes)
                frame.write_csv(handle, include_header=done == 0, line_terminator="\n")
                if truth_handle is not None:
                    truth_rows.write_csv(truth_handle, include_header=done == 0)
                id_start += n
                imported_start += n
                person_start += n
                cluster_start += n
                done += n
        finally:
            if truth_handle is not None:
                truth_handle.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--truth", help="also write id,cluster of the true duplicate clusters")
    parser.add_argument("--chunk", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    generate_fuzzy(args.rows, args.output, seed=args.seed, truth=args.truth, chunk=args.chunk)
    print(f"wrote {args.output}: {args.rows:,} rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
