"""Regenerate the bundled samples (deterministic): `python samples/make_samples.py`.

leads.csv          Odoo web export (technical names, every field quoted, CRLF)
leads_cp1252.csv   the same records as Excel re-saves them: English labels, `;`, cp1252,
                   quoted only where needed
leads.json         a JSON array of objects (numbers and booleans as JSON literals)
leads.jsonl        JSON Lines
customers.csv      a res.partner export that matches some of the leads

Known content of leads.csv (tests rely on it): 40 rows, 22 leads / 18 opportunities,
2 archived (ids 19, 47), 2 won (ids 17, 44; closed 4), 6 empty emails, 3 unparseable emails
('NA', 'info at costa dot example', 'noah smith'), 8 duplicate email groups among open records
holding 17 records (ana.silva x3; tom, marc.demo, lea.dupont, raj, kim.lee, paul, hans.berg x2).
In several groups the oldest record (create_date) is not the lowest id (41, 43, 45, 46, 49).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

FIELDS = ["id", "name", "type", "active", "contact_name", "partner_name", "email_from", "phone",
          "mobile", "city", "country_id", "user_id", "team_id", "stage_id", "probability",
          "expected_revenue", "priority", "tag_ids", "description", "create_date", "x_source"]
LABELS = ["ID", "Opportunity", "Type", "Active", "Contact Name", "Company Name", "Email",
          "Phone", "Mobile", "City", "Country", "Salesperson", "Sales Team", "Stage",
          "Probability", "Expected Revenue", "Priority", "Tags", "Notes", "Created on", "Source"]

# (id, name, type, active, contact, company, email, phone, city, country, stage, probability,
#  revenue, tags, notes, created, source) -- mobile, salesperson, team, priority derived
ROWS = [
    (11, "Office chairs for Azure", "opportunity", "True", "Ana Silva", "Azure Interior",
     "ana.silva@azure-interior.example", "+32 2 290 34 90", "Brussels", "Belgium", "Qualified",
     "30.0", "12000.0", "Product,Urgent", "Called twice.\r\nWants a quote for 20 chairs.",
     "2024-02-14 09:12:03", "00123"),
    (12, "Deco Addict: showroom lighting", "lead", "True", "Tom Baker", "Deco Addict",
     " tom@deco-addict.example ", "+32 10 58 12 11", "Wavre", "Belgium", "", "10.0", "0.0",
     "Services", "", "2024-01-05 14:00:00", "web"),
    (13, "Gemini furniture catalogue", "opportunity", "True", "Marc Demo", "Gemini Furniture",
     "Marc Demo <Marc.Demo@gemini.example>", "(941)-284-4875", "Fairfield", "United States",
     "Proposition", "60.0", "25000.0", "Product", "Sent the catalogue.", "2024-03-01 08:30:00",
     "fair"),
    (14, "Lumber Inc. website request", "lead", "True", "Léa Dupont", "Lumber Inc",
     '"Dupont, Léa" <lea.dupont@lumber.example>', "NA", "Lyon", "France", "", "10.0", "0.0",
     "Information", "Asked about delivery times\r\nand payment terms.", "2024-02-20 16:45:10",
     "web"),
    (15, "Ready Mat: 3 meeting rooms", "opportunity", "True", "Raj Patel", "Ready Mat",
     "Raj Patel raj@ready-mat.example", "+1 555-0100", "Chicago", "United States", "New",
     "20.0", "8000.0", "Product,Services", "", "2024-04-02 11:00:00", ""),
    (16, "Wood Corner: desks", "lead", "True", "Kim Lee", "Wood Corner",
     "kim.lee@wood-corner.example", "0032 475 11 22 33", "Antwerp", "Belgium", "", "10.0",
     "0.0", "Product", "", "2024-03-18 10:10:10", "00123"),
    (17, "Quote for 40 standing desks", "opportunity", "True", "Julie Martin", "Jackson Group",
     "julie.martin@jackson.example", "+44 20 7946 0000", "London", "United Kingdom", "Won",
     "100", "40000.0", "Product", 'She said "ready to sign".', "2023-11-02 09:00:00", "fair"),
    (18, "Azure Interior: meeting table", "lead", "True", "Ana Silva", "Azure Interior",
     "Ana.Silva@Azure-Interior.EXAMPLE", "+32 2 290 34 90", "Brussels", "Belgium", "", "10.0",
     "0.0", "Product", "", "2024-03-10 13:20:00", "web"),
    (19, "Old request from Lumber", "lead", "False", "Léa Dupont", "Lumber Inc",
     "lea.dupont@lumber.example", "", "Lyon", "France", "", "0.0", "0.0", "", "Archived:\r\n"
     "no budget this year.", "2023-06-01 10:00:00", "NA"),
    (20, "Deco Addict: new store", "opportunity", "True", "Tom Baker", "Deco Addict",
     "TOM@DECO-ADDICT.EXAMPLE", "+32 10 58 12 11", "Wavre", "Belgium", "Qualified", "40.0",
     "15000.0", "Product,Urgent", "Visit planned.", "2024-02-28 09:45:00", "00042"),
]

# plain records: one person each
_PLAIN = [
    ("Chair repair", "lead", "Paul Novak", "Novak & Co", "paul@novak.example", "Prague",
     "Czech Republic"),
    ("Reception desk", "opportunity", "Sofia Rossi", "Rossi Arredo", "sofia@rossi.example",
     "Milan", "Italy"),
    ("Ergonomics workshop", "lead", "Hans Berg", "Berg AG", "hans.berg@berg.example", "Bern",
     "Switzerland"),
    ("Cabinet order", "opportunity", "Eva Nilsson", "Nordic Desk", "eva@nordicdesk.example",
     "Malmö", "Sweden"),
    ("Open space layout", "lead", "Omar Haddad", "Haddad Design", "", "Casablanca", "Morocco"),
    ("Conference chairs", "opportunity", "Mia Wong", "Wong Trading", "mia.wong@wong.example",
     "Singapore", "Singapore"),
    ("Lamps", "lead", "Noah Smith", "", "NA", "Dublin", "Ireland"),
    ("Standing desks", "opportunity", "Liam Brown", "Brown & Sons", "liam@brownsons.example",
     "Leeds", "United Kingdom"),
    ("Sofa for lobby", "lead", "Emma Dubois", "Dubois SARL", "", "Paris", "France"),
    ("Storage", "lead", "Lucas Costa", "Costa Lda", "info at costa dot example", "Porto",
     "Portugal"),
    ("Acoustic panels", "opportunity", "Zoe Clark", "Clark Studio", "zoe@clarkstudio.example",
     "Bristol", "United Kingdom"),
    ("Monitor arms", "lead", "Ivan Petrov", "", "ivan.petrov@mail.example", "Sofia",
     "Bulgaria"),
    ("Whiteboards", "lead", "Aisha Khan", "Khan Consulting", "", "Karachi", "Pakistan"),
    ("Kitchen furniture", "opportunity", "Ben Cohen", "Cohen Realty", "ben@cohenrealty.example",
     "Tel Aviv", "Israel"),
    ("Visitor chairs", "lead", "Nina Kowalska", "Kowalski Sp.", "nina@kowalski.example",
     "Warsaw", "Poland"),
    ("Desk lamps", "lead", "Pedro Alves", "", "", "Lisbon", "Portugal"),
    ("Lockers", "opportunity", "Greta Hansen", "Hansen ApS", "greta@hansen.example",
     "Copenhagen", "Denmark"),
    ("Meeting pods", "lead", "Yuki Tanaka", "Tanaka KK", "yuki@tanaka.example", "Osaka",
     "Japan"),
    ("Bookshelves", "lead", "Carlos Ruiz", "Ruiz SL", "carlos@ruiz.example", "Madrid", "Spain"),
    ("Garden furniture", "opportunity", "Fatima Zahra", "Zahra Hotels", "", "Rabat",
     "Morocco"),
]

# more duplicates, spread out so the oldest is not always the lowest id
_MORE = [
    (41, "Azure Interior: lounge", "opportunity", "True", "Ana Silva", "Azure Interior",
     "Ana Silva <ana.silva@azure-interior.example>", "+32 2 290 34 90", "Brussels", "Belgium",
     "New", "20.0", "6000.0", "Services", "Second contact:\r\nsame person as lead 18.",
     "2023-12-01 08:00:00", "fair"),
    (42, "Gemini: reception", "lead", "True", "Marc Demo", "Gemini Furniture",
     "marc.demo@gemini.example, sales@gemini.example", "(941)-284-4875", "Fairfield",
     "United States", "", "10.0", "0.0", "Information", "", "2024-03-20 17:00:00", "web"),
    (43, "Lumber: staff chairs", "opportunity", "True", "Léa Dupont", "Lumber Inc",
     "Lea.Dupont@Lumber.Example", "", "Lyon", "France", "Qualified", "30.0", "9000.0",
     "Product", "", "2024-01-15 12:00:00", "00123"),
    (44, "Ready Mat: signed", "opportunity", "True", "Raj Patel", "Ready Mat",
     "raj@ready-mat.example", "+1 555-0100", "Chicago", "United States", "Won", "100.0",
     "8000.0", "Product", "Won after demo.", "2024-04-20 15:00:00", ""),
    (45, "Ready Mat: follow-up", "lead", "True", "Raj Patel", "Ready Mat",
     "raj@ready-mat.example", "+1 555-0100", "Chicago", "United States", "", "10.0", "0.0",
     "", "", "2024-01-02 10:00:00", "web"),
    (46, "Wood Corner: chairs", "opportunity", "True", "Kim Lee", "Wood Corner",
     "Kim.Lee@wood-corner.example", "0032 475 11 22 33", "Antwerp", "Belgium", "New", "20.0",
     "3000.0", "Product", "", "2023-10-10 10:10:10", "00007"),
    (47, "Jackson: archived lead", "lead", "False", "Julie Martin", "Jackson Group",
     "", "+44 20 7946 0000", "London", "United Kingdom", "", "0.0", "0.0", "", "",
     "2023-09-09 09:09:09", ""),
    (48, "Novak: second chair order", "lead", "True", "Paul", "Novak & Co",
     "Paul Novak <PAUL@novak.example>", "", "Prague", "Czech Republic", "", "10.0", "0.0",
     "Product", "", "2024-05-01 09:00:00", "web"),
    (49, "Berg AG: workshop", "opportunity", "True", "Hans Berg", "Berg AG",
     "hans.berg@berg.example", "", "Bern", "Switzerland", "Proposition", "70.0", "4500.0",
     "Services,Training", "Workshop for 12 people.\r\nPrefers mornings.",
     "2023-12-24 08:00:00", ""),
    (50, "Noah: lamps again", "lead", "True", "Noah Smith", "", "noah smith", "", "Dublin",
     "Ireland", "", "10.0", "0.0", "", "", "2024-05-02 10:00:00", "NA"),
]

USERS = ["Mitchell Admin", "Marc Demo", "Mitchell Admin", "Audrey Peterson"]
TEAMS = ["Sales", "Website", "Sales", "Pre-Sales"]


def _records() -> list[dict[str, str]]:
    raw = list(ROWS)
    for k, (name, kind, contact, company, email, city, country) in enumerate(_PLAIN):
        opp = kind == "opportunity"
        raw.append((21 + k, name, kind, "True", contact, company, email,
                    "NA" if k % 7 == 3 else f"+00 {k:02d} 555 01{k:02d}", city, country,
                    ["New", "Qualified", "Proposition"][k % 3] if opp else "",
                    ["10.0", "30.0", "60.0"][k % 3] if opp else "10.0",
                    f"{(k + 1) * 1000}.0" if opp else "0.0",
                    ["Product", "Services", "Product,Services", ""][k % 4],
                    "Met at the fair.\nFollow up in spring." if k == 5 else "",
                    f"2024-0{1 + k % 5}-{10 + k:02d} 1{k % 10}:00:00",
                    ["web", "fair", "00123", "", "NA"][k % 5]))
    raw += _MORE
    out = []
    for r in raw:
        (rid, name, kind, active, contact, company, email, phone, city, country, stage, prob,
         revenue, tags, notes, created, source) = r
        out.append({
            "id": str(rid), "name": name, "type": kind, "active": active,
            "contact_name": contact, "partner_name": company, "email_from": email,
            "phone": phone, "mobile": "" if rid % 3 else "+32 470 00 00 " + f"{rid:02d}",
            "city": city, "country_id": country, "user_id": USERS[rid % 4],
            "team_id": TEAMS[rid % 4], "stage_id": stage, "probability": prob,
            "expected_revenue": revenue, "priority": str(rid % 4), "tag_ids": tags,
            "description": notes, "create_date": created, "x_source": source,
        })
    out.sort(key=lambda d: int(d["id"]))
    return out


def _csv(rows: list[list[str]], **kw: object) -> str:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n", **kw).writerows(rows)
    return buf.getvalue()


def _accented(value: str) -> str:
    for plain, accented in (("Léa", "Séverine"), ("Hans Berg", "Hans Müller"),
                            ("Berg AG", "Müller AG"), ("hans.berg@", "hans.mueller@"),
                            ("Sofa for lobby", "Sofa für die Lobby"),
                            ("Lamps", "Lampes café")):
        value = value.replace(plain, accented)
    return value


def _json_object(d: dict[str, str], k: int) -> dict[str, object]:
    obj: dict[str, object] = dict(d)
    obj["id"] = int(d["id"])
    obj["active"] = d["active"] == "True"
    obj["probability"] = float(d["probability"])
    obj["expected_revenue"] = float(d["expected_revenue"])
    if not d["mobile"]:
        obj["mobile"] = False  # how Odoo's JSON-RPC writes an empty char field
    if k == 7:
        del obj["x_source"]  # an absent key stays absent
    return obj


def main() -> None:
    records = _records()
    table = [FIELDS] + [[d[f] for f in FIELDS] for d in records]
    (HERE / "leads.csv").write_bytes(_csv(table, quoting=csv.QUOTE_ALL).encode("utf-8"))

    cp = [LABELS] + [[_accented(c) for c in row] for row in table[1:]]
    (HERE / "leads_cp1252.csv").write_bytes(
        _csv(cp, delimiter=";", quoting=csv.QUOTE_MINIMAL).encode("cp1252"))

    objects = [_json_object(d, k) for k, d in enumerate(records)]
    (HERE / "leads.json").write_text(json.dumps(objects, indent=2, ensure_ascii=False) + "\n",
                                     encoding="utf-8", newline="")
    (HERE / "leads.jsonl").write_text(
        "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects), encoding="utf-8",
        newline="")

    customers = [
        ["id", "name", "is_company", "parent_id", "email", "phone", "city", "country_id"],
        ["__export__.res_partner_7", "Azure Interior", "True", "", "info@azure-interior.example",
         "+32 2 290 34 90", "Brussels", "Belgium"],
        ["__export__.res_partner_8", "Ana Silva", "False", "Azure Interior",
         "ana.silva@azure-interior.example", "", "Brussels", "Belgium"],
        ["__export__.res_partner_9", "Deco Addict", "True", "", "info@deco-addict.example",
         "+32 10 58 12 11", "Wavre", "Belgium"],
        ["__export__.res_partner_10", "Gemini Furniture", "True", "", "", "(941)-284-4875",
         "Fairfield", "United States"],
        ["__export__.res_partner_11", "Marc Demo", "False", "Gemini Furniture",
         "Marc.Demo@gemini.example", "", "Fairfield", "United States"],
        ["__export__.res_partner_12", "Lumber Inc", "True", "", "", "", "Lyon", "France"],
        ["__export__.res_partner_13", "Sofia Rossi", "False", "",
         "sofia@rossi.example", "", "Milan", "Italy"],
        ["__export__.res_partner_14", "YourCompany", "True", "", "info@yourcompany.example",
         "", "Ghent", "Belgium"],
    ]
    (HERE / "customers.csv").write_bytes(_csv(customers, quoting=csv.QUOTE_ALL).encode("utf-8"))


if __name__ == "__main__":
    main()
