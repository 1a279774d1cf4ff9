"""Regenerate the "How close to the paper" tables in docs/*.md and the README from `accelsim validate`.

    .venv/bin/python tools/doc_tables.py                    # runs the validation (about 20 s), rewrites the files
    .venv/bin/python tools/doc_tables.py --csv reports/validation/validation.csv   # from a finished run
    .venv/bin/python tools/doc_tables.py --check            # exit 1 if a file would change (nothing written)

A table lives between two marker lines, which name the rows it shows:

    <!-- validate: scnn dcnn -->      rows of these models, areas left out (docs/area.md has them)
    <!-- validate: area -->           every area row
    <!-- validate: all -->            every row
    ...generated table and summary line...
    <!-- /validate -->

Runs of more than six rows with one source (the SCALE-Sim layers) are folded into their worst row. The forest plot
of the performance and energy rows (`accelsim validate`'s validation.png) is drawn to docs/img/validation.png.
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
FILES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]


def rewrite_blocks(text: str, tag: str, render) -> str:
    """Replace what lies between ``<!-- TAG: SPEC -->`` and ``<!-- /TAG -->`` with ``render(SPEC)``."""
    pat = re.compile(rf"(<!-- {tag}: ([^>]*?) -->\n)(.*?)(<!-- /{tag} -->)", re.S)
    return pat.sub(lambda m: m.group(1) + render(m.group(2)) + m.group(4), text)


def select(df: pd.DataFrame, spec: str) -> pd.DataFrame:
    words = spec.split()
    if words == ["all"]:
        return df
    if words == ["area"]:
        return df[df["category"] == "area"]
    return df[df["model"].isin(words) & (df["category"] != "area")]


def block(df: pd.DataFrame, spec: str) -> str:
    from accelsim.validate import condensed, markdown, summary
    rows = select(df, spec)
    if rows.empty:
        raise SystemExit(f"doc_tables: no validation rows for '{spec}'")
    return markdown(condensed(rows)) + f"\n\n{summary(rows)} (`accelsim validate`).\n"


def rewrite(text: str, df: pd.DataFrame) -> str:
    return rewrite_blocks(text, "validate", lambda spec: block(df, spec))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", help="a validation.csv from `accelsim validate` (default: run it now)")
    ap.add_argument("--check", action="store_true", help="only report files that would change")
    a = ap.parse_args(argv)
    if a.csv:
        if not Path(a.csv).is_file():
            raise SystemExit(f"doc_tables: '{a.csv}' is not a validation.csv file")
        df = pd.read_csv(a.csv, keep_default_na=False, na_values=[""])
        df["unit"] = df["unit"].fillna("")
    else:
        from accelsim.validate import collect
        df = collect()
    stale = []
    for name in FILES:
        path = ROOT / name
        old = path.read_text()
        new = rewrite(old, df)
        if new != old:
            stale.append(name)
            if not a.check:
                path.write_text(new)
    if not a.check:
        from accelsim.validate import write_figure
        from accelsim.report.plots import STYLES, styled
        # a screen's resolution (120 dpi) keeps the committed PNG near 260 KB
        with styled(dataclasses.replace(STYLES["default"], dpi=120)):
            write_figure(df, ROOT / "docs" / "img", formats=("png",))
    print(("would change: " if a.check else "rewrote: ") + (", ".join(stale) or "nothing")
          + ("" if a.check else "; drew docs/img/validation.png"))
    return 1 if (a.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
