"""Reading input files: one typed error, one line, for every way a file can be bad.

Used by the topology, policy, scenario and plan loaders: unreadable files (missing, a folder,
no permission), bytes that are not UTF-8 text, YAML/JSON syntax errors, keys given twice in one
mapping (YAML would silently keep the last), and nesting too deep to parse.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from wphw.errors import WphwError

MAX_SHOWN = 80  # characters of a bad value shown in an error message


def short(value: Any) -> str:
    """``repr(value)``, cut to MAX_SHOWN characters (a 50 MB name is not echoed whole)."""
    text = repr(value)
    if len(text) > MAX_SHOWN:
        return f"{text[: MAX_SHOWN - 20]}…({len(text)} characters)"
    return text


def read_text(path: Path, error: type[WphwError]) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"{path}: not UTF-8 text (byte {exc.start}: {data[exc.start : exc.start + 1]!r})"
        ) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            continue
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {short(key)} given twice (first on line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def parse(text: str, path: Path, error: type[WphwError], *, as_json: bool = False) -> Any:
    """YAML (or JSON) text into Python values, with a one-line error naming ``path``."""
    kind = "JSON" if as_json else "YAML"
    try:
        if as_json:
            return json.loads(text, object_pairs_hook=_unique_json(path, error))
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except RecursionError:
        raise error(f"{path}: nested too deeply to read") from None
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        first = " ".join(str(exc).split())
        raise error(f"{path}: not valid {kind}: {first[:300]}") from None


def _unique_json(path: Path, error: type[WphwError]) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise error(f"{path}: key {short(k)} given twice in one object")
            out[k] = v
        return out

    return hook


def load(path: str | Path, error: type[WphwError]) -> Any:
    p = Path(path)
    return parse(read_text(p, error), p, error, as_json=p.suffix == ".json")
