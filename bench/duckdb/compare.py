"""Checks that the DuckDB baseline found what permaudit found, rule by rule: the same
number of findings and the same key sets (CONTRACT.md section 5 keys, with the
jurisdiction).

    python compare.py OUT/<as_of>/findings.csv KEYS_DIR

Exits 1 on any difference, printing a few keys found by one side only.
"""

import csv
import pathlib
import sys

# permaudit neutralises CSV cells a spreadsheet would execute with a leading quote.
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def raw(cell):
    if cell.startswith("'") and cell[1:2] in FORMULA and cell[1:2] != "":
        return cell[1:]
    return cell


def main():
    findings, keys_dir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    expected = {}
    for path in sorted(keys_dir.glob("*.csv")):
        with open(path, newline="") as f:
            rows = csv.reader(f)
            columns = next(rows)
            expected[path.stem] = (columns, {tuple(r) for r in rows})
    found = {rule: set() for rule in expected}
    csv.field_size_limit(sys.maxsize)
    with open(findings, newline="") as f:
        for row in csv.DictReader(f):
            rule = row["rule"]
            if rule in expected:
                found[rule].add(tuple(raw(row[c]) for c in expected[rule][0]))
    ok = True
    for rule, (columns, duck) in expected.items():
        ours = found[rule]
        same = ours == duck
        ok &= same
        print(f"check\t{rule}\tpermaudit={len(ours)}\tduckdb={len(duck)}\t"
              f"{'equal' if same else 'DIFFERENT'}")
        if not same:
            for side, diff in (("permaudit only", ours - duck), ("duckdb only", duck - ours)):
                for key in sorted(diff)[:5]:
                    print(f"  {side}: {dict(zip(columns, key))}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
