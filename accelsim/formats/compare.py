"""Comparing formats: per layer of a trace, or for one shape over densities.

``compare_formats(trace)`` measures every layer's weights (or inputs) in every
format with the exact accounting of :meth:`Format.measure` (the same numbers
as ``encode``, without building the stored arrays); ``compare_shape`` does
the same for seeded uniform random tensors of one shape, or gives the
analytic expectation (``analytic=True``). Both return long DataFrames, one
row per (layer or density, format):

``layer, op, shape, elements, format, spec, density, sparsity, nnz, value_width,
value_bits, metadata_bits, padding_entries, total_bits, bits_per_element,
ratio_to_dense, best, error``

``ratio_to_dense`` is against dense storage at the same value width; ``best``
marks the smallest format of the layer (or density). A format that cannot
store a tensor (``nm`` on an unstructured layer) has NaN sizes and says why
in ``error``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import AccelsimError, FormatError
from .spec import FormatSpec, resolve_formats

#: default comparison set for traces (nm:2:4 shows '-' on unstructured layers)
DEFAULT_FORMATS = [
    FormatSpec("dense"),
    FormatSpec("bitmap"),
    FormatSpec("coo"),
    FormatSpec("rle", {"run_bits": 4}, "rle4"),
    FormatSpec("rle", {"run_bits": 8}, "rle8"),
    FormatSpec("zero_padded_delta", {"delta_bits": 4}, "zpd4"),
    FormatSpec("csr"),
    FormatSpec("csc"),
    FormatSpec("csc", {"index_mode": "relative", "index_bits": 4}, "csc_rel4"),
    FormatSpec("bcsr", {"block": (4, 4)}, "bcsr4x4"),
    FormatSpec("nm", {"n": 2, "m": 4}, "nm2:4"),
    FormatSpec("strided"),
    FormatSpec("ranks", {"ranks": "B,B"}, "B,B"),
]
#: for random tensors of a shape: the same set without nm (random masks are never N:M)
DEFAULT_SHAPE_FORMATS = [s for s in DEFAULT_FORMATS if s.name != "nm"]

#: exact comparisons of a shape allocate a boolean mask; refuse beyond this many elements
MAX_SHAPE_ELEMENTS = 1 << 30

COLUMNS = ["layer", "op", "shape", "elements", "format", "spec", "density", "sparsity", "nnz", "value_width",
           "value_bits", "metadata_bits", "padding_entries", "total_bits", "bits_per_element", "ratio_to_dense",
           "best", "error"]


def _specs(formats, default) -> list[FormatSpec]:
    return list(default) if formats is None else resolve_formats(formats)


def _check_value_bits(value_bits) -> int:
    if isinstance(value_bits, bool) or not isinstance(value_bits, (int, np.integer)) or not 1 <= value_bits <= 64:
        raise FormatError(f"value bits must be an integer in 1..64, got {value_bits!r}")
    return int(value_bits)


def _row(layer, op, shape, spec: FormatSpec, value_bits, density, result=None, error=None) -> dict:
    n = int(np.prod(shape))
    row = {"layer": layer, "op": op, "shape": "x".join(map(str, shape)), "elements": n, "format": spec.title,
           "spec": spec.text(), "density": float(density), "sparsity": round(1.0 - float(density), 12), "value_width": value_bits}
    if result is None:
        row.update(nnz=np.nan, value_bits=np.nan, metadata_bits=np.nan, padding_entries=np.nan, total_bits=np.nan,
                   error=error)
    else:
        row.update(nnz=result.nnz, value_bits=result.value_bits, metadata_bits=result.metadata_bits,
                   padding_entries=result.padding_entries, total_bits=result.total_bits, error=None)
    row["bits_per_element"] = row["total_bits"] / n
    row["ratio_to_dense"] = row["total_bits"] / (n * value_bits)
    return row


def _measure_all(mask, specs, encoders, layer, op, value_bits, density) -> list[dict]:
    rows = []
    for spec, enc in zip(specs, encoders):
        try:
            rows.append(_row(layer, op, mask.shape, spec, value_bits, density, enc.measure(mask)))
        except FormatError as e:
            rows.append(_row(layer, op, mask.shape, spec, value_bits, density, error=str(e)))
    return rows


def _finish(rows: list[dict], keys: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for c in ("nnz", "value_bits", "metadata_bits", "padding_entries", "total_bits"):
        df[c] = df[c].astype("float64")
    smallest = df.groupby(keys, sort=False)["total_bits"].transform("min")
    df["best"] = df["total_bits"].eq(smallest) & df["total_bits"].notna()
    return df[COLUMNS]


def operand_tensor(lt, operand: str) -> np.ndarray:
    """The tensor a layer stores: ``weight`` (M x K) or ``input`` (its native layout)."""
    if operand == "weight":
        return lt.weight
    if operand == "input":
        return lt.input
    raise FormatError(f"operand must be 'weight' or 'input', got {operand!r}")


def compare_formats(trace, formats=None, value_bits: int = 16, operand: str = "weight") -> pd.DataFrame:
    """Exact bits of every layer of *trace* in every format (long rows; see the module docstring).

    *formats*: None (the default set), a spec string (``"dense,rle:run_bits=8,ranks:UOP,CP"``),
    a YAML file path, or a list of specs (strings or ``{name:, label:, params...}`` mappings).
    """
    value_bits = _check_value_bits(value_bits)
    specs = _specs(formats, DEFAULT_FORMATS)
    encoders = [s.build(value_bits) for s in specs]
    rows: list[dict] = []
    for lt in trace.layers:
        t = np.asarray(operand_tensor(lt, operand))
        mask = t != 0
        density = float(np.count_nonzero(mask)) / mask.size
        rows += _measure_all(mask, specs, encoders, lt.name, lt.layer.op, value_bits, density)
    if not rows:
        raise AccelsimError("the trace has no layers to compare")
    return _finish(rows, ["layer"])


def random_mask(shape: tuple[int, ...], density: float, seed: int = 0) -> np.ndarray:
    """A seeded i.i.d. Bernoulli(*density*) mask, drawn in chunks (no float array of the full size).

    The stream depends on (seed, density) only, so a density gives the same mask in any list."""
    n = int(np.prod(shape))
    rng = np.random.default_rng([int(seed), int(round(float(density) * 2**40))])
    out = np.empty(n, dtype=bool)
    chunk = 1 << 22
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        out[lo:hi] = rng.random(hi - lo) < density
    return out.reshape(shape)


def parse_shape(text) -> tuple[int, ...]:
    """``"10000x10000"`` -> (10000, 10000)."""
    if isinstance(text, (tuple, list)):
        parts = list(text)
    else:
        parts = [p for p in str(text).lower().replace("*", "x").split("x")]
    try:
        shape = tuple(int(float(p)) if str(p).strip() else -1 for p in parts)
        ok = all(float(p) == int(float(p)) for p in parts)
    except ValueError:
        shape, ok = (), False
    if not shape or not ok or min(shape) < 1:
        raise FormatError(f"shape must look like ROWSxCOLS with positive integers, got {text!r}")
    return shape


def parse_densities(text) -> list[float]:
    if isinstance(text, (list, tuple, np.ndarray)):
        vals = [float(v) for v in text]
    else:
        try:
            vals = [float(v) for v in str(text).split(",") if v.strip()]
        except ValueError:
            raise FormatError(f"densities must be comma-separated numbers, got {text!r}") from None
    if not vals:
        raise FormatError("give at least one density")
    for v in vals:
        if not 0.0 <= v <= 1.0:
            raise FormatError(f"densities must lie in [0, 1], got {v:g}")
    return vals


def compare_shape(shape, densities, value_bits: int = 16, formats=None, analytic: bool = False,
                  seed: int = 0) -> pd.DataFrame:
    """Bits of a tensor of *shape* at each density in every format: exact on seeded uniform random
    masks, or the analytic expectation (``analytic=True``)."""
    shape = parse_shape(shape)
    densities = parse_densities(densities)
    value_bits = _check_value_bits(value_bits)
    specs = _specs(formats, DEFAULT_SHAPE_FORMATS)
    encoders = [s.build(value_bits) for s in specs]
    n = int(np.prod(shape))
    label = "x".join(map(str, shape))
    if not analytic and n > MAX_SHAPE_ELEMENTS:
        raise FormatError(f"shape {label} has {n:.3g} elements, more than the {MAX_SHAPE_ELEMENTS:.3g} an exact "
                          "comparison will allocate; use --analytic")
    rows: list[dict] = []
    for d in densities:
        if analytic:
            for spec, enc in zip(specs, encoders):
                try:
                    rows.append(_row(label, "random", shape, spec, value_bits, d, enc.expected(shape, d)))
                except FormatError as e:
                    rows.append(_row(label, "random", shape, spec, value_bits, d, error=str(e)))
        else:
            rows += _measure_all(random_mask(shape, d, seed), specs, encoders, label, "random", value_bits, d)
    df = _finish(rows, ["layer", "density"])
    df["mode"] = "analytic" if analytic else "exact"
    return df


# ---- presentation --------------------------------------------------------------------------------------

def wide(df: pd.DataFrame) -> pd.DataFrame:
    """One row per layer (or density): total bits of each format, the best one and its ratio to dense."""
    keys = ["layer", "density"]
    order = list(dict.fromkeys(df["format"]))
    table = df.pivot(index=keys, columns="format", values="total_bits").reindex(columns=order).reset_index()
    table.columns.name = None
    out = df[keys].drop_duplicates().merge(table, on=keys, how="left")
    best = df[df["best"]].drop_duplicates(keys)[keys + ["format", "ratio_to_dense"]]
    best = best.rename(columns={"format": "best", "ratio_to_dense": "best/dense"})
    out = out.merge(best, on=keys, how="left")
    for c in order:
        out[c] = out[c].astype("float64")
    return out


def totals(df: pd.DataFrame) -> pd.DataFrame:
    """Per format: bits summed over layers, the ratio to dense, and the layers where it is best."""
    g = df.groupby("format", sort=False)
    out = pd.DataFrame({
        "total_bits": g["total_bits"].sum(min_count=1),
        "value_bits": g["value_bits"].sum(min_count=1),
        "metadata_bits": g["metadata_bits"].sum(min_count=1),
        "dense_bits": g.apply(lambda x: float((x["elements"] * x["value_width"]).sum()), include_groups=False),
        "layers_best": g["best"].sum(),
        "layers_failed": g["error"].apply(lambda e: int(e.notna().sum())),
    })
    out.loc[out["layers_failed"] > 0, "total_bits"] = np.nan
    out["ratio_to_dense"] = out["total_bits"] / out["dense_bits"]
    return out.reset_index()[["format", "total_bits", "value_bits", "metadata_bits", "ratio_to_dense",
                              "layers_best", "layers_failed"]]


def cli(args) -> None:
    """``accelsim formats``: see docs/formats.md."""
    from ..io import rows_json, write_frame
    from ..table import render

    if args.shape and (args.workload or args.trace):
        raise FormatError("give either --shape or --workload/--trace, not both")
    formats = args.formats
    if args.shape:
        if args.density is not None:
            raise FormatError("with --shape give --densities (a list), not --density")
        df = compare_shape(args.shape, args.densities or "0.95,0.5,0.05", args.value_bits, formats,
                           analytic=args.analytic, seed=args.seed)
    else:
        if args.densities:
            raise FormatError("--densities goes with --shape; for a workload use --density or --profile")
        if args.analytic:
            raise FormatError("--analytic goes with --shape; a trace is always measured exactly")
        if not args.workload and not args.trace:
            raise FormatError("give --workload, --trace or --shape")
        from ..api import build_trace
        layers = [s.strip() for s in args.layers.split(",") if s.strip()] if args.layers else None
        if args.seed < 0:
            raise FormatError("--seed must be >= 0")
        tr = build_trace(args.workload, args.trace, layers=layers, pattern=args.pattern, density=args.density,
                         profile=args.profile, act_density=args.act_density, seed=args.seed,
                         clustered=getattr(args, "clustered", False))
        df = compare_formats(tr, formats, args.value_bits, operand=getattr(args, "operand", "weight"))
    if args.plot:
        from .plot import plot_storage
        title = (f"{args.shape} tensor, {args.value_bits}-bit values" if args.shape
                 else f"{args.workload or Path(args.trace).name}: {getattr(args, 'operand', 'weight')} storage")
        path = plot_storage(df, args.plot, title)
        print(f"wrote {path}", file=sys.stderr)
    if args.output:
        path = write_frame(df, args.output)
        print(f"wrote {len(df)} rows to {path}", file=sys.stderr)
    if args.json:
        sys.stdout.write(rows_json(df) + "\n")
    elif not args.output:
        w = wide(df)
        if args.shape:
            w = w.drop(columns=["layer"])
        print(f"storage in bits (values + metadata, {args.value_bits}-bit values); best: the fewest bits; "
              "best/dense: its bits over dense")
        print(render(w))
        if not args.shape:
            print()
            print("per format, summed over the layers")
            print(render(totals(df)))
        failed = df[df["error"].notna()].drop_duplicates("format")
        for _, r in failed.iterrows():
            print(f"note: {r['format']}: {r['error']}", file=sys.stderr)
