"""YAML loading and schema checks.

Inputs are plain YAML read with ``yaml.safe_load``. Typed objects are built
from dataclasses: an unknown key is an error that names its path
(``params.pes``), a value of the wrong type is coerced when that is lossless
and rejected otherwise, and missing keys take the dataclass defaults.
"""
from __future__ import annotations

import dataclasses
import math
import warnings
import os
import types
import typing
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml

from .errors import ConfigError

#: YAML files larger than this are refused before parsing (a hostile or mistaken file).
MAX_YAML_BYTES = 16 * 1024 * 1024


def load_yaml(path: str | os.PathLike) -> Any:
    """Read one YAML file with ``safe_load``; any problem is a :class:`ConfigError`."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: no such file")
    if p.stat().st_size > MAX_YAML_BYTES:
        raise ConfigError(f"{p}: file is larger than {MAX_YAML_BYTES // 2**20} MiB")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a UTF-8 text file") from None
    return parse_yaml(text, str(p))


#: Deepest nesting a YAML document may have (configs are a few levels deep; a deep one is hostile).
MAX_YAML_DEPTH = 64


class _StrictLoader(yaml.SafeLoader):
    """``safe_load`` that refuses duplicate keys, aliases (``*name``: the billion-laughs bomb) and deep nesting."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            ev = self.peek_event()
            raise yaml.constructor.ConstructorError(None, None, "aliases (*name) are not accepted in accelsim "
                                                    "files; write the value out", ev.start_mark)
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            raise yaml.constructor.ConstructorError(None, None, f"nested deeper than {MAX_YAML_DEPTH} levels",
                                                    self.peek_event().start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                dup = key in seen
            except TypeError:  # an unhashable key: let the base class say so
                break
            if dup:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def _strict_load(text: str) -> Any:
    """One YAML document through :class:`_StrictLoader` (a ``SafeLoader``: plain data only, never objects)."""
    loader = _StrictLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def parse_yaml(text: str, where: str = "<string>") -> Any:
    try:
        return _strict_load(text)
    except RecursionError:
        raise ConfigError(f"{where}: malformed YAML: nested too deeply") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{where}: malformed YAML{at}: {problem}") from None


def parse_value(text: str) -> Any:
    """Parse a ``--set key=value`` value the way YAML would (``8`` -> int, ``ws`` -> str)."""
    try:
        return _strict_load(text)
    except (yaml.YAMLError, RecursionError):
        return text


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """``["pes=16", "dataflow=ws"]`` -> ``{"pes": 16, "dataflow": "ws"}``."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value")
        key, value = item.split("=", 1)
        key = key.strip()
        if key.startswith("params."):
            key = key[len("params."):]
        if not key:
            raise ConfigError(f"--set {item!r}: empty key")
        out[key] = parse_value(value)
    return out


def expect_mapping(data: Any, where: str) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    return data


def check_keys(data: dict, allowed: set[str] | list[str], where: str) -> None:
    """Reject keys not in *allowed*, naming the first one with its path."""
    for key in data:
        if key not in allowed:
            path = f"{where}.{key}" if where else str(key)
            raise ConfigError(f"unknown key '{path}' (expected one of: {', '.join(sorted(allowed))})")


def _coerce(value: Any, tp: Any, path: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, path)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"'{path}': bad value {value!r}")
    if origin is typing.Literal:
        choices = get_args(tp)
        if value not in choices:
            raise ConfigError(f"'{path}' must be one of {', '.join(map(str, choices))}, got {value!r}")
        return value
    if origin in (tuple, list):
        args = get_args(tp)
        if isinstance(value, str):
            value = [parse_value(v) for v in value.replace("x", ",").split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"'{path}' must be a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis and len(args) != len(value):
            raise ConfigError(f"'{path}' must have {len(args)} entries, got {len(value)}")
        elem = args[0] if args else Any
        items = [_coerce(v, elem if (origin is list or args[-1] is Ellipsis) else args[i], f"{path}[{i}]")
                 for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"'{path}' must be a mapping, got {value!r}")
        return dict(value)
    if isinstance(tp, type) and tp.__name__ == "FormatRef":
        from .hardware import FormatRef
        return FormatRef.parse(value, path)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"'{path}' must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"'{path}' must be an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"'{path}' must be an integer, got {value!r}")
    if tp is float:
        if isinstance(value, str):  # YAML 1.1 reads "1.0e9" as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"'{path}' must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"'{path}' must be a string, got {value!r}")
        return str(value)
    return value


#: no parameter of any design is this large (a 10^30-row array would overflow the numba kernels' int64)
MAX_PARAM = 1e15


def build_dataclass(cls: type, data: Any, where: str) -> Any:
    """Build dataclass *cls* from mapping *data*, checking every key and type.

    Fields may carry ``metadata={"min": x, "max": y}`` (inclusive bounds) or
    ``metadata={"gt": x}`` (strict lower bound); a value outside is rejected.
    The class may define ``validate(self)`` for checks across fields; it
    raises :class:`ConfigError`.
    """
    data = expect_mapping(data, where or cls.__name__)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    renamed = getattr(cls, "RENAMED", {})
    if renamed and set(data) & set(renamed):
        data = dict(data)
        for old in [k for k in data if k in renamed]:
            new = renamed[old]
            prefix = f"{where}." if where else ""
            warnings.warn(f"'{prefix}{old}' is deprecated, use '{prefix}{new}' (the old name goes in 0.3)",
                          FutureWarning, stacklevel=2)
            value = data.pop(old)
            if new in data:
                raise ConfigError(f"both '{prefix}{old}' (deprecated) and '{prefix}{new}' are given; keep '{new}'")
            data[new] = value
    check_keys(data, set(fields), where)
    kwargs = {}
    for name, value in data.items():
        path = f"{where}.{name}" if where else name
        v = _coerce(value, hints[name], path)
        md = fields[name].metadata
        if isinstance(v, float) and not math.isfinite(v) and not md.get("allow_inf"):
            raise ConfigError(f"'{path}' must be a finite number, got {v}")
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and abs(v) > MAX_PARAM:
            raise ConfigError(f"'{path}' is {v:.3g}, beyond any hardware (|value| <= {MAX_PARAM:.0e})")
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if "min" in md and v < md["min"]:
                raise ConfigError(f"'{path}' must be >= {md['min']}, got {v}")
            if "max" in md and v > md["max"]:
                raise ConfigError(f"'{path}' must be <= {md['max']}, got {v}")
            if "gt" in md and not v > md["gt"]:
                raise ConfigError(f"'{path}' must be > {md['gt']}, got {v}")
        kwargs[name] = v
    obj = cls(**kwargs)
    check = getattr(obj, "validate", None)
    if callable(check):
        check()
    return obj


def positive(default: Any, **extra) -> Any:
    """A dataclass field that must be > 0."""
    return dataclasses.field(default=default, metadata={"gt": 0, **extra})


def bounded(default: Any, lo: float | None = None, hi: float | None = None) -> Any:
    md = {}
    if lo is not None:
        md["min"] = lo
    if hi is not None:
        md["max"] = hi
    return dataclasses.field(default=default, metadata=md)
