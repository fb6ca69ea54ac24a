"""The email key (docs/groups.md#email-key): Odoo's email_normalize."""

from __future__ import annotations

import polars as pl
import pytest

from leadtool.match.emails import (
    display_name_expr,
    email_key,
    email_key_expr,
    email_keys_all_expr,
    first_address_expr,
)

KEYS = [
    ("Name <NaMe@DoMaIn.CoM>", "name@domain.com"),
    ("  Foo.Bar@Example.COM  ", "foo.bar@example.com"),
    ("a@b.com, c@d.com", "a@b.com"),
    ('"Philip, J. Fry" <philip.j.fry@test.example.com>', "philip.j.fry@test.example.com"),
    ("Raoul raoul@grosbedon.fr", "raoul@grosbedon.fr"),
    ('"john@gmail.com" <johnny@gmail.com>', "johnny@gmail.com"),
    ("Jérôme <Jérôme@Exämple.COM>", "Jérôme@exämple.com"),
    ("a@b.com; c@d.com", "a@b.com"),
    ("a@b.com c@d.com", "a@b.com"),
    ('"a@b.com"', "a@b.com"),
    ("'A@B.com'", "a@b.com"),
    ("<A@B.com>", "a@b.com"),
    ("Name<A@B.com>", "a@b.com"),
    ("Foo <foo@bar.com>, Baz <baz@qux.com>", "foo@bar.com"),
    ("x@y.com <z@w.com>", "z@w.com"),
    ("Foo.Bar+tag@GMail.com", "foo.bar+tag@gmail.com"),  # no +tag or dot removed by default
    ("Ana.Silva@Azure-Interior.EXAMPLE", "ana.silva@azure-interior.example"),
]
NO_KEY = ["not an email", "", "<>", "x@", "@b.com", "NA", "   ", "Name <>", "info at x dot com"]


@pytest.mark.parametrize(("value", "key"), KEYS)
def test_email_key(value: str, key: str) -> None:
    assert email_key(value) == key


@pytest.mark.parametrize("value", NO_KEY)
def test_no_key(value: str) -> None:
    assert email_key(value) is None


def test_null_has_no_key() -> None:
    frame = pl.DataFrame({"v": [None, "A@B.com"]}, schema={"v": pl.String})
    assert frame.select(email_key_expr(pl.col("v"))).to_series().to_list() == [None, "a@b.com"]


def test_expression_matches_scalar_helper() -> None:
    values = [v for v, _ in KEYS] + NO_KEY
    frame = pl.DataFrame({"v": values})
    keys = frame.select(email_key_expr(pl.col("v"))).to_series().to_list()
    assert keys == [email_key(v) for v in values]


@pytest.mark.parametrize(("value", "key"), [
    ("Foo.Bar+x@GoogleMail.com", "foobar@gmail.com"),
    ("foo.bar@gmail.com", "foobar@gmail.com"),
    ("Foo.Bar+x@Example.com", "foo.bar@example.com"),  # dots kept outside gmail
    ("Name <a+b+c@x.org>", "a@x.org"),
])
def test_canonical_email(value: str, key: str) -> None:
    assert email_key(value, canonical=True) == key
    assert email_key(value) != key or "+" not in value


def test_all_addresses() -> None:
    frame = pl.DataFrame({"v": [
        "a@b.com, C@D.com",
        '"Fry, P" <P@F.com>; q@r.com',
        "a@b.com, A@B.COM",
        "",
        "not an email",
        "Foo.Bar+x@gmail.com d@e.com",
    ]})
    got = frame.select(email_keys_all_expr(pl.col("v"))).to_series().to_list()
    assert got == [["a@b.com", "c@d.com"], ["p@f.com", "q@r.com"], ["a@b.com"], [], [],
                   ["foo.bar+x@gmail.com", "d@e.com"]]
    canon = frame.select(email_keys_all_expr(pl.col("v"), canonical=True)).to_series().to_list()
    assert canon[5] == ["foobar@gmail.com", "d@e.com"]


def test_first_address_and_display_name() -> None:
    frame = pl.DataFrame({"v": ["Ana Silva <Ana.Silva@X.com>", '"Dupont, Léa" <lea@y.fr>',
                                " Tom@Z.com ", "", "nothing"]})
    out = frame.select(first_address_expr(pl.col("v")).alias("a"),
                       display_name_expr(pl.col("v")).alias("n"))
    assert out.get_column("a").to_list() == ["Ana.Silva@X.com", "lea@y.fr", "Tom@Z.com", None,
                                             None]
    assert out.get_column("n").to_list() == ["Ana Silva", "Dupont, Léa", None, None, None]


def test_email_key_all_and_canonical_in_groups(tmp_path) -> None:
    from typer.testing import CliRunner

    from leadtool.cli import app

    src = tmp_path / "e.csv"
    src.write_text('id,email_from\n1,"a@x.com, B@x.com"\n2,b@x.com\n3,Name <c@x.com>; d@x.com\n4,D@X.com\n'
                   "5,a.b+news@gmail.com\n6,ab@googlemail.com\n")

    def groups(*args: str) -> list[tuple[str, str, str]]:
        result = CliRunner().invoke(app, ["dupes", str(src), "--format", "csv", *args])
        assert result.exit_code == 0, result.output
        return [(g, i, r) for g, i, _, r, *_ in pl.read_csv(result.stdout.encode(), infer_schema=False).rows()]

    assert groups() == []  # the first address of each is its key: no two alike
    assert groups("--email-key", "all") == [  # any address joins
        ("1", "1", "email:b@x.com"), ("1", "2", "email:b@x.com"),
        ("2", "3", "email:d@x.com"), ("2", "4", "email:d@x.com")]
    assert groups("--canonical-email") == [  # +tags and gmail dots dropped, googlemail is gmail
        ("1", "5", "email:ab@gmail.com"), ("1", "6", "email:ab@gmail.com")]
    bad = CliRunner().invoke(app, ["dupes", str(src), "--email-key", "none"])
    assert bad.exit_code == 2 and "--email-key 'none': expected 'first' or 'all'" in bad.stderr
