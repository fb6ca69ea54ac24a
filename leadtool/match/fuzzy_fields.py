"""The fields fuzzy matching compares, read from a Records frame and normalized in bulk:
a person's name as first and last name, the company without its legal form, the email key
and its parts, phone digits, street, house number, city and zip.

Every value here is derived, for comparing only: the records themselves are never changed.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from ..records import Records
from .emails import display_name_expr, email_keys

# letters that NFKD does not split into a base letter and a mark
_FOLD = {"ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ı": "i", "þ": "th",
         "ð": "d", "’": "'", "‘": "'", "`": "'"}
# titles and suffixes that are not part of the name itself
_TITLES = (r"\b(?:mr|mrs|ms|miss|mx|dr|prof|professor|doctor|sir|madam|madame|mister|mme|mlle|"
           r"mevr|dhr|herr|frau|jr|sr|ii|iii|iv|phd|md|esq)\b\.?")
# surname particles written apart from the name they belong to: `Van den Berg` = `Vandenberg`
_PARTICLES = r"\b(van|von|de|der|den|del|della|des|di|da|du|le|la|dos|das|ten|ter|vander|st|saint)\s+"
# legal forms and their abbreviations, dropped at the end of a company name
_LEGAL = ("inc|incorporated|corp|corporation|co|company|cie|ltd|limited|llc|llp|lp|plc|gmbh|mbh|ag|"
          "kg|ohg|ug|sa|sas|sasu|sarl|sprl|srl|scs|scrl|bv|bvba|nv|vof|oy|oyj|ab|as|asa|aps|spa|sl|"
          "sau|pty|pvt|kk|lda|se|ev")
_COMPANY_TAIL = rf"(?:\s+(?:and\s+)?(?:{_LEGAL}))+$"
# street words written in short
_STREET_WORDS = {
    "st": "street", "str": "strasse", "ave": "avenue", "av": "avenue", "blvd": "boulevard",
    "bd": "boulevard", "boul": "boulevard", "rd": "road", "dr": "drive", "ln": "lane",
    "ct": "court", "pl": "place", "sq": "square", "hwy": "highway", "pkwy": "parkway",
    "cres": "crescent", "cir": "circuit", "tce": "terrace", "chee": "chaussee", "ch": "chemin",
    "rte": "route", "stwg": "steenweg", "ln.": "lane",
}
# free mail domains, and how their typos are written (a typo of one of them is mapped to it)
FREE_MAIL = ("gmail.com", "googlemail.com", "yahoo.com", "yahoo.fr", "yahoo.co.uk", "hotmail.com",
             "hotmail.fr", "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com", "me.com",
             "gmx.de", "gmx.net", "web.de", "proton.me", "protonmail.com", "orange.fr", "free.fr",
             "laposte.net", "skynet.be", "telenet.be", "mail.com", "yandex.ru", "wanadoo.fr")

# common short forms of first names (both directions lead to one canonical form)
NICKNAMES = {
    "bob": "robert", "bobby": "robert", "rob": "robert", "robbie": "robert", "bert": "robert",
    "bill": "william", "billy": "william", "will": "william", "willy": "william",
    "jim": "james", "jimmy": "james", "jamie": "james", "mike": "michael", "mick": "michael",
    "mikey": "michael", "tom": "thomas", "tommy": "thomas", "dick": "richard", "rick": "richard",
    "rich": "richard", "ricky": "richard", "ted": "edward", "ed": "edward", "eddie": "edward",
    "ned": "edward", "tony": "anthony", "chris": "christopher", "dan": "daniel", "danny": "daniel",
    "dave": "david", "davy": "david", "joe": "joseph", "joey": "joseph", "josef": "joseph",
    "sepp": "joseph", "steve": "stephen", "steven": "stephen", "stevie": "stephen",
    "alex": "alexander", "sandy": "alexander", "andy": "andrew", "drew": "andrew",
    "ben": "benjamin", "benny": "benjamin", "sam": "samuel", "sammy": "samuel", "nick": "nicholas",
    "matt": "matthew", "pat": "patrick", "paddy": "patrick", "pete": "peter", "greg": "gregory",
    "jeff": "jeffrey", "jon": "jonathan", "johnny": "john", "jack": "john", "hans": "johannes",
    "fred": "frederick", "freddie": "frederick", "fritz": "friedrich", "larry": "lawrence",
    "ken": "kenneth", "kenny": "kenneth", "charlie": "charles", "chuck": "charles",
    "harry": "henry", "hank": "henry", "walt": "walter", "phil": "philip", "phillip": "philip",
    "tim": "timothy", "timmy": "timothy", "vince": "vincent", "ron": "ronald", "ronnie": "ronald",
    "don": "donald", "doug": "douglas", "max": "maximilian", "manu": "emmanuel",
    "liz": "elizabeth", "beth": "elizabeth", "betty": "elizabeth", "eliza": "elizabeth",
    "elisabeth": "elizabeth", "kate": "katherine", "katie": "katherine", "kathy": "katherine",
    "cathy": "katherine", "catherine": "katherine", "kathryn": "katherine", "kat": "katherine",
    "maggie": "margaret", "meg": "margaret", "peggy": "margaret", "jenny": "jennifer",
    "jen": "jennifer", "sue": "susan", "susie": "susan", "becky": "rebecca", "becca": "rebecca",
    "vicky": "victoria", "tori": "victoria", "mandy": "amanda", "abby": "abigail",
    "debbie": "deborah", "deb": "deborah", "sally": "sarah", "sara": "sarah", "annie": "anne",
    "ann": "anne", "molly": "mary", "polly": "mary", "jess": "jessica", "jessie": "jessica",
    "pam": "pamela", "lexi": "alexandra", "steph": "stephanie", "nathalie": "natalie",
    "tina": "christina", "val": "valerie", "gaby": "gabrielle", "gabi": "gabrielle",
    "dani": "danielle", "isabel": "isabelle", "bella": "isabelle", "nell": "eleanor",
    "frankie": "frank", "franz": "francis",
}

# what exports write for "no value": never a match
_PLACEHOLDER = r"(?i)^\s*(?:n/?a|n\.a\.|none|null|nil|unknown|tbd|-+|\?+|\.+|x+|0+)\s*$"
_JOINERS = r"[\.\-_/;:()\[\]]"  # read as spaces in names and companies


def fold(expr: pl.Expr) -> pl.Expr:
    """Lower case without accents: `Jérôme Müller` and `JEROME MULLER` compare equal."""
    return (expr.str.to_lowercase().str.normalize("NFKD").str.replace_all(r"\p{M}", "")
            .str.replace_many(list(_FOLD), list(_FOLD.values())))


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.str.len_bytes() > 0).then(expr)


def _squeeze(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_all(r"\s+", " ").str.strip_chars()


def _present(expr: pl.Expr) -> pl.Expr:
    """The stripped text, null when empty or a placeholder (`NA`, `n/a`, `-`)."""
    text = expr.fill_null("").str.strip_chars()
    return pl.when(~text.str.contains(_PLACEHOLDER)).then(_blank_to_null(text))


def _fill(values: pl.Series, frame: pl.DataFrame, column: str, expr: pl.Expr) -> pl.Series:
    """`values`, its nulls filled from `expr` over `column`, computed on those rows only."""
    todo = values.is_null()
    if not todo.any():
        return values
    found = frame.select(pl.col(column).filter(todo)).select(expr.alias(values.name)).to_series()
    return values.scatter(todo.arg_true(), found)


def raw_name(records: Records) -> pl.Series:
    """Where a person's name is written: `contact_name`, else the contact part of
    `partner_id` (`Company, Contact`), else the display name of `email_from`, else the lead's
    `name` when it reads like Odoo's `<Contact>'s opportunity` or a bare name."""
    frame = records.frame
    contact = records.col("contact_name")
    name = (frame.select(_present(pl.col(contact))).to_series() if contact
            else pl.Series([None] * frame.height, dtype=pl.String)).alias("name")
    col = pl.all()
    fallbacks = (
        ("partner_id", _present(col.fill_null("").str.extract(r",\s*([^,]+)$", 1))),
        ("email_from", _present(display_name_expr(col))),
        # a lead title with digits or a colon is a subject line, not a person
        ("name", pl.when(~col.str.contains(r"[\d:@]")).then(
            _present(col).str.replace(r"(?i)'s\s+(?:opportunity|lead)$", ""))),
    )
    for field_name, expr in fallbacks:
        column = records.col(field_name)
        if column:
            name = _fill(name, frame, column, expr)
    return name


def name_parts(raw: pl.Series) -> pl.DataFrame:
    """(first, last, nick, phonetic): `Doe, Jane`, `jane  DOE`, `Dr. Jane M. Doe` and `Jane Doe` give
    (`jane`, `doe`); a single word is a last name; `nick` is the first name in its usual long
    form (`bob` -> `robert`), so that the two compare equal; `phonetic` a blocking key of
    both names. Each step is
    materialized: polars would compute a shared sub-expression once per use."""
    s = pl.col("s")
    steps = (
        fold(s.fill_null("")).str.replace_all(r"\([^)]*\)", " ").str.replace_all(r"['`]", "")
        .str.replace_all(_TITLES, " "),
        _squeeze(s.str.replace_all(r",\s*(?:,|$)", ""))
        # `Last, First`: one comma between two names
        .str.replace(r"^([^,]+?)\s*,\s*([^,]+)$", "${2} ${1}")
        .str.replace_all(_JOINERS, " ").str.replace_all(r"[^\p{L}\s]", " "),
        _squeeze(s).str.replace_all(_PARTICLES, "${1}").str.split(" "),
    )
    frame = raw.alias("s").to_frame()
    for step in steps:
        frame = frame.select(step)
    n = s.list.len()
    names = frame.select(pl.when(n >= 2).then(s.list.first()).alias("first"),
                         _blank_to_null(s.list.last()).alias("last"))
    one, two = _skeleton(pl.col("first")), _skeleton(pl.col("last"))
    return names.with_columns(pl.col("first").replace(NICKNAMES).alias("nick"),
                              pl.when(one <= two).then(one + " " + two).otherwise(two + " " + one).alias("phonetic"))


