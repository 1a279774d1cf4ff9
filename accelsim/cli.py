"""The command line: a thin front over the Python API.

Every user error prints one line on standard error and exits with status 2.
"""
from __future__ import annotations

import argparse
import sys


from . import __version__
from .errors import AccelsimError

RUN_COLUMNS = ["layer", "op", "M", "N", "K", "weight_density", "act_density", "cycles", "stall_cycles",
               "latency_s", "energy_pj", "utilization", "load_balance"]


class ArgError(AccelsimError):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would exit 2 with usage; keep it to one line
        raise ArgError(f"{self.prog}: {message}")


def _density(text: str) -> float:
    from .workload import check_density
    try:
        v = float(text)
    except ValueError:
        raise ArgError(f"density must be a number, got {text!r}") from None
    return check_density(v)


def _layers(text: str | None):
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


def _add_trace_args(p: argparse.ArgumentParser, workload_required: bool = False) -> None:
    p.add_argument("--workload", "-w", required=workload_required,
                   help="shipped name, YAML file, or gemm:MxNxK")
    p.add_argument("--trace", help="a .npz trace to use instead of a synthetic one")
    p.add_argument("--layers", help="comma-separated layer names")
    p.add_argument("--pattern", default="unstructured", help="unstructured|random|block:BHxBW|nm:N:M|channel|balanced:G|dense")
    p.add_argument("--density", type=_density, help="weight density to keep, in (0, 1]")
    p.add_argument("--profile", help="a named density profile of the workload (e.g. han2015), uniform or erk")
    p.add_argument("--act-density", type=_density, help="input activation density, in (0, 1]")
    p.add_argument("--clustered", action="store_true", help="spatially clustered activation zeros")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (same seed, same numbers)")
    p.add_argument("--phase", choices=["prefill", "decode", "encode"],
                   help="transformer workloads: prefill (the prompt's GEMMs) or decode (one token, KV cache)")
    p.add_argument("--seq-len", type=int, help="transformer workloads: tokens per sequence (prompt length)")
    p.add_argument("--kv-len", type=int, help="transformer decode: tokens already in the KV cache")
    p.add_argument("--input-shape", action="append", metavar="NAME=D1xD2x...",
                   help="an ONNX --workload's input with symbolic dimensions, e.g. x=1x3x640x640 (repeatable)")
    p.add_argument("--inputs", metavar="FILE.npz", help="an ONNX --workload's real inputs (arrays by input name)")
    p.add_argument("--batch", type=int, help="the batch of any workload (conv/fc/lstm N, attention repeats; an ONNX "
                                             "graph's symbolic leading dimension; a Hugging Face model's sequences)")


def _workload_arg(args):
    """The --workload string with the transformer parameters given as options folded in (NAME[k=v,...])."""
    wl = args.workload
    params = {k: getattr(args, k, None) for k in ("phase", "seq_len", "kv_len", "batch")}
    params = {k: v for k, v in params.items() if v is not None}
    for item in getattr(args, "input_shape", None) or []:     # an ONNX graph's symbolic inputs (issue 18)
        name, sep, shape = item.rpartition("=")
        if not sep or not name:
            raise ArgError(f"--input-shape takes NAME=D1xD2x..., e.g. x=1x3x640x640; got '{item}'")
        params[name] = shape
    if getattr(args, "inputs", None):
        params["inputs"] = args.inputs
    if not params:
        return wl
    if not wl:
        raise ArgError("--phase, --seq-len, --kv-len, --batch, --input-shape and --inputs apply to a --workload")
    from .workload.transformer import label, split_params
    name, inline = split_params(wl)
    return label(name, {**inline, **params})


