"""Whether two permscope SQLite stores hold the same rows, table by table (timestamps and durations masked).

Used to check that a change meant to be faster stores what it stored before: import the same export with both
builds into two fresh files (under the same PYTHONHASHSEED: some row orders follow set iteration), then

    .venv/bin/python bench/compare_db.py A.sqlite3 B.sqlite3 [--ignore-pk]

Columns named like times (`*_at`, `started*`, `seconds`, ...) and ISO timestamps in text are masked; values that
depend on the analysis clock inside JSON (`analysis_runs.settings.now`, `daysSinceLastActivity` across a day
boundary) are not, so fix the clock or expect those. Prints the tables that differ; exit status 1 when one does.
"""

from __future__ import annotations

import re
import sqlite3
import sys
from collections import Counter

TS = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")
SKIP_COLS = re.compile(r"(_at$|^seconds$|duration|^started|^finished|^taken|^version_num$)")


def rows(db: str, table: str, ignore_pk: bool) -> Counter[tuple[object, ...]]:
    """The table's rows (masked columns left out) with how often each occurs."""
    con = sqlite3.connect(db)
    cols = [r[1] for r in con.execute(f"PRAGMA table_info('{table}')")]
    pks = {r[1] for r in con.execute(f"PRAGMA table_info('{table}')") if r[5]}
    keep = [
        c for c in cols if not SKIP_COLS.search(c) and not (ignore_pk and (c in pks or c.endswith("_pk")))
    ]
    if not keep:
        return Counter()
    out: Counter[tuple[object, ...]] = Counter()
    for row in con.execute(f"SELECT {', '.join(chr(34) + c + chr(34) for c in keep)} FROM '{table}'"):
        out[tuple("<ts>" if isinstance(v, str) and TS.match(v) else v for v in row)] += 1
    return out


def main() -> int:
    """Compare the stores named on the command line; 1 when a table differs."""
    a, b = sys.argv[1], sys.argv[2]
    ignore_pk = "--ignore-pk" in sys.argv
    tables = [r[0] for r in sqlite3.connect(a).execute("SELECT name FROM sqlite_master WHERE type='table'")]
    bad = 0
    for table in sorted(tables):
        ra, rb = rows(a, table, ignore_pk), rows(b, table, ignore_pk)
        if ra != rb:
            bad += 1
            print(f"{table}: {sum(ra.values())} vs {sum(rb.values())} rows differ")
            for row in list((ra - rb).keys())[:2]:
                print("  only A:", str(row)[:300])
            for row in list((rb - ra).keys())[:2]:
                print("  only B:", str(row)[:300])
    print("equal" if not bad else f"{bad} tables differ")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
