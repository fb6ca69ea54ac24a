"""Phone keys in E.164 form (`--by phone`), with the `phonenumbers` package (Google's
libphonenumber metadata: no hand-written rule would know every country's numbering plan)."""

from __future__ import annotations

import phonenumbers
import polars as pl

from ..records import IDX, Records

# Odoo exports the country's name; a few common ones, else a 2-letter code is taken as is
COUNTRY_CODES = {
    "belgium": "BE", "belgique": "BE", "belgië": "BE", "netherlands": "NL", "nederland": "NL",
    "france": "FR", "germany": "DE", "deutschland": "DE", "united kingdom": "GB",
    "united states": "US", "united states of america": "US", "usa": "US", "spain": "ES",
    "italy": "IT", "luxembourg": "LU", "switzerland": "CH", "austria": "AT", "ireland": "IE",
    "portugal": "PT", "canada": "CA", "australia": "AU", "india": "IN", "brazil": "BR",
    "mexico": "MX", "poland": "PL", "sweden": "SE", "norway": "NO", "denmark": "DK",
    "finland": "FI", "japan": "JP", "china": "CN", "south africa": "ZA", "new zealand": "NZ",
}


def check_region(region: str) -> None:
    """--default-region: a region libphonenumber knows (BE, US, ...), else a usage error."""
    from ..errors import UsageError

    if region.strip().upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise UsageError(f"--default-region {region!r}: expected a two-letter country code (BE, FR, US, ...)")


def _region(country: str, default: str | None) -> str | None:
    c = (country or "").strip()
    if len(c) == 2 and c.isalpha():
        return c.upper()
    return COUNTRY_CODES.get(c.lower(), default.upper() if default else None)


def e164(number: str, region: str | None) -> str | None:
    """The E.164 form of a number, or None when it cannot be a valid number."""
    if not number or not number.strip():
        return None
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_keys(records: Records, frame: pl.DataFrame, default_region: str | None) -> pl.DataFrame:
    """(idx, 'phone:E164') for the phones and mobiles of each record in `frame` (every column
    of the two fields). Parsing runs once per distinct (number, region), not once per record."""

    country = records.col("country_id")
    parts = []
    for name in [*records.columns_of("phone"), *records.columns_of("mobile")]:
        parts.append(frame.select(
            IDX, pl.col(name).alias("number"),
            (pl.col(country) if country else pl.lit("")).alias("country")))
    if not parts:
        return pl.DataFrame(schema={IDX: pl.UInt32, "key": pl.String})
    numbers = pl.concat(parts).filter(pl.col("number").str.strip_chars() != "")
    distinct = numbers.select("number", "country").unique()
    keys = [e164(n, _region(c, default_region))
            for n, c in zip(distinct["number"].to_list(), distinct["country"].to_list(),
                            strict=True)]
    distinct = distinct.with_columns(pl.Series("e164", keys, dtype=pl.String))
    return (numbers.join(distinct, on=["number", "country"], nulls_equal=True)
            .filter(pl.col("e164").is_not_null())
            .select(IDX, ("phone:" + pl.col("e164")).alias("key")))
