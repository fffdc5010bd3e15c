#!/usr/bin/env python3
"""Build data/country_indicators.csv (the seed's country indicators) from the sourced file.

Usage (from the repository root):

    python3 data/build_indicators.py [SOURCE_DIR]

SOURCE_DIR holds country_indicators.csv and its README.md; it defaults to ../shared/data
relative to the repository root. Only the standard library is needed.

The source has one row per country and year: population (World Bank SP.POP.TOTL), GDP in
current US$ (NY.GDP.MKTP.CD) and the PPP conversion factor for GDP (PA.NUS.PPP, local currency
units per international dollar), an empty cell where the World Bank publishes no value. Every
value is copied as it is; the build only checks it: each code is one of data/countries.csv,
each year a whole number from 1960 to 2100 and given once per country, each value a positive
number, and every value of the output equal to the source's. It adds the source of each row.
"""

import csv
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SOURCE = os.path.join(os.path.dirname(HERE), "..", "shared", "data")
COLUMNS = ["country", "year", "population", "gdp_current_usd", "ppp_lcu_per_intl_dollar"]
SOURCE = ("World Bank, World Development Indicators (SP.POP.TOTL, NY.GDP.MKTP.CD, PA.NUS.PPP), "
          "CC BY 4.0: https://data.worldbank.org/indicator")


def fail(message):
    sys.exit(f"build_indicators: {message}")


def number(text, where, whole):
    if text == "":
        return None
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        fail(f"{where}: '{text}' is not a number")
    if not math.isfinite(value) or value <= 0:
        fail(f"{where}: '{text}' is not a positive number")
    return value


def main():
    source_dir = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_SOURCE
    path = os.path.join(source_dir, "country_indicators.csv")
    with open(os.path.join(HERE, "countries.csv"), newline="", encoding="utf-8") as f:
        codes = {row["code"] for row in csv.DictReader(f)}
    rows, seen = [], set()
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != COLUMNS:
            fail(f"{path}: columns {reader.fieldnames}, expected {COLUMNS}")
        for line, row in enumerate(reader, start=2):
            where = f"{path}:{line}"
            code = row["country"]
            if code not in codes:
                fail(f"{where}: '{code}' is not a code of data/countries.csv")
            year = number(row["year"], where, whole=True)
            if year is None or not 1960 <= year <= 2100:
                fail(f"{where}: year '{row['year']}' out of range")
            if (code, year) in seen:
                fail(f"{where}: {code} {year} given twice")
            seen.add((code, year))
            values = [number(row[c], f"{where} {c}", whole=(c == "population")) for c in COLUMNS[2:]]
            if all(v is None for v in values):
                continue
            rows.append((code, year, [row[c] for c in COLUMNS[2:]]))
    out = os.path.join(HERE, "country_indicators.csv")
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS + ["source"])
        for code, year, values in sorted(rows):
            writer.writerow([code, year, *values, SOURCE])
    # Read back: every value as the source gives it.
    with open(out, newline="", encoding="utf-8") as f:
        written = {(r["country"], int(r["year"])): r for r in csv.DictReader(f)}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            key = (row["country"], int(row["year"]))
            if key in written and any(written[key][c] != row[c] for c in COLUMNS[2:]):
                fail(f"{out}: {key} differs from the source")
    print(f"wrote {out}: {len(rows)} rows, {len({r[0] for r in rows})} countries")


if __name__ == "__main__":
    main()
