"""``accelsim codesign``: the search from the command line, with its table, JSON and plots."""
from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .arch import load_arch  # noqa: E402
from .codesign import evaluate, search  # noqa: E402
from .config import parse_value  # noqa: E402
from .errors import AccelsimError  # noqa: E402
from .paths import reports_dir  # noqa: E402
from .progress import Progress  # noqa: E402
from .table import render  # noqa: E402


def _configs(archs: list[str], params: list[str] | None) -> dict:
    axes = {}
    for item in params or []:
        if "=" not in item:
            raise AccelsimError(f"--param {item!r}: expected key=v1,v2,...")
        k, v = item.split("=", 1)
        axes[k.strip()] = [parse_value(x) for x in v.split(",") if x.strip()]
    out = {}
    for a in archs:
        base = load_arch(a)
        mine = {k: v for k, v in axes.items() if k in base.params_dict()}
        for combo in itertools.product(*mine.values()) if mine else [()]:
            over = dict(zip(mine, combo))
            label = base.name + ("[" + ",".join(f"{k}={v}" for k, v in over.items()) + "]" if over else "")
            out[label] = load_arch(a, over) if over else base
    unused = [k for k in axes if not any(k in c.params_dict() for c in out.values())]
    if unused:
        raise AccelsimError(f"--param {unused[0]}: no chosen architecture has that parameter")
    return out


def plot_front(plan, path: Path) -> Path:
    fr = plan.front
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    known = fr[fr["area_mm2"].notna()]
    unknown = fr[fr["area_mm2"].isna()]
    sc = ax.scatter(known["fidelity"], known["objective"], c=known["area_mm2"], cmap="viridis", s=16)
    if len(unknown):
        ax.scatter(unknown["fidelity"], unknown["objective"], color="grey", s=16, label="area not modelled")
    ch = fr[fr["chosen"]]
    ax.scatter(ch["fidelity"], ch["objective"], marker="*", s=220, color="red", label=f"chosen ({plan.config})")
    ax.set_xlabel("fidelity proxy (1 - MAC-weighted relative output error)")
    unit = {"latency": "latency (s)", "energy": "energy (pJ)", "edp": "energy x delay (pJ s)"}[plan.totals["objective"]]
    ax.set_ylabel(unit)
    ax.set_yscale("log")
    ax.set_title("co-design: Pareto plans per configuration")
    if len(known):
        fig.colorbar(sc, ax=ax, label="area (mm2)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    fig.savefig(path.with_suffix(".svg"))
    plt.close(fig)
    return path


#: each grid point simulates the whole workload: beyond this a search takes hours (and its fronts, memory)
MAX_EVALUATIONS = 5000


def _densities(text: str) -> list[float]:
    from .workload import check_density
    out = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            continue
        try:
            v = float(item)
        except ValueError:
            raise AccelsimError(f"--densities: '{item}' is not a number (e.g. 0.1,0.3,1.0)") from None
        out.append(check_density(v, "--densities"))
    if not out:
        raise AccelsimError("--densities: give at least one density in (0, 1], e.g. 0.1,0.3,1.0")
    return out


def cli(args) -> None:
    archs = _configs(args.arch, args.param)
    patterns = [p.strip() for p in args.patterns.split(",") if p.strip()]
    densities = _densities(args.densities)
    if not patterns:
        raise AccelsimError("--patterns: give at least one pattern, e.g. unstructured,nm:2:4")
    formats = [f.strip() for f in args.formats.split(",")] if args.formats else None
    layers = [x.strip() for x in args.layers.split(",")] if args.layers else None
    n = len(archs) * len(patterns) * len(densities)
    if n > MAX_EVALUATIONS:
        raise AccelsimError(f"the co-design grid has {n} (configuration, pattern, density) points, more than "
                            f"{MAX_EVALUATIONS}; give fewer --param values, patterns or densities")
    with Progress(n, "codesign") as bar:
        opts = evaluate(args.workload, archs, patterns, densities, formats, act_density=args.act_density,
                        seed=args.seed, layers=layers, progress=lambda s: bar.update(1, s))
    plan = search(opts, args.objective, args.max_area, args.min_fidelity,
                  None if args.max_storage_mb is None else args.max_storage_mb * 8 * 2**20)
    out = Path(args.output) if args.output else reports_dir() / "codesign" / Path(str(args.workload)).stem.replace(":", "_")
    out.mkdir(parents=True, exist_ok=True)
    plan.choices.to_csv(out / "plan.csv", index=False)
    plan.front.to_csv(out / "front.csv", index=False)
    (out / "plan.json").write_text(json.dumps({"totals": plan.totals, "exact": plan.exact,
                                               "layers": plan.choices.to_dict(orient="records")}, indent=1,
                                              default=float))
    png = plot_front(plan, out / "front.png")
    if args.json:
        sys.stdout.write((out / "plan.json").read_text() + "\n")
        return
    print(render(plan.choices, ["layer", "pattern", "density", "format", "latency_s", "energy_pj", "rel_error",
                                "storage_bits"]))
    t = plan.totals
    edp = f"edp {t['objective_value']:.4g} pJ s, " if args.objective == "edp" else ""   # else it is printed below
    print(f"\nconfiguration {t['config']} (minimum {args.objective}): {edp}latency {t['latency_s']:.4g} s, "
          f"energy {t['energy_pj']:.4g} pJ, fidelity {t['fidelity']:.4f}, storage {t['storage_bits'] / 8 / 2**20:.3f} "
          f"MiB, area {t['area_mm2']:.3g} mm2" + ("" if plan.exact else " (front thinned: near-optimal)"))
    print(f"written to {out} (plan.csv, plan.json, front.csv, {png.name})", file=sys.stderr)
