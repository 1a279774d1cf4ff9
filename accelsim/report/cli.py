"""``accelsim plot`` and ``accelsim report``: outputs go under ``-o`` or ``./reports/``, never the installation."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import AccelsimError
from ..io import read_frame
from ..paths import reports_dir
from .plots import PLOT_ALIASES, RESULT_PLOTS, axis_figure, check_formats, plot_results
from .report import write_report


def _name(results: str) -> str:
    p = Path(results)
    return (p.resolve().name if p.is_dir() else p.stem) or "results"


def plot_cli(args) -> None:
    df = read_frame(args.results)
    if df.empty:
        raise AccelsimError(f"{args.results}: no result rows to plot")
    formats = check_formats(getattr(args, "format", None) or "png,svg,pdf")
    style = getattr(args, "style", None) or "default"
    out = Path(args.output) if args.output else reports_dir() / "plots" / _name(args.results)
    x = getattr(args, "x", None)
    if x:
        paths = axis_figure(df, out, x, getattr(args, "series", None), getattr(args, "y", None), style=style,
                            formats=formats)
    else:
        if getattr(args, "series", None) or getattr(args, "y", None):
            raise AccelsimError("--series and --y go with --x (the axis to plot against)")
        kinds = None if args.kind == "all" else [k.strip() for k in args.kind.split(",") if k.strip()]
        for k in kinds or []:
            if k not in RESULT_PLOTS and k not in PLOT_ALIASES:
                raise AccelsimError(f"unknown plot kind '{k}' (kinds: all, {', '.join(RESULT_PLOTS)})")
        paths = plot_results(df, out, kinds, style=style, formats=formats)
    if not paths:
        raise AccelsimError("nothing to plot: the table lacks the columns these plots need")
    for p in paths:
        print(p)


def report_cli(args) -> None:
    df = read_frame(args.results)
    name = _name(args.results)
    out = Path(args.output).parent if args.output else reports_dir() / name
    path = write_report(df, out, title=f"accelsim report: {name}",
                        filename=Path(args.output).name if args.output else "report.html")
    print(f"report: {path}", file=sys.stderr)
