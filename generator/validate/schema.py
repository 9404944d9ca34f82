"""JSON Schema validation of a loaded spec, mapped to problems with positions.

The schema file in ``schema/`` is the contract; it is loaded (once per process)
from the package's data folder, which is a link to that file, never copied by hand.
Every error of every list item is reported (jsonschema's ``iter_errors``), not
only the first or the "best" one.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from importlib import resources
from typing import TYPE_CHECKING, Any, Iterable

from generator import codes
from generator.loader import Loaded
from generator.problems import Location, Problem

if TYPE_CHECKING:  # jsonschema is imported when a spec is validated, not by every user of this module
    import jsonschema
    from jsonschema.exceptions import ValidationError

RANGE_VALIDATORS = {
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties",
}


@functools.cache
def schema_text() -> str:
    return resources.files("generator").joinpath("data/environment.schema.json").read_text(encoding="utf-8")


@functools.cache
def schema() -> dict[str, Any]:
    return json.loads(schema_text())


@functools.cache
def validator() -> jsonschema.Draft202012Validator:
    # No check_schema() here: the schema ships with the package and is checked against the draft 2020-12
    # metaschema by the test suite (tests/core/test_schema.py); checking it on every run cost 0.2 s of
    # each CLI start, fifty times the validation itself.
    import jsonschema

    return jsonschema.Draft202012Validator(schema())


def pointer(path: Iterable) -> str:
    return "/" + "/".join(str(p) for p in path) if path else "/"


def _describe(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _subschema(error: ValidationError) -> dict:
    return error.schema if isinstance(error.schema, dict) else {}


def _resolve(s: dict) -> dict:
    ref = s.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        merged = dict(schema()["$defs"][ref.rsplit("/", 1)[1]])
        merged.update({k: v for k, v in s.items() if k != "$ref"})
        return merged
    return s


def _expected(s: dict) -> str:
    s = _resolve(s)
    desc = s.get("description", "").rstrip(".")
    return f" ({desc})" if desc else ""


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def errors_to_problems(loaded: Loaded, display_path: str, environment: str = "") -> list[Problem]:
    """Validate ``loaded.data`` against the schema and map every error to a Problem."""
    problems: list[Problem] = []
    for error in validator().iter_errors(loaded.data):
        problems.extend(_map_error(error, loaded, display_path, environment))
    return _merge_typos(problems)


def _merge_typos(problems: list[Problem]) -> list[Problem]:
    """Drop "missing required field X" when an unknown key next to it is a misspelling of X:
    the HG102 "did you mean 'X'?" already says everything."""
    suggested = set()
    for p in problems:
        if p.code == codes.HG102.id and p.hint.startswith("Did you mean '"):
            parent = p.path.rsplit("/", 1)[0]
            suggested.add(f"{parent}/{p.hint.split(chr(39))[1]}")
    return [p for p in problems if not (p.code == codes.HG101.id and p.path in suggested)]


def did_you_mean(word: str, candidates: list[str]) -> list[str]:
    """At most one suggestion: a close spelling, else a candidate the word abbreviates ("prod")."""
    guess = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    if guess:
        return guess
    low = word.lower()
    prefixed = [c for c in candidates if len(low) >= 3 and c.lower().startswith(low)]
    return prefixed[:1] if len(prefixed) == 1 else []


def _loc(loaded: Loaded, display_path: str, path: tuple, key: bool = False) -> Location:
    line, col = loaded.locate_key(path) if key else loaded.locate(path)
    return Location(display_path, line, col)


def _map_error(error: ValidationError, loaded: Loaded, file: str, env: str) -> list[Problem]:
    path = tuple(error.absolute_path)
    where = _describe(path)
    v = error.validator
    s = _subschema(error)
    if v == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(s.get("properties", {}))
        patterns = [re.compile(p) for p in s.get("patternProperties", {})]
        out = []
        for key in error.instance:
            if key in s.get("properties", {}) or any(p.search(str(key)) for p in patterns):
                continue
            guess = did_you_mean(str(key), allowed)
            hint = f"Did you mean '{guess[0]}'?" if guess else (
                f"Allowed here: {', '.join(allowed)}." if allowed else codes.HG102.hint)
            name = f"{where}.{key}" if path else str(key)
            if patterns and not allowed:
                msg = f"'{key}' is not a valid key in {where} (keys must match {', '.join(p.pattern for p in patterns)})"
            else:
                msg = f"unknown field '{name}'" + (f"; did you mean '{guess[0]}'?" if guess else "")
            out.append(codes.HG102.problem(msg, _loc(loaded, file, path + (key,), key=True), hint=hint,
                                           environment=env, path=pointer(path + (key,))))
        return out
    if v == "required":
        missing = [r for r in error.validator_value if isinstance(error.instance, dict) and r not in error.instance]
        out = []
        for r in missing:
            sub = s.get("properties", {}).get(r, {})
            out.append(codes.HG101.problem(
                f"missing required field '{r}' in {where}{_expected(sub)}",
                _loc(loaded, file, path, key=True), environment=env, path=pointer(path + (r,))))
        return out
    if v == "not" and isinstance(error.validator_value, dict) and "required" in error.validator_value:
        fields = error.validator_value["required"]
        return [codes.HG107.problem(
            f"field '{f}' is not allowed in {where} with this configuration (see 'type')",
            _loc(loaded, file, path + (f,), key=True), environment=env, path=pointer(path + (f,)),
            hint=f"Remove '{f}'; it only applies to another authenticator type.") for f in fields]
    if v == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return [codes.HG103.problem(
            f"{where} must be of type {expected}, got {_json_type(error.instance)} {_short(error.instance)}",
            _loc(loaded, file, path), environment=env, path=pointer(path))]
    if v in ("pattern", "format"):
        if _is_chart_version(path):  # a range or wildcard: the more specific HG211
            return [codes.HG211.problem(
                f"{where}: {_short(error.instance)} is not an exact chart version{_expected(s)}",
                _loc(loaded, file, path), environment=env, path=pointer(path))]
        return [codes.HG104.problem(
            f"{where}: {_short(error.instance)} is not valid{_expected(s)}",
            _loc(loaded, file, path), environment=env, path=pointer(path),
            hint=f"Expected a value matching {error.validator_value!r}." if v == "pattern" else codes.HG104.hint)]
    if v == "propertyNames":
        return [codes.HG104.problem(f"{where}: invalid key {_short(error.instance)}{_expected(s)}",
                                    _loc(loaded, file, path), environment=env, path=pointer(path))]
    if v in ("enum", "const"):
        allowed = error.validator_value if v == "enum" else [error.validator_value]
        guess = did_you_mean(str(error.instance), [str(a) for a in allowed])
        hint = f"Allowed: {', '.join(map(str, allowed))}." + (f" Did you mean '{guess[0]}'?" if guess else "")
        return [codes.HG105.problem(f"{where}: {_short(error.instance)} is not one of {', '.join(map(str, allowed))}",
                                    _loc(loaded, file, path), environment=env, path=pointer(path), hint=hint)]
    if v in RANGE_VALIDATORS:
        return [codes.HG106.problem(f"{where}: {error.message}", _loc(loaded, file, path),
                                    environment=env, path=pointer(path))]
    if v == "uniqueItems":
        return [codes.HG107.problem(f"{where}: list items must be unique; {_short(error.instance)} repeats a value",
                                    _loc(loaded, file, path), environment=env, path=pointer(path),
                                    hint="Remove the duplicate entry.")]
    return [codes.HG107.problem(f"{where}: {error.message}", _loc(loaded, file, path), environment=env,
                                path=pointer(path))]


def _is_chart_version(path: tuple) -> bool:
    """``hubs[i].chart.version``: its format is "exact semver", so any mismatch is HG211."""
    return len(path) == 4 and path[0] == "hubs" and path[2:] == ("chart", "version")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
