"""Regenerate docs/area.md's two tables: every shipped config's area, and the published areas against ours.

    .venv/bin/python tools/area_tables.py            # prints Markdown to stdout
"""
from __future__ import annotations

from accelsim.arch import get_model, list_archs, load_arch
from accelsim.validation import area


def configs() -> str:
    lines = ["| config | node | area_mm2 | largest parts (mm2) |", "|---|---|---|---|"]
    for name in list_archs():
        cfg = load_arch(name)
        inv = get_model(cfg.model)().inventory(cfg.params)
        if inv is None:  # GPUs: no inventory on purpose (tensor_core's docstring)
            continue
        a = cfg.energy.area_mm2(inv)
        top = sorted(a.items(), key=lambda kv: -kv[1])[:4]
        parts = ", ".join(f"{k} {v:.3g}" for k, v in top)
        lines.append(f"| `{name}` | {cfg.energy.node_nm:g} nm | {sum(a.values()):.3g} | {parts} |")
    return "\n".join(lines)


def published() -> str:
    lines = ["| model | quantity | published | accelsim | error | tolerance | source |", "|---|---|---|---|---|---|---|"]
    for c in area.cases():
        err = (c["accelsim"] / c["published"] - 1) * 100
        flag = " **flag**" if abs(err) > c["tolerance_pct"] else ""
        unit = f" {c['unit']}" if c["unit"] else ""
        lines.append(f"| {c['model']} | {c['quantity']} | {c['published']:.4g}{unit} | {c['accelsim']:.4g}{unit} | "
                     f"{err:+.1f} %{flag} | {c['tolerance_pct']:g} % | {c['source'].split(';')[0]} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(configs())
    print()
    print(published())
