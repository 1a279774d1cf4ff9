"""``accelsim sweep``: run a spec, or tell where a sweep stands."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import AccelsimError
from ..paths import reports_dir
from ..results import network_totals
from ..table import render
from .run import run_sweep, status
from .spec import load_spec
from .store import load_results


def cli(args) -> None:
    if args.status:
        st = status(args.status)
        print(f"sweep '{st['name']}': {st['done']} done, {st['failed']} failed, {st['remaining']} remaining "
              f"of {st['total']}")
        for k, e in list(st["errors"].items())[:10]:
            print(f"  failed {k}: {e}")
        for name, why in st["bad_files"].items():
            print(f"  bad file {name}: {why} (set aside and recomputed on resume)")
        return
    if not args.spec:
        raise AccelsimError("give a sweep spec (SPEC.yaml) or --status DIR")
    spec = load_spec(args.spec)
    out = Path(args.output) if args.output else reports_dir() / "sweeps" / Path(args.spec).stem
    print(f"sweep '{spec.name}': {len(spec.points)} points, {len(spec.by_recipe())} traces -> {out}", file=sys.stderr)
    res = run_sweep(spec, out, executor=args.executor, workers=args.workers)
    print(f"done in {res.seconds:.1f} s: {res.done} new, {res.skipped} already done, {res.failed} failed",
          file=sys.stderr)
    df = load_results(out)
    for note in df.attrs.get("notes", []):
        print(f"note: {note}", file=sys.stderr)
    if not df.empty:
        tot = network_totals(df, by=["arch_label", "sweep_density", "sweep_act_density", "profile", "seed"])
        cols = ["arch_label", "workload", "pattern", "sweep_density", "sweep_act_density", "seed", "cycles",
                "latency_s", "energy_pj", "load_balance"]
        print(render(tot, cols, max_rows=60))
    if res.failed:
        # a distinct status: the sweep ran, but not every point (scripts must not take it for success)
        raise SweepFailed(f"{res.failed} of {res.total} point(s) failed: accelsim sweep --status {out}")


class SweepFailed(AccelsimError):
    """Some points of a sweep failed (exit status 3)."""
    exit_code = 3
