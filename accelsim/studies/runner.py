"""``accelsim study NAME``: run a paper's study module, write its tables and plots."""
from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from .. import studies
from ..errors import AccelsimError
from ..io import write_frame
from ..paths import reports_dir


def list_studies() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(studies.__path__) if m.name not in ("runner",)
                  and not m.name.startswith("_"))


def run_study(name: str, outdir: Path, quick: bool = False) -> tuple[dict, list[Path]]:
    if name not in list_studies():
        raise AccelsimError(f"unknown study '{name}' (studies: {', '.join(list_studies())})")
    mod = importlib.import_module(f"{studies.__name__}.{name}")
    frames = mod.run(quick=quick)
    outdir.mkdir(parents=True, exist_ok=True)
    for key, df in frames.items():
        write_frame(df, outdir / f"{key}.csv")
    paths = list(mod.plot(frames, outdir))
    return frames, paths


def cli(args) -> None:
    if not args.name:
        for n in list_studies():
            mod = importlib.import_module(f"{studies.__name__}.{n}")
            doc = (mod.__doc__ or "").strip().splitlines()
            print(f"{n:20s} {doc[0] if doc else ''}")
        return
    out = Path(args.output) if args.output else reports_dir() / "studies" / args.name
    frames, paths = run_study(args.name, out, args.quick)
    for k, df in frames.items():
        print(f"{out / (k + '.csv')}  ({len(df)} rows)")
    for p in paths:
        print(p)
    print(f"study '{args.name}' written to {out}", file=sys.stderr)
