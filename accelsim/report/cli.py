"""``accelsim plot`` and ``accelsim report``."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import AccelsimError
from ..io import read_frame
from ..paths import reports_dir
from .plots import RESULT_PLOTS, plot_results
from .report import write_report


def plot_cli(args) -> None:
    df = read_frame(args.results)
    kinds = None if args.kind == "all" else args.kind.split(",")
    for k in kinds or []:
        if k not in RESULT_PLOTS:
            raise AccelsimError(f"unknown plot kind '{k}' (kinds: all, {', '.join(RESULT_PLOTS)})")
    out = Path(args.output) if args.output else reports_dir() / "plots" / Path(args.results).stem
    paths = plot_results(df, out, kinds)
    if not paths:
        raise AccelsimError("nothing to plot: the table lacks the columns these plots need")
    for p in paths:
        if p.suffix == ".png":
            print(p)


def report_cli(args) -> None:
    df = read_frame(args.results)
    src = Path(args.results)
    out = Path(args.output).parent if args.output else reports_dir() / src.stem
    path = write_report(df, out, title=f"accelsim report: {src.name}")
    if args.output and Path(args.output).name != "report.html":
        path = path.replace(Path(args.output))
    print(f"report: {path}", file=sys.stderr)
