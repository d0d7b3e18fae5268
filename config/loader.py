"""Load the settings file: YAML 1.2, ``${VAR}`` references, marshmallow validation.

Every problem is reported as ``FILE:LINE:COLUMN: KEY.PATH: message`` so that an admin
can go straight to the line, and all problems of a file are reported together.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from config.errors import SettingsError
from config.model import Settings
from config.schema import SettingsSchema

DEFAULT_SETTINGS_PATH = "config/settings.yaml"
SECRET_KEYS = frozenset({"token", "access_token", "signing_secret", "inbound_token"})
POSITION = re.compile(r":(\d+):(\d+): ")
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

KeyPath = tuple[str | int, ...]


@dataclass
class _Positions:
    """Line and column (both 1-based) of each key and each value, by key path."""

    keys: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    values: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)

    def find(
        self, path: KeyPath, *, prefer_key: bool = False
    ) -> tuple[int, int] | None:
        """Return the position of ``path`` or of its nearest ancestor that has one."""
        while True:
            first, second = (
                (self.keys, self.values) if prefer_key else (self.values, self.keys)
            )
            if path in first:
                return first[path]
            if path in second:
                return second[path]
            if not path:
                return None
            path = path[:-1]


def settings_path() -> str:
    """Return the settings path from ``SETTINGS_PATH``, or the default."""
    return os.environ.get("SETTINGS_PATH") or DEFAULT_SETTINGS_PATH


def load_settings(
    path: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> Settings:
    """Read, interpolate and validate a settings file.

    Raises SettingsError listing every problem found, each with file, line, column
    and key path.
    """
    display = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(
            [f"{display}: cannot read settings file: {exc.strerror}"]
        ) from exc
    except UnicodeDecodeError as exc:
        raise SettingsError(
            [f"{display}: invalid settings file: not UTF-8 text at byte {exc.start}"]
        ) from None
    return parse_settings(text, display, os.environ if environ is None else environ)


def parse_settings(text: str, display: str, environ: Mapping[str, str]) -> Settings:
    """Validate settings given as YAML text; ``display`` names the file in errors."""
    tree = _parse_yaml(text, display)
    positions = _Positions()
    problems: list[str] = []
    data = _to_plain(tree, (), positions, environ, display, problems)
    if not isinstance(data, dict):
        raise SettingsError([f"{display}:1:1: expected a mapping at the top level"])

    try:
        settings = SettingsSchema().load(data)
    except ValidationError as exc:
        unresolved = {line.split(": ", 2)[1] for line in problems}
        for line in _format_errors(exc.messages, display, positions):
            # A value whose variable is unset already has its error; skip follow-ups.
            if line.split(": ", 2)[1] not in unresolved:
                problems.append(line)
        raise SettingsError(
            redact(by_position(problems), secret_values(data))
        ) from None
    if problems:
        raise SettingsError(redact(by_position(problems), secret_values(data)))
    assert isinstance(settings, Settings)
    return settings


class _Constructor(RoundTripConstructor):
    """Round-trip constructor that keeps timestamps as strings.

    YAML 1.2's core schema has no timestamp type, and ruamel's own timestamp
    conversion raises a bare ValueError on an impossible date such as 2025-02-30.
    As strings, dates are parsed by the schema, which reports the line and key.
    """


_Constructor.add_constructor(
    "tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str
)


def _parse_yaml(text: str, display: str) -> Any:
    yaml = YAML(typ="rt")
    yaml.version = (1, 2)
    yaml.Constructor = _Constructor
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{display}:{mark.line + 1}:{mark.column + 1}" if mark else display
        raise SettingsError(
            [f"{where}: invalid YAML: {describe_yaml_error(exc)}"]
        ) from None
    except YAMLError:
        raise SettingsError([f"{display}: invalid YAML"]) from None


def describe_yaml_error(exc: MarkedYAMLError) -> str:
    """Describe a YAML syntax error without quoting values, which may be secrets.

    ruamel's messages quote the values involved (both values of a duplicate key, the
    name of an undefined alias), so only the key name or the kind of error is kept.
    """
    problem = exc.problem or exc.context or ""
    duplicate = re.search(r'duplicate key "([^"]{1,100})"', problem)
    if duplicate:
        return f"duplicate key {duplicate.group(1)!r}"
    if "undefined alias" in problem:
        return "undefined alias; quote a value that starts with '*'"
    return re.sub(r"(['\"]).{4,}?\1", "'...'", problem) or "syntax error"


def by_position(problems: list[str]) -> list[str]:
    """Sort problem lines by line and column, as an editor would list them."""

    def position(problem: str) -> tuple[int, int]:
        match = POSITION.search(problem)
        return (int(match.group(1)), int(match.group(2))) if match else (0, 0)

    return sorted(problems, key=position)


def secret_values(data: Any) -> set[str]:
    """Collect the values of every secret key (tokens, secrets) in loaded data."""
    found: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if key in SECRET_KEYS and isinstance(value, str) and value:
                found.add(value)
            found |= secret_values(value)
    elif isinstance(data, list):
        for item in data:
            found |= secret_values(item)
    return found


def redact(messages: list[str], secrets: set[str]) -> list[str]:
    """Replace every secret value in ``messages`` with ``***``.

    Only whole occurrences count, so that a short secret such as ``t`` does not
    mangle every word that contains the letter.
    """
    ordered = sorted(secrets, key=len, reverse=True)
    patterns = [re.compile(rf"(?<![\w-]){re.escape(s)}(?![\w-])") for s in ordered]
    cleaned = []
    for message in messages:
        for pattern in patterns:
            message = pattern.sub("***", message)
        cleaned.append(message)
    return cleaned


def _to_plain(
    node: Any,
    path: KeyPath,
    positions: _Positions,
    environ: Mapping[str, str],
    display: str,
    problems: list[str],
) -> Any:
    """Convert ruamel nodes to plain values, recording positions and expanding vars."""
    if isinstance(node, CommentedMap):
        result: dict[Any, Any] = {}
        for key, value in node.items():
            child = (*path, str(key))
            _record(node, key, child, positions)
            result[str(key)] = _to_plain(
                value, child, positions, environ, display, problems
            )
        return result
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            child = (*path, index)
            line, column = node.lc.item(index)
            positions.values[child] = (line + 1, column + 1)
            items.append(_to_plain(value, child, positions, environ, display, problems))
        return items
    if isinstance(node, str):
        return _expand(str(node), path, positions, environ, display, problems)
    return _plain_scalar(node)


def _record(node: CommentedMap, key: Any, path: KeyPath, positions: _Positions) -> None:
    try:
        key_line, key_column = node.lc.key(key)
        value_line, value_column = node.lc.value(key)
    except KeyError:
        # Keys merged in with "<<: *anchor" carry no position; use the parent's.
        return
    positions.keys[path] = (key_line + 1, key_column + 1)
    positions.values[path] = (value_line + 1, value_column + 1)


def _plain_scalar(value: Any) -> Any:
    """Strip ruamel's scalar subclasses so validation sees ordinary Python values."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dt.datetime):
        return dt.datetime.fromisoformat(value.isoformat())
    return value