_SINGLES = list("bcdfgjklmnpqrstvxz")
_DOUBLES = [c * 2 for c in _SINGLES]


def _skeleton(expr: pl.Expr) -> pl.Expr:
    """A rough phonetic code: the first letter, then the consonants, doubles made single
    (`dupont` and `dupnot` give `dpnt`); with the two names in sorted order, it finds
    `Doe Jane` for `Jane Doe` and vowel typos."""
    rest = expr.str.slice(1).str.replace_all(r"[aeiouyhw]", "").str.replace_many(_DOUBLES, _SINGLES)
    return expr.str.slice(0, 1) + rest


def company_key(expr: pl.Expr) -> pl.Expr:
    """`ACME Corp.`, `Acme Corporation` and `acme` give `acme`; `B & Q Ltd` gives `b and q`."""
    s = fold(expr.fill_null("")).str.replace_all("&", " and ")
    s = s.str.replace_all(r"[\.,'`]", "").str.replace_all(_JOINERS, " ")
    s = s.str.replace_all(r"[^\p{L}\p{N}\s]", " ")
    s = _squeeze(s).str.replace(r"^the\s+", "")
    s = s.str.replace(_COMPANY_TAIL, "")
    return _blank_to_null(s)


def phone_tail(expr: pl.Expr) -> pl.Expr:
    """The last 8 digits of a number: `+32 2 555 12 34`, `0032 2/555.12.34` and
    `02 555 12 34` agree; shorter than 7 digits is no phone number."""
    digits = expr.fill_null("").str.replace_all(r"\D", "")
    return pl.when(digits.str.len_bytes() >= 7).then(digits.str.slice(-8))


