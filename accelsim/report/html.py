"""One self-contained HTML page: figures embedded as PNG with their captions, tables in engineering units,
configs as YAML, the version and the date."""
from __future__ import annotations

import base64
import datetime as _dt
import html
import platform
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import __version__
from ..table import format_columns

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;max-width:1180px;color:#222;
padding:0 1.2em;line-height:1.45}
h1{border-bottom:2px solid #345;font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc;font-size:1.3em}
h3{font-size:1.05em;margin:1.2em 0 .4em}
.tw{overflow-x:auto;max-width:100%;margin:.5em 0}
table{border-collapse:collapse;font-size:12px;font-variant-numeric:tabular-nums}
td,th{border:1px solid #d4d4d4;padding:2px 7px;text-align:right;white-space:nowrap}
th{background:#eef1f6;font-weight:600}td.t,th.t{text-align:left}
tr:nth-child(even) td{background:#fafafa}
figure{display:inline-block;vertical-align:top;margin:.6em 1.4em 1em 0;max-width:560px}
figure img{max-width:100%;border:1px solid #e2e2e2}
figcaption{font-size:13px;color:#333;margin-top:.3em}
figcaption b{color:#000}
pre{background:#f6f6f6;padding:.6em;font-size:12px;overflow:auto}
.meta{color:#666;font-size:13px}.flag{color:#b00;font-weight:bold}
nav{font-size:14px;line-height:1.9}nav a{margin-right:1.1em;white-space:nowrap}
"""


@dataclass
class Section:
    title: str
    text: str = ""
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    #: figures (PNG paths); each is shown with the caption stored in the image, or the one in *captions*
    images: list[Path] = field(default_factory=list)
    code: list[tuple[str, str]] = field(default_factory=list)
    captions: dict[str, str] = field(default_factory=dict)
    level: int = 2

    @property
    def anchor(self) -> str:
        return "".join(ch if ch.isalnum() else "-" for ch in self.title.lower())


def table_html(df: pd.DataFrame, max_rows: int = 300) -> str:
    """*df* as an HTML table: numbers in engineering units (the unit in the header), text left-aligned."""
    sub = df.head(max_rows)
    sub.attrs = dict(df.attrs)
    heads, cells, numeric = format_columns(sub)
    cls = ["" if num else ' class="t"' for num in numeric]
    head = "".join(f"<th{c}>{html.escape(h)}</th>" for h, c in zip(heads, cls))
    rows = []
    for i in range(len(sub)):
        rows.append("<tr>" + "".join(f"<td{c}>{html.escape(col[i])}</td>" for col, c in zip(cells, cls)) + "</tr>")
    more = f"<p class=meta>... {len(df) - max_rows} more rows</p>" if len(df) > max_rows else ""
    return f'<div class="tw"><table><tr>{head}</tr>{"".join(rows)}</table></div>{more}'


def image_html(path: Path, caption: str = "") -> str:
    """A figure: the PNG embedded, and its caption sentence under it."""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (f'<figure><img alt="{html.escape(caption or Path(path).stem)}" '
            f'src="data:image/png;base64,{data}">{cap}</figure>')


def build_html(title: str, sections: list[Section], subtitle: str = "") -> str:
    from .plots import caption_of
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    nav = "".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in sections if s.level == 2)
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8>"
             f'<meta name="viewport" content="width=device-width, initial-scale=1">'
             f"<title>{html.escape(title)}</title>",
             f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<p class=meta>accelsim {__version__} &middot; generated {now} &middot; "
             f"{html.escape(platform.platform())} &middot; Python {platform.python_version()}</p>",
             f"<p>{html.escape(subtitle)}</p>" if subtitle else "", f"<nav>{nav}</nav>"]
    for s in sections:
        h = f"h{s.level}"
        parts.append(f'<{h} id="{s.anchor}">{html.escape(s.title)}</{h}>')
        if s.text:
            parts.append(f"<p>{s.text}</p>")
        for cap, df in s.tables:
            if cap:
                parts.append(f"<h3>{html.escape(cap)}</h3>")
            parts.append(table_html(df))
        for img in s.images:
            if Path(img).suffix == ".png":
                parts.append(image_html(img, s.captions.get(str(img)) or caption_of(img)))
        for cap, text in s.code:
            parts.append(f"<h3>{html.escape(cap)}</h3><pre>{html.escape(text)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(path: Path, text: str) -> Path:
    from ..outputs import atomic_write
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))