def _check_trace_file(path: str) -> None:
    """A PyTorch or other checkpoint given as a trace gets a hint, not "corrupt .npz"."""
    from pathlib import Path
    suffix = Path(path).suffix.lower()
    if suffix in (".pt", ".pth", ".bin", ".ckpt", ".safetensors", ".onnx", ".h5"):
        raise ArgError(f"{path}: a trace is a .npz of arrays (L.weight, optionally L.input), not a {suffix} "
                       f"model file; export the tensors with numpy.savez, or capture a trace from a model "
                       f"with `accelsim trace capture` (see docs/real_traces.md)")


def _trace_from(args, statistical: bool | None = False):
    from .api import plan_trace
    if args.seed < 0:
        raise ArgError("--seed must be >= 0")
    if not args.workload and not args.trace:
        raise ArgError("give --workload or --trace")
    if args.trace:
        _check_trace_file(args.trace)
    tr, note = plan_trace(_workload_arg(args), args.trace, layers=_layers(args.layers), pattern=args.pattern,
                          density=args.density, profile=args.profile, act_density=args.act_density,
                          seed=args.seed, clustered=args.clustered, statistical=statistical)
    if note:
        print(note, file=sys.stderr)
    return tr


def _emit(df, args, columns) -> None:
    from .io import rows_json, write_frame
    from .table import render
    if getattr(args, "output", None):
        path = write_frame(df, args.output)
        print(f"wrote {len(df)} rows to {path}", file=sys.stderr)
    if args.json:
        sys.stdout.write(rows_json(df) + "\n")
    elif not getattr(args, "output", None):
        print(render(df, columns))


# ---- commands ---------------------------------------------------------------------------------------------

def cmd_list(args) -> None:
    from . import list_archs, list_formats, list_models, list_workloads
    from .traces import PATTERNS
    if args.what == "archs":
        from .arch import load_arch
        for name in list_archs():
            cfg = load_arch(name)
            print(f"{name:20s} {cfg.model:18s} {cfg.description}")
        print("\nmodels: " + ", ".join(list_models()))
    elif args.what == "models":
        for n, d in list_models().items():
            print(f"{n:20s} {d}")
    elif args.what == "workloads":
        from .workload import load_workload
        for n in list_workloads():
            wl = load_workload(n)
            print(f"{n:16s} {len(wl.layers):4d} layers  {wl.total_weights / 1e6:9.2f} M weights  "
                  f"{wl.total_macs / 1e9:8.3f} G MACs  profiles: {', '.join(wl.profile_names())}")
    elif args.what == "formats":
        for n, d in list_formats().items():
            print(f"{n:20s} {d}")
    else:
        for n, d in PATTERNS.items():
            print(f"{n:20s} {d}")


def cmd_run(args) -> None:
    from .api import simulate_trace
    from .arch import load_arch
    from .config import parse_overrides
    from .progress import Progress
    from .results import network_totals, to_frame
    from .table import render
    cfg = load_arch(args.arch, parse_overrides(args.set))
    tr = _trace_from(args, statistical=True if args.statistical else None)
    with Progress(len(tr), f"{cfg.name}") as bar:
        rows = simulate_trace(cfg, tr, progress=lambda name: bar.update(1, name))
    df = to_frame(rows)
    extra = [c for c in df.columns if c not in RUN_COLUMNS and c in (args.columns or "").split(",")]
    _emit(df, args, RUN_COLUMNS + extra)
    if not args.json and not args.output:
        # one network total per run: non-prunable layers (attention) carry pattern "dense" per layer
        tot = network_totals(df.assign(pattern=tr.provenance.get("pattern") or args.pattern))
        print()
        print(render(tot, ["config", "workload", "layers", "cycles", "latency_s", "energy_pj", "macs_dense",
                           "macs_performed", "dram_bytes", "load_balance"]))