def _expand(
    text: str,
    path: KeyPath,
    positions: _Positions,
    environ: Mapping[str, str],
    display: str,
    problems: list[str],
) -> str:
    def replace(match: re.Match[str]) -> str:
        name, fallback = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if fallback is not None:
            return fallback
        problems.append(
            _format_problem(
                display,
                positions.find(path),
                path,
                f"environment variable {name} is not set; set it or write "
                f"${{{name}:-fallback}}",
            )
        )
        return ""

    return ENV_REFERENCE.sub(replace, text)


def _format_errors(
    messages: Any, display: str, positions: _Positions, path: KeyPath = ()
) -> list[str]:
    """Flatten marshmallow's nested error dict into positioned lines."""
    if isinstance(messages, dict):
        lines: list[str] = []
        for key, value in messages.items():
            child = path if key == "_schema" else (*path, key)
            if key in ("key", "value") and child not in positions.values:
                child = path  # marshmallow's Dict nests errors under key/value
            lines.extend(_format_errors(value, display, positions, child))
        return lines
    if isinstance(messages, list):
        return [
            line
            for message in messages
            for line in _format_errors(message, display, positions, path)
        ]
    text = str(messages)
    unknown = text == "Unknown field."
    if unknown:
        text = f"unknown key {path[-1]!r}"
    elif text == "Missing data for required field.":
        text = "missing required key"
    position = positions.find(
        path, prefer_key=unknown or text == "missing required key"
    )
    return [_format_problem(display, position, path, text)]


def _format_problem(
    display: str, position: tuple[int, int] | None, path: KeyPath, message: str
) -> str:
    line, column = position or (1, 1)
    where = f"{display}:{line}:{column}"
    return (
        f"{where}: {format_key_path(path)}: {message}"
        if path
        else f"{where}: {message}"
    )


def format_key_path(path: KeyPath) -> str:
    """Render ``("connections", 0, "name")`` as ``connections[0].name``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
