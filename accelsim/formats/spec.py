"""Format specs: how a user names a format with its parameters, on the command line or in YAML.

Command line (``--formats``), a comma-separated list::

    dense,bitmap,rle:run_bits=8,csc:index_mode=relative:index_bits=4,bcsr:block=8x8
    ranks:UOP,RLE4:order=col:label=eie,ranks:B,B

* ``NAME`` or ``NAME:KEY=VALUE:KEY=VALUE`` - a registered format with parameters
  (values read as YAML scalars; a block shape is ``8x8``).
* ``ranks:R1,R2,...`` - a per-rank composition (Sparseloop's ``U, UOP, B, CP,
  RLE``, each with an optional width: ``RLE4``, ``CP8``, ``UOP16``). The rank
  list runs until the next lowercase format name; ``:KEY=VALUE`` after any
  rank applies to the whole composition.
* ``label=TEXT`` names the column (default: the spec as written, normalized).

YAML (``--formats FILE.yaml``): a list, or a mapping with a ``formats:`` list,
whose items are spec strings or mappings ``{name: ..., label: ..., <params>}``::

    formats:
      - dense
      - {name: rle, run_bits: 8, label: rle8}
      - {name: ranks, ranks: [UOP, RLE4], order: col, value_bits: 12, label: eie}

``value_bits`` not given in a spec comes from the comparison's value width.
"""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import check_keys, load_yaml, parse_value
from ..errors import FormatError
from .base import Format, format_class
from .ranks import is_rank_token as _rank_any_case, parse_ranks


@dataclass
class FormatSpec:
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    label: str | None = None

    def text(self) -> str:
        """The spec written back in command-line form."""
        params = dict(self.params)
        head = self.name
        if self.name == "ranks" and "ranks" in params:
            r = params.pop("ranks")
            head += ":" + ",".join(str(x) for x in parse_ranks(r))
        tail = "".join(f":{k}={_show(v)}" for k, v in params.items())
        return head + tail

    @property
    def title(self) -> str:
        return self.label or self.text()

    def build(self, value_bits: int | None = None) -> Format:
        cls = format_class(self.name)
        params = dict(self.params)
        names = {f.name for f in dataclasses.fields(cls.Params)}
        if value_bits is not None and "value_bits" in names and "value_bits" not in params:
            params["value_bits"] = value_bits
        return cls(**params)


def _show(v) -> str:
    if isinstance(v, (tuple, list)):
        return "x".join(map(str, v))
    return str(v).lower() if isinstance(v, bool) else str(v)


def is_rank_token(text: str) -> bool:
    """Rank formats are written in capitals (``UOP``, ``RLE4``); format names in lower case."""
    return text.isupper() and _rank_any_case(text)


def _param(part: str, where: str) -> tuple[str, Any]:
    key, _, value = part.partition("=")
    key = key.strip()
    if not key or not value.strip():
        raise FormatError(f"format spec '{where}': expected KEY=VALUE, got '{part}'")
    value = value.strip()
    if re.fullmatch(r"\d+x\d+", value):  # a block shape, not YAML's hexadecimal 0x4
        return key, value
    return key, parse_value(value)


def parse_format_list(text: str) -> list[FormatSpec]:
    """``"dense,rle:run_bits=8,ranks:UOP,RLE4"`` -> specs (see the module docstring)."""
    if not isinstance(text, str) or not text.strip():
        raise FormatError("give at least one format (e.g. --formats dense,bitmap,csr)")
    specs: list[FormatSpec] = []
    ranks_open = False
    for tok in (t.strip() for t in text.split(",")):
        if not tok:
            continue
        head, *rest = tok.split(":")
        head = head.strip()
        if is_rank_token(head):
            if not ranks_open:
                raise FormatError(f"rank format '{head}' outside a rank list; write it as ranks:{head},...")
            spec = specs[-1]
            spec.params["ranks"].append(head.upper())
        else:
            name = head.lower()
            if _rank_any_case(head) and name != "rle":
                raise FormatError(f"'{head}': rank formats are written in capitals ({head.upper()}), "
                                  "inside a rank list such as ranks:UOP,CP")
            format_class(name)  # unknown names fail here
            spec = FormatSpec(name)
            specs.append(spec)
            ranks_open = name == "ranks"
            if ranks_open:
                spec.params["ranks"] = []
        for part in rest:
            part = part.strip()
            if not part:
                continue
            if "=" in part:
                k, v = _param(part, tok)
                if k == "label":
                    spec.label = str(v)
                else:
                    spec.params[k] = v
            elif spec.name == "ranks" and part and all(_rank_any_case(p) for p in part.replace("-", " ").split()):
                spec.params["ranks"].extend(p.upper() for p in part.replace("-", " ").split())
            else:
                raise FormatError(f"format spec '{tok}': expected KEY=VALUE after ':', got '{part}'")
    for s in specs:
        if s.name == "ranks" and not s.params["ranks"]:
            raise FormatError("ranks: give the rank formats, e.g. ranks:UOP,CP")
    return _checked(specs)


def _from_item(item, where: str) -> FormatSpec:
    if isinstance(item, str):
        specs = parse_format_list(item)
        if len(specs) != 1:
            raise FormatError(f"{where}: one format per list item, got '{item}'")
        return specs[0]
    if not isinstance(item, dict):
        raise FormatError(f"{where}: expected a format name or a mapping, got {item!r}")
    item = dict(item)
    name = item.pop("name", None)
    if not isinstance(name, str):
        raise FormatError(f"{where}: a format mapping needs 'name'")
    label = item.pop("label", None)
    cls = format_class(name)
    check_keys(item, {f.name for f in dataclasses.fields(cls.Params)}, where)
    return FormatSpec(name, item, None if label is None else str(label))


def load_format_file(path: str | os.PathLike) -> list[FormatSpec]:
    """Specs from a YAML file (see the module docstring)."""
    data = load_yaml(path)
    if isinstance(data, dict):
        check_keys(data, {"formats"}, "")
        data = data.get("formats")
    if not isinstance(data, list) or not data:
        raise FormatError(f"{path}: expected a list of formats (or a mapping with a 'formats:' list)")
    return _checked([_from_item(it, f"{Path(path).name}: formats[{i}]") for i, it in enumerate(data)])


def resolve_formats(formats) -> list[FormatSpec]:
    """``None`` (the caller's default), a spec string, a YAML path, or a list of strings/dicts/specs."""
    if isinstance(formats, str):
        if formats.strip().endswith((".yaml", ".yml")):
            return load_format_file(formats.strip())
        return parse_format_list(formats)
    if isinstance(formats, (list, tuple)):
        out = []
        for i, f in enumerate(formats):
            out.append(f if isinstance(f, FormatSpec) else _from_item(f, f"formats[{i}]"))
        return _checked(out)
    raise FormatError(f"formats must be a spec string, a YAML file or a list, got {formats!r}")


def _checked(specs: list[FormatSpec]) -> list[FormatSpec]:
    seen = set()
    for s in specs:
        s.build(16)  # parameters are checked now, not halfway through a comparison
        if s.title in seen:
            raise FormatError(f"format '{s.title}' is listed twice; give one a label=...")
        seen.add(s.title)
    return specs