def cmd_trace(args) -> None:
    from .traces import detect_pattern, load_trace, save_trace
    if args.action == "make":
        if not args.output:
            raise ArgError("trace make needs -o FILE.npz")
        tr = _trace_from(args)
        path = save_trace(tr, args.output)
        print(f"wrote {len(tr)} layers to {path}", file=sys.stderr)
    elif args.action == "inspect":
        from .table import render
        import pandas as pd
        from .workload import load_workload
        wl = load_workload(args.workload) if args.workload else None
        _check_trace_file(args.file)
        tr = load_trace(args.file, wl)
        rows = [{"layer": lt.name, "op": lt.layer.op, "weight": "x".join(map(str, lt.weight.shape)),
                 "input": "x".join(map(str, lt.input.shape)), "weight_density": lt.weight_density,
                 "act_density": lt.act_density, "pattern": detect_pattern(lt.weight)} for lt in tr.layers]
        df = pd.DataFrame(rows)
        if args.json:
            from .io import rows_json
            print(rows_json(df))
        else:
            print(f"trace of '{tr.workload}': " + ", ".join(f"{k}={v}" for k, v in tr.provenance.items() if v is not None))
            print(render(df))
    else:
        from .traces import capture
        capture.cli(args)


def cmd_formats(args) -> None:
    from .formats.compare import cli as formats_cli
    formats_cli(args)


def cmd_sweep(args) -> None:
    from .sweep.cli import cli as sweep_cli
    sweep_cli(args)


def cmd_plot(args) -> None:
    from .report.cli import plot_cli
    plot_cli(args)


def cmd_report(args) -> None:
    from .report.cli import report_cli
    report_cli(args)


def cmd_demo(args) -> None:
    from .report.demo import demo_cli
    demo_cli(args)


def cmd_study(args) -> None:
    from .studies.runner import cli as study_cli
    study_cli(args)


def cmd_codesign(args) -> None:
    from .codesign_cli import cli as codesign_cli
    codesign_cli(args)


def cmd_validate(args) -> None:
    from .validate import cli as validate_cli
    validate_cli(args)


