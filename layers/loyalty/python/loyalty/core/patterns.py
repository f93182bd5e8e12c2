"""EventBridge-style patterns over an event's detail, pure: the subset campaigns' triggers and MOT
rules match (lists of allowed values, `{"prefix": ...}`, `{"numeric": [op, n, ...]}`,
`{"exists": bool}`, nested objects)."""

from __future__ import annotations

from typing import Any

NUMERIC_OPS = {"<", "<=", "=", ">", ">="}


def check_pattern(pattern: Any, path: str = "pattern") -> None:
    """Raises ValueError unless `pattern` is one EventBridge would accept (the subset we match)."""
    if not isinstance(pattern, dict):
        raise ValueError(f"{path} must be an object")
    for key, value in pattern.items():
        where = f"{path}.{key}"
        if isinstance(value, dict):
            check_pattern(value, where)
        elif not isinstance(value, list) or not value:
            raise ValueError(f"{where} must be a non-empty list of values or matchers")
        else:
            for matcher in value:
                _check_matcher(matcher, where)


def _check_matcher(matcher: Any, where: str) -> None:
    if isinstance(matcher, str | int | float | bool) or matcher is None:
        return
    if not isinstance(matcher, dict) or len(matcher) != 1:
        raise ValueError(f"{where}: a matcher is a value or one of prefix, numeric, exists")
    (kind, arg), = matcher.items()
    if kind == "prefix" and isinstance(arg, str):
        return
    if kind == "exists" and isinstance(arg, bool):
        return
    if kind == "numeric" and isinstance(arg, list) and arg and len(arg) % 2 == 0:
        pairs = list(zip(arg[::2], arg[1::2], strict=True))
        if all(op in NUMERIC_OPS and isinstance(n, int | float) and not isinstance(n, bool) for op, n in pairs):
            return
    raise ValueError(f"{where}: invalid matcher {matcher!r}")


def matches_pattern(pattern: dict[str, Any], detail: dict[str, Any]) -> bool:
    for key, expected in pattern.items():
        value = detail.get(key)
        if isinstance(expected, dict):
            if not isinstance(value, dict) or not matches_pattern(expected, value):
                return False
        elif not any(_matches(m, key in detail, value) for m in expected):
            return False
    return True


def _matches(matcher: Any, present: bool, value: Any) -> bool:
    if not isinstance(matcher, dict):
        return present and (value == matcher or (isinstance(value, list) and matcher in value))
    (kind, arg), = matcher.items()
    if kind == "exists":
        return present is arg
    if kind == "prefix":
        return isinstance(value, str) and value.startswith(arg)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    compare = {"<": value.__lt__, "<=": value.__le__, "=": value.__eq__, ">": value.__gt__, ">=": value.__ge__}
    return all(compare[op](n) for op, n in zip(arg[::2], arg[1::2], strict=True))
