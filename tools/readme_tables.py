"""Regenerate the README's comparison tables (so every number there can be traced to a command).

    .venv/bin/python tools/readme_tables.py            # rewrites the README's tables in place
    .venv/bin/python tools/readme_tables.py --print llama   # prints one table instead

Each table sits between ``<!-- readme_tables: NAME -->`` and ``<!-- /readme_tables -->`` in README.md.

1. Every shipped config on pruned AlexNet (Deep Compression's per-layer densities, profile han2015;
   activations at 50%): network latency, energy, the limiting resource and utilization.
2. Llama-2-7B (llama2_7b), 2:4 and 50% unstructured weights, prefill (2048 tokens) and decode (one token
   against a 4096-token KV cache), statistical mode, on every shipped config.
"""
from __future__ import annotations

import sys

import accelsim
from accelsim.results import network_totals


def _fmt(x: float, unit: float, digits: int = 3) -> str:
    return f"{x / unit:.{digits}g}"


def comparison() -> str:
    lines = ["| config | latency (us) | energy (uJ) | bound | utilization | DRAM (MB) | area (mm2) |",
             "|---|---|---|---|---|---|---|"]
    for arch in accelsim.list_archs():
        df = accelsim.simulate(arch, "alexnet", profile="han2015", act_density=0.5, seed=0)
        t = network_totals(df.assign(pattern="han2015")).iloc[0]
        area = df["area_mm2"].iloc[0] if "area_mm2" in df.columns else float("nan")
        lines.append(f"| {arch} | {_fmt(t['latency_s'], 1e-6)} | {_fmt(t['energy_pj'], 1e6)} | {t['bound']} | "
                     f"{t['utilization']:.2f} | {_fmt(t['dram_bytes'], 1e6)} | "
                     f"{'-' if area != area else f'{area:.3g}'} |")
    return "\n".join(lines)


def llama() -> str:
    lines = ["| config | pattern | prefill latency (ms) | prefill energy (J) | prefill bound | decode latency (ms) "
             "| decode energy (mJ) | decode bound |", "|---|---|---|---|---|---|---|---|"]
    for arch in accelsim.list_archs():
        for pattern, density in (("nm:2:4", None), ("unstructured", 0.5)):
            cells = []
            for wl in ("llama2_7b[phase=prefill,seq_len=2048]", "llama2_7b[phase=decode,kv_len=4096]"):
                try:
                    df = accelsim.simulate(arch, wl, pattern=pattern, density=density, act_density=1.0,
                                           statistical=True)
                except accelsim.AccelsimError as e:
                    cells.append(("n/a", "n/a", str(e).split(":")[0]))
                    continue
                t = network_totals(df.assign(pattern=pattern)).iloc[0]
                decode = "decode" in wl
                cells.append((_fmt(t["latency_s"], 1e-3), _fmt(t["energy_pj"], 1e9 if decode else 1e12),
                               t["bound"]))
            (pl, pe, pb), (dl, de, db) = cells
            lines.append(f"| {arch} | {pattern if density is None else f'{pattern} {density:g}'} | {pl} | {pe} | "
                         f"{pb} | {dl} | {de} | {db} |")
    return "\n".join(lines)


TABLES = {"comparison": comparison, "llama": llama}

if __name__ == "__main__":
    from pathlib import Path

    from doc_tables import rewrite_blocks

    def table(name: str) -> str:
        if name not in TABLES:
            raise SystemExit(f"readme_tables: no table '{name}' (tables: {', '.join(TABLES)})")
        return TABLES[name]()
    if sys.argv[1:2] == ["--print"]:
        for w in sys.argv[2:] or TABLES:
            print(table(w) + "\n")
        sys.exit(0)
    readme = Path(__file__).resolve().parent.parent / "README.md"
    readme.write_text(rewrite_blocks(readme.read_text(), "readme_tables", lambda name: table(name) + "\n"))
    print(f"rewrote {readme}")