def cmd_bench(args) -> None:
    from .bench import cli as bench_cli
    bench_cli(args)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="accelsim", description="Cycle-approximate simulator and co-design kit for sparse DNN accelerators")
    p.add_argument("--version", action="version", version=f"accelsim {__version__}")
    p.add_argument("--max-memory", metavar="SIZE",
                   help="memory budget, e.g. 8G (default: half of physical memory; env ACCELSIM_MAX_MEMORY): "
                        "a trace or workload estimated above it is refused or run statistically")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("list", help="list shipped archs, models, workloads, formats or patterns")
    s.add_argument("what", choices=["archs", "models", "workloads", "formats", "patterns"],
                   help="what to list: shipped arch configs, models, workloads, storage formats or pruning patterns")
    s.set_defaults(fn=cmd_list)

    s = sub.add_parser("run", help="simulate a workload or trace on one architecture")
    s.add_argument("--arch", "-a", required=True, help="shipped config name, model name, or YAML file")
    _add_trace_args(s)
    s.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a params: key of the arch config (repeatable); the run's config label shows it, "
                        "e.g. systolic[rows=32,cols=32]")
    s.add_argument("--json", action="store_true", help="print only a JSON list of result rows")
    s.add_argument("-o", "--output", help="write rows to .csv, .parquet or .json")
    s.add_argument("--columns", help="extra model columns to show in the table (comma-separated)")
    s.add_argument("--statistical", action="store_true",
                   help="expected values from shapes and densities, no tensors (any size; chosen automatically "
                        "when a trace would be too large)")
    s.set_defaults(fn=cmd_run)

    s = sub.add_parser("trace", help="make, inspect or capture traces")
    tsub = s.add_subparsers(dest="action", required=True, parser_class=_Parser)
    t = tsub.add_parser("make", help="a synthetic pruned trace of a workload")
    _add_trace_args(t, workload_required=True)
    t.add_argument("-o", "--output", required=True, help="the .npz file to write")
    t.set_defaults(fn=cmd_trace)
    t = tsub.add_parser("inspect", help="per-layer shapes, densities and patterns of a trace")
    t.add_argument("file", help="a .npz trace (accelsim's, or L.weight / L.input arrays of your own)")
    t.add_argument("--workload", "-w", help="check the trace against this workload's layer shapes")
    t.add_argument("--json", action="store_true", help="print only a JSON list of rows")
    t.set_defaults(fn=cmd_trace)
    t = tsub.add_parser("capture", help="a trace of a real network: its weights pruned, its activations measured "
                                        "in onnxruntime, its fidelity (see docs/real_traces.md)")
    t.add_argument("--model", required=True,
                   help="FILE.onnx, a Hugging Face directory (config.json + *.safetensors), a trace .npz to prune "
                        "again, or a shipped model (minilm, efficientnet-lite0, silero-vad)")
    t.add_argument("--input-shape", action="append", metavar="NAME=D1xD2x...",
                   help="the shape of an ONNX input with symbolic dimensions, e.g. x=1x3x640x640 (repeatable)")
    t.add_argument("--inputs", metavar="FILE.npz",
                   help="real inputs: an .npz of arrays named as the graph's inputs (default: a seeded synthetic "
                        "input, see docs/real_traces.md)")
    t.add_argument("--batch", type=int, help="the batch: an ONNX graph's symbolic leading dimension, or a Hugging "
                                             "Face model's number of sequences")
    t.add_argument("--seq-len", type=int, help="Hugging Face models: tokens per sequence (default min(positions, "
                                               "128))")
    t.add_argument("--pattern", default="dense",
                   help="unstructured|unstructured:global|random|block:BHxBW|nm:N:M|channel|balanced:G|dense "
                        "(--density alone means unstructured)")
    t.add_argument("--density", type=_density, help="weight density to keep in every prunable layer, in (0, 1]")
    t.add_argument("--profile", help="a density profile instead of one density: uniform, or erk (with --density)")
    t.add_argument("--layers", help="comma-separated layer names to keep in the trace (all run)")
    t.add_argument("--record-limit", type=int, metavar="ELEMENTS",
                   help="keep a layer's input values up to this many elements (default 67108864); above it, its "
                        "measured density and a stand-in drawn at that density")
    t.add_argument("--seed", type=int, default=0, help="seed of the synthetic input and the random pattern")
    t.add_argument("-o", "--output", required=True, help="the trace file to write (.npz)")
    t.set_defaults(fn=cmd_trace)

    s = sub.add_parser("formats", help="compare sparse formats per layer, or for a shape and densities")
    _add_trace_args(s)
    s.add_argument("--shape", help="ROWSxCOLS: compare formats on random tensors of this shape")
    s.add_argument("--densities", help="comma-separated densities for --shape (default 0.95,0.5,0.05)")
    s.add_argument("--value-bits", type=int, default=16, help="bits per stored value (default 16)")
    s.add_argument("--formats", help="format specs, e.g. dense,rle:run_bits=8,ranks:UOP,RLE4, or a YAML file "
                                     "(default: a standard set; see docs/formats.md)")
    s.add_argument("--operand", choices=["weight", "input"], default="weight",
                   help="which tensor of each layer to store (default weight)")
    s.add_argument("--analytic", action="store_true", help="expected sizes for uniform random sparsity (--shape)")
    s.add_argument("--plot", help="write a storage-vs-sparsity plot here (PNG or SVG)")
    s.add_argument("--json", action="store_true", help="print only a JSON list of rows")
    s.add_argument("-o", "--output", help="write rows to .csv, .parquet or .json")
    s.set_defaults(fn=cmd_formats)

    s = sub.add_parser("sweep", help="run a sweep spec (parallel, resumable)")
    s.add_argument("spec", nargs="?", help="the sweep spec (YAML); files it names are found beside it")
    s.add_argument("-o", "--output", help="result directory (default ./reports/sweeps/SPEC)")
    s.add_argument("--executor", default="processes", help="serial | processes | dask | dask://HOST:PORT")
    s.add_argument("--workers", type=int, help="worker processes (default: every core)")
    s.add_argument("--status", metavar="DIR", help="report done/failed/remaining points of a sweep directory")
    s.set_defaults(fn=cmd_sweep)

    s = sub.add_parser("plot", help="figures from a results file or sweep directory (PNG, SVG, PDF)",
                       description="Without --x: every standard figure (each swept axis, roofline, cycle account, "
                                   "energy, load balance, ...). With --x: one figure of --y against a swept axis, "
                                   "one line per value of --series.")
    s.add_argument("results", help="a sweep directory, or a .csv/.parquet/.json file of result rows")
    s.add_argument("--x", metavar="PARAM", help="the x axis: a swept parameter (pes, fifo_depth, ...), density, "
                                                "act_density, pattern, workload, design, layer")
    s.add_argument("--series", metavar="PARAM", help="one line per value of this axis (default: the other swept "
                                                     "axis, if there is one)")
    s.add_argument("--y", metavar="METRIC", help="what to plot: latency, energy, cycles, edp, utilization, "
                                                 "load_balance, dram_bytes, area_mm2 or any numeric column "
                                                 "(default: latency and energy, one panel each)")
    s.add_argument("--style", choices=["default", "paper"], default="default",
                   help="paper: one column wide (3.5 in), serif at 8 pt, vector output")
    s.add_argument("--format", default="png,svg,pdf", metavar="png|svg|pdf",
                   help="comma-separated image formats to write (default png,svg,pdf)")
    s.add_argument("--kind", default="all", help="without --x: which standard figures (comma-separated: all, "
                                                 "axes, speedup, pareto, roofline, losses, energy, balance, "
                                                 "fidelity)")
    s.add_argument("-o", "--output", help="directory for the images (default ./reports/plots/NAME)")
    s.set_defaults(fn=cmd_plot)

    s = sub.add_parser("report", help="a self-contained HTML report of a sweep directory or results file")
    s.add_argument("results", help="a sweep directory, or a .csv/.parquet/.json file of result rows")
    s.add_argument("-o", "--output", help="HTML file (default ./reports/NAME/report.html); figures go beside it")
    s.set_defaults(fn=cmd_report)

    s = sub.add_parser("demo", help="the main job: every model on pruned workloads, with the report")
    s.add_argument("--quick", action="store_true", help="a reduced setting (for tests)")
    s.add_argument("-o", "--output", help="output directory (default reports/demo)")
    s.set_defaults(fn=cmd_demo)

    s = sub.add_parser("study", help="run a paper's study (a sweep and its plots)")
    s.add_argument("name", nargs="?", help="study name; omit to list them")
    s.add_argument("--quick", action="store_true", help="a reduced setting")
    s.add_argument("-o", "--output", help="directory (default reports/studies/NAME)")
    s.set_defaults(fn=cmd_study)

    s = sub.add_parser("codesign", help="choose pattern, density, format and configuration per layer under budgets")
    s.add_argument("--workload", "-w", required=True, help="shipped name, YAML file, or gemm:MxNxK")
    s.add_argument("--arch", "-a", action="append", required=True,
                   help="a candidate arch config (shipped name, model name or YAML file); repeatable")
    s.add_argument("--param", action="append", metavar="KEY=V1,V2", help="a parameter axis for the archs that have it")
    s.add_argument("--objective", default="latency", choices=["latency", "energy", "edp"],
                   help="what to minimize (default latency)")
    s.add_argument("--max-area", type=float, metavar="MM2", help="area budget, mm^2")
    s.add_argument("--min-fidelity", type=float, metavar="F", help="lowest fidelity allowed, in [0, 1]")
    s.add_argument("--max-storage-mb", type=float, metavar="MB", help="weight storage budget, MiB")
    s.add_argument("--patterns", default="unstructured,nm:2:4,block:4x4",
                   help="candidate pruning patterns, comma-separated")
    s.add_argument("--densities", default="0.1,0.25,0.5,1.0", help="candidate weight densities, comma-separated")
    s.add_argument("--formats", help="comma-separated (default: dense,bitmap,csr,rle,coo)")
    s.add_argument("--layers", help="comma-separated layer names (default: every layer)")
    s.add_argument("--act-density", type=_density, default=0.5, help="input activation density (default 0.5)")
    s.add_argument("--seed", type=int, default=0, help="seed of the synthetic traces")
    s.add_argument("--json", action="store_true", help="print only the plan as JSON")
    s.add_argument("-o", "--output", help="directory (default ./reports/codesign/WORKLOAD)")
    s.set_defaults(fn=cmd_codesign)

    s = sub.add_parser("validate", help="published results reproduced, with the error of each")
    s.add_argument("--json", action="store_true", help="print only a JSON list of the cases")
    s.add_argument("-o", "--output", help="directory (default reports/validation)")
    s.add_argument("--model", action="append", metavar="NAME", dest="models",
                   help="only this model's validation (repeatable; e.g. scnn, eie, tensor_core)")
    s.set_defaults(fn=cmd_validate)

    s = sub.add_parser("bench", help="simulator speed and memory, as JSON")
    s.add_argument("--quick", action="store_true", help="a reduced set of cases")
    s.add_argument("--repeat", type=int, default=3, help="runs per case; the median, fastest and slowest are reported (default 3)")
    s.add_argument("-o", "--output", help="JSON file (default ./reports/bench/bench.json)")
    s.set_defaults(fn=cmd_bench)
    return p


