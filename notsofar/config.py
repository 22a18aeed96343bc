"""Typed configs: nested dataclasses filled from YAML, with ``--set a.b=c`` overrides.

Every stage declares its config as a dataclass tree. :func:`load_config` starts from the
dataclass defaults, applies a YAML file (``--config``) and then ``--set`` overrides; an unknown key
is an error naming the key and the file. :func:`dump_config` writes the resolved config next to
outputs so every result can be reproduced.

Example (configs of the real stages live beside them, e.g. ``notsofar.score.config``)::

    cfg = load_config(ScoreConfig, "configs/score/notsofar.yaml", ["tcpwer.collar=10"])
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

import yaml

from notsofar.errors import NotsofarError

T = TypeVar("T")


def _coerce(value: Any, tp: Any, where: str, source: str) -> Any:
    """Convert a YAML value to the annotated type, or raise a NotsofarError naming the key."""
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
                return _coerce(value, arg, where, source)
            except NotsofarError as e:
                errors.append(e)
        raise errors[0] if errors else NotsofarError(f"{where}: bad value {value!r}", path=source)
    if origin is typing.Literal:
        if value not in get_args(tp):
            raise NotsofarError(
                f"{where}: {value!r} is not one of {', '.join(map(repr, get_args(tp)))}",
                path=source,
            )
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise NotsofarError(f"{where}: expected a mapping, got {value!r}", path=source)
        return _build(tp, value, where, source)
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            raise NotsofarError(f"{where}: expected a list, got {value!r}", path=source)
        args = get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise NotsofarError(
                    f"{where}: expected {len(args)} values, got {value!r}", path=source
                )
            return tuple(
                _coerce(v, a, f"{where}[{i}]", source)
                for i, (v, a) in enumerate(zip(value, args, strict=True))
            )
        item = args[0] if args else Any
        out = [_coerce(v, item, f"{where}[{i}]", source) for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, Mapping):
            raise NotsofarError(f"{where}: expected a mapping, got {value!r}", path=source)
        return dict(value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            choices = ", ".join(repr(m.value) for m in tp)
            raise NotsofarError(
                f"{where}: {value!r} is not one of {choices}", path=source
            ) from None
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise NotsofarError(f"{where}: expected true/false, got {value!r}", path=source)
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise NotsofarError(f"{where}: expected a number, got {value!r}", path=source)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise NotsofarError(f"{where}: expected an integer, got {value!r}", path=source)
    if tp is str:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
        raise NotsofarError(f"{where}: expected a string, got {value!r}", path=source)
    return value


def _build(cls: type[T], data: Mapping[str, Any], prefix: str, source: str) -> T:
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs = {}
    for key, value in data.items():
        where = f"{prefix}.{key}" if prefix else str(key)
        if key not in names:
            raise NotsofarError(
                f"unknown config key '{where}' (known: {', '.join(sorted(names))})", path=source
            )
        kwargs[key] = _coerce(value, hints[key], where, source)
    try:
        obj = cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise NotsofarError(f"{prefix or 'config'}: {e}", path=source) from None
    check = getattr(obj, "validate", None)
    if callable(check):
        check()
    return obj


def to_dict(cfg: Any) -> Any:
    """A dataclass config as plain YAML-able Python values."""
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, enum.Enum):
        return cfg.value
    if isinstance(cfg, list | tuple):
        return [to_dict(v) for v in cfg]
    if isinstance(cfg, dict):
        return {k: to_dict(v) for k, v in cfg.items()}
    return cfg


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in update.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def parse_override(item: str) -> tuple[list[str], Any]:
    """Parse ``a.b=c`` into (["a", "b"], value); the value is read as YAML (``0.5``, ``true``).

    >>> parse_override("asr.beam_size=5")
    (['asr', 'beam_size'], 5)
    """
    if "=" not in item:
        raise NotsofarError(f"--set expects key=value, got {item!r}")
    key, raw = item.split("=", 1)
    if not key.strip():
        raise NotsofarError(f"--set expects key=value, got {item!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotsofarError("config file not found", path=path) from None
    except UnicodeDecodeError:
        raise NotsofarError("config file is not UTF-8 text", path=path) from None
    except OSError as e:
        raise NotsofarError(f"cannot read config: {e.strerror}", path=path) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise NotsofarError(
            f"invalid YAML: {problem}", path=path, line=None if line is None else line + 1
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise NotsofarError("config must be a YAML mapping", path=path)
    return data


def load_config(
    cls: type[T],
    path: str | Path | None = None,
    overrides: Iterable[str] = (),
    base: T | None = None,
) -> T:
    """Build config ``cls`` from defaults (or ``base``), a YAML file, then ``key=value`` overrides."""
    data: dict[str, Any] = to_dict(base) if base is not None else {}
    source = "defaults"
    if path is not None:
        data = _merge(data, read_yaml(path))
        source = str(path)
    for item in overrides:
        keys, value = parse_override(item)
        update: dict[str, Any] = {keys[-1]: value}
        for k in reversed(keys[:-1]):
            update = {k: update}
        data = _merge(data, update)
        if source == "defaults":
            source = "--set"
    return _build(cls, data, "", source)


def dump_config(cfg: Any) -> str:
    """The resolved config as YAML text."""
    return yaml.safe_dump(to_dict(cfg), sort_keys=False, default_flow_style=False)


def write_resolved_config(cfg: Any, out_dir: str | Path, name: str) -> Path:
    """Write ``<out_dir>/<name>.config.yaml`` (the resolved config) atomically."""
    from notsofar.io.atomic import write_text

    return write_text(Path(out_dir) / f"{name}.config.yaml", dump_config(cfg))