def street_parts(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(house number, street name without spaces): `12 Main St.`, `Main Street 12` and
    `12, main   street` give (`12`, `mainstreet`)."""
    s = fold(expr.fill_null("")).str.replace_all(r"[\.,'`#]", " ").str.replace_all(_JOINERS, " ")
    s = _squeeze(s)
    house = s.str.extract(r"\b(\d+[a-z]?)\b", 1)
    words = s.str.replace_all(r"\b\d+[a-z]?\b", " ").str.replace_all(r"[^\p{L}\s]", " ")
    words = _squeeze(words).str.split(" ").list.eval(pl.element().replace(_STREET_WORDS))
    # `Hauptstr.`, `Hauptstraße`, `Hauptstrasse` and `Hauptstraat` end alike
    name = words.list.join("").str.replace(r"(?:strasse|straat|str)$", "str")
    return house, _blank_to_null(name)


def place_key(expr: pl.Expr) -> pl.Expr:
    """A city in folded letters only: `Liège`, `LIEGE` and `liege ` agree."""
    return _blank_to_null(fold(expr.fill_null("")).str.replace_all(r"[^\p{L}]", ""))


def zip_key(expr: pl.Expr) -> pl.Expr:
    return _blank_to_null(expr.fill_null("").str.to_uppercase().str.replace_all(r"[^0-9A-Z]", ""))


def _email_columns(keys: pl.Series) -> pl.DataFrame:
    """The local part and the domain of each key, a free-mail domain's typo read as the
    domain itself. The local part is kept as written: a `+tag` or a dot may tell two
    mailboxes apart (`jane+crm1@x`, `jane+crm2@x`), and an edit away is close anyway."""
    frame = keys.alias("email").to_frame()
    domain = pl.col("email").str.split("@").list.last()
    frame = frame.with_columns(domain.alias("domain"))
    local = pl.col("email").str.head(pl.col("email").str.len_chars() - pl.col("domain").str.len_chars() - 1)
    frame = frame.with_columns(_blank_to_null(local).alias("local"))
    domains = frame.get_column("domain").drop_nulls().unique()
    return frame.with_columns(pl.col("domain").replace(domains, free_mail_domains(domains)))


def free_mail_domains(domains: pl.Series) -> pl.Series:
    """Each domain, or the free-mail domain it is a typo of (`gmial.com`, `gmail.con`,
    `hotmial.com`): one edit away (two for long names) from exactly one of them."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    values = domains.to_list()
    if not values:
        return domains
    dist = process.cdist(values, FREE_MAIL, scorer=OSA.distance, score_cutoff=2, workers=-1)
    import numpy as np

    lengths = np.array([len(v) for v in values])
    allowed = np.where(lengths >= 9, 2, 1)[:, None]
    close = dist <= allowed
    best = dist.argmin(axis=1)
    near = close.any(axis=1)
    out = [FREE_MAIL[b] if ok else v for v, b, ok in zip(values, best, near, strict=True)]
    return pl.Series(domains.name, out, dtype=pl.String)


FEATURES = ("first", "nick", "last", "phonetic", "company", "email", "local", "domain", "phone1", "phone2",
            "house", "street", "city", "zip")
_V = "__lt_value"


def by_value(values: pl.Series, derive: Callable[[pl.Series], pl.DataFrame]) -> pl.DataFrame:
    """`derive` (one frame row per value) computed once per distinct value: a column of an
    export repeats most of its values (cities, companies, names)."""
    distinct = values.unique()
    if len(distinct) * 2 > len(values):
        return derive(values)
    table = pl.concat([distinct.alias(_V).to_frame(), derive(distinct)], how="horizontal")
    return (values.alias(_V).to_frame()
            .join(table, on=_V, how="left", maintain_order="left", nulls_equal=True).drop(_V))


def _derive(expr_of: Callable[[pl.Expr], pl.Expr | tuple[pl.Expr, ...]],
            names: tuple[str, ...]) -> Callable[[pl.Series], pl.DataFrame]:
    def derive(values: pl.Series) -> pl.DataFrame:
        exprs = expr_of(pl.when(~pl.col(_V).str.contains(_PLACEHOLDER)).then(pl.col(_V)))
        exprs = exprs if isinstance(exprs, tuple) else (exprs,)
        return values.alias(_V).to_frame().select(e.alias(n) for e, n in zip(exprs, names, strict=True))
    return derive


def _column(records: Records, field_name: str) -> pl.Series:
    name = records.col(field_name)
    if not name:
        return pl.Series(field_name, [None] * len(records), dtype=pl.String)
    return records.frame.get_column(name)


def extract(records: Records, keys: pl.Series | None = None) -> pl.DataFrame:
    """One row per record (in input order) with the normalized fields of FEATURES, null
    where a record has no value. `keys`: the email keys when the caller has them already."""
    parts = [
        by_value(raw_name(records), name_parts),
        by_value(_column(records, "partner_name"), _derive(company_key, ("company",))),
        by_value(_column(records, "phone"), _derive(phone_tail, ("phone1",))),
        by_value(_column(records, "mobile"), _derive(phone_tail, ("phone2",))),
        by_value(_column(records, "street"), _derive(street_parts, ("house", "street"))),
        by_value(_column(records, "city"), _derive(place_key, ("city",))),
        by_value(_column(records, "zip"), _derive(zip_key, ("zip",))),
    ]
    if keys is None:
        email = records.col("email_from")
        keys = (email_keys(records.frame.get_column(email)) if email
                else pl.Series("email", [None] * len(records), dtype=pl.String))
    out = pl.concat([*parts, _email_columns(keys)], how="horizontal")
    # a mobile equal to the phone is one number
    out = out.with_columns(pl.when(pl.col("phone2") != pl.col("phone1").fill_null(""))
                           .then(pl.col("phone2")).alias("phone2"))
    return out.select(FEATURES)
