"""One self-contained HTML page: plots embedded as base64 PNG, tables, configs, workloads, version and date."""
from __future__ import annotations

import base64
import datetime as _dt
import html
import platform
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import __version__

CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1150px;color:#222;padding:0 1em}
h1{border-bottom:2px solid #345}h2{margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:12px;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#eef}td:first-child,th:first-child{text-align:left}img{max-width:100%;border:1px solid #ddd;margin:.4em 0}
pre{background:#f6f6f6;padding:.6em;font-size:11px;overflow:auto}.meta{color:#666;font-size:13px}
.flag{color:#b00;font-weight:bold}nav a{margin-right:1em}
"""


@dataclass
class Section:
    title: str
    text: str = ""
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)
    code: list[tuple[str, str]] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "".join(ch if ch.isalnum() else "-" for ch in self.title.lower())


def _fmt_cell(v) -> str:
    if isinstance(v, float):
        if v != v:
            return "-"
        a = abs(v)
        return f"{v:.4g}" if (a == 0 or 1e-3 <= a < 1e6) else f"{v:.3e}"
    return html.escape(str(v))


def table_html(df: pd.DataFrame, max_rows: int = 300) -> str:
    cols = list(df.columns)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    rows = []
    for r in df.head(max_rows).itertuples(index=False):
        rows.append("<tr>" + "".join(f"<td>{_fmt_cell(v)}</td>" for v in r) + "</tr>")
    more = f"<p class=meta>... {len(df) - max_rows} more rows</p>" if len(df) > max_rows else ""
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>{more}"


def image_html(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{html.escape(Path(path).stem)}" src="data:image/png;base64,{data}">'


def build_html(title: str, sections: list[Section], subtitle: str = "") -> str:
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    nav = "".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in sections)
    parts = [f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>",
             f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<p class=meta>accelsim {__version__} &middot; generated {now} &middot; "
             f"{html.escape(platform.platform())} &middot; Python {platform.python_version()}</p>",
             f"<p>{html.escape(subtitle)}</p>" if subtitle else "", f"<nav>{nav}</nav>"]
    for s in sections:
        parts.append(f'<h2 id="{s.anchor}">{html.escape(s.title)}</h2>')
        if s.text:
            parts.append(f"<p>{s.text}</p>")
        for cap, df in s.tables:
            if cap:
                parts.append(f"<h3>{html.escape(cap)}</h3>")
            parts.append(table_html(df))
        for img in s.images:
            if Path(img).suffix == ".png":
                parts.append(image_html(img))
        for cap, text in s.code:
            parts.append(f"<h3>{html.escape(cap)}</h3><pre>{html.escape(text)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