#: what each command's ``-o`` names: a file of one of these suffixes, or (None) a directory
_OUTPUTS = {"cmd_run": (".csv", ".parquet", ".json"), "cmd_formats": (".csv", ".parquet", ".json"),
            "cmd_trace": (".npz",), "cmd_bench": (".json",), "cmd_report": (".html",),
            "cmd_plot": None, "cmd_sweep": None, "cmd_demo": None, "cmd_study": None, "cmd_codesign": None,
            "cmd_validate": None}


def _check_output(args) -> None:
    """Refuse an output that cannot be written before any work starts (outputs.check_output)."""
    from .outputs import check_output, check_output_dir
    out = getattr(args, "output", None)
    name = getattr(args.fn, "__name__", "")
    if not out or name not in _OUTPUTS:
        return
    inputs = [getattr(args, k) for k in ("results", "trace", "file", "spec", "model") if getattr(args, k, None)]
    if _OUTPUTS[name] is None:
        check_output_dir(out)
        for inp in inputs:     # a results directory given as its own output would be mixed with its report
            from pathlib import Path
            if Path(inp).exists() and Path(out).exists() and Path(inp).resolve() == Path(out).resolve() \
                    and name != "cmd_sweep":
                raise AccelsimError(f"output '{out}' is also the input; write to another directory")
    else:
        check_output(out, _OUTPUTS[name], inputs)


def _check_memory(args) -> None:
    """Apply ``--max-memory`` for this command and, through the environment, its sweep workers."""
    import os
    if getattr(args, "max_memory", None):
        from .budget import parse_size
        os.environ["ACCELSIM_MAX_MEMORY"] = str(parse_size(args.max_memory))


def main(argv: list[str] | None = None) -> int:
    import os
    parser = build_parser()
    env_before = os.environ.get("ACCELSIM_MAX_MEMORY")
    try:
        args = parser.parse_args(argv)
        _check_memory(args)
        _check_output(args)
        args.fn(args)
        return 0
    except AccelsimError as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"accelsim: error: {msg}", file=sys.stderr)
        return getattr(e, "exit_code", 2)
    except MemoryError:
        print("accelsim: error: out of memory; select fewer layers (--layers) or a smaller workload", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("accelsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    finally:  # main() is also called in-process (tests, notebooks): the budget was this command's only
        if env_before is None:
            os.environ.pop("ACCELSIM_MAX_MEMORY", None)
        else:
            os.environ["ACCELSIM_MAX_MEMORY"] = env_before


if __name__ == "__main__":
    sys.exit(main())
