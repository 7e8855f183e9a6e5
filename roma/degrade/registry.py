"""The corruption registry: names, groups and severity rules.

A corruption is a pure function ``fn(image, severity, rng) -> image`` on ``uint8`` H×W×3 RGB arrays that
keeps the shape and dtype. A corruption registered with a five-row severity table receives its parameters
(the table row, interpolated for fractional severities) in place of the severity, so its name and table are
written once, in the decorator. Built-in groups: :data:`SEEN` (the training corruptions), :data:`UNSEEN`
(evaluation only) and :data:`ALL` (every registered corruption, user ones included). Seen and unseen are
disjoint because a corruption joins at most one group when it is registered; user groups made with
:func:`register_group` are free subsets of any registered corruptions. The built-in named sets
:data:`IMAGENET_C` (the 19 ImageNet-C corruptions), :data:`WEATHER` and :data:`CAPTURE` are fixed lists that
overlap the others (defined in :mod:`roma.degrade.corruptions`); like seen, unseen and all, they cannot be
redefined.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from roma.degrade.errors import RegistryError, SeverityError, UnknownCorruptionError, shown

__all__ = [
    "ALL",
    "CAPTURE",
    "IMAGENET_C",
    "MAX_SEVERITY",
    "MIN_SEVERITY",
    "SEEN",
    "UNSEEN",
    "WEATHER",
    "Corruption",
    "CorruptionFn",
    "get_corruption",
    "list_corruptions",
    "list_groups",
    "register_corruption",
    "register_group",
    "resolve_corruptions",
    "severity_parameters",
    "validate_severity",
]

SEEN = "seen"
UNSEEN = "unseen"
ALL = "all"
IMAGENET_C = "imagenet_c"
WEATHER = "weather"
CAPTURE = "capture"
# Named sets with fixed members, across seen / unseen (their members: roma.degrade.corruptions).
LISTED_GROUPS = (IMAGENET_C, WEATHER, CAPTURE)
BUILTIN_GROUPS = (SEEN, UNSEEN, ALL, *LISTED_GROUPS)
MIN_SEVERITY, MAX_SEVERITY = 1, 5

CorruptionFn = Callable[[np.ndarray, float, np.random.Generator], np.ndarray]
SeverityRow = float | tuple[float, ...]

# Names are used in CLI comma lists, file names and JSONL records: keep them plain.
_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class Corruption:
    """One registered corruption."""

    name: str
    fn: CorruptionFn
    group: str | None
    continuous: bool
    """Whether fractional severities in [1, 5] are accepted (parameters interpolated between levels)."""
    severities: tuple[SeverityRow, ...] | None = None
    """The parameters of severity 1..5 (five rows); ``fn`` then receives a row instead of the severity."""

    def parameters(self, severity: float) -> SeverityRow:
        """What ``fn`` receives for ``severity``: its table row (interpolated), or the severity itself."""
        return severity if self.severities is None else severity_parameters(self.severities, severity)

    def __call__(self, image: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
        return self.fn(image, self.parameters(severity), rng)


def severity_parameters(table: Sequence[SeverityRow], severity: float) -> SeverityRow:
    """The table row for an integer severity, or the linear interpolation of its neighbours otherwise."""
    low = int(math.floor(severity))
    fraction = severity - low
    if fraction == 0:
        return table[low - 1]
    a, b = table[low - 1], table[low]
    if isinstance(a, tuple):
        return tuple(x + (y - x) * fraction for x, y in zip(a, b))  # type: ignore[arg-type]
    return a + (b - a) * fraction  # type: ignore[operator]


def _check_table(name: str, severities: object) -> tuple[SeverityRow, ...]:
    count = MAX_SEVERITY - MIN_SEVERITY + 1
    if (
        not isinstance(severities, Sequence)
        or isinstance(severities, (str, bytes))
        or len(severities) != count
    ):
        raise RegistryError(
            f"severities for corruption {name!r} must be {count} rows (severity {MIN_SEVERITY}..{MAX_SEVERITY}), "
            f"got {severities!r}"
        )
    rows = tuple(tuple(row) if isinstance(row, Sequence) else row for row in severities)
    kinds = {len(row) if isinstance(row, tuple) else None for row in rows}
    numeric = all(
        isinstance(x, numbers.Real) and not isinstance(x, bool)
        for row in rows
        for x in (row if isinstance(row, tuple) else (row,))
    )
    if len(kinds) != 1 or not numeric:
        raise RegistryError(
            f"severities for corruption {name!r} must be {count} numbers or {count} equal-length tuples of "
            f"numbers, got {severities!r}"
        )
    return rows


_CORRUPTIONS: dict[str, Corruption] = {}
_USER_GROUPS: dict[str, tuple[str, ...]] = {}
_LISTED_MEMBERS: dict[str, tuple[str, ...]] = {}


def define_listed_group(group: str, names: Sequence[str]) -> None:
    """Set the members of a built-in listed group (:data:`LISTED_GROUPS`); every name must be registered."""
    if group not in LISTED_GROUPS:
        raise RegistryError(f"{group!r} is not one of the built-in listed groups {LISTED_GROUPS}")
    missing = [name for name in names if name not in _CORRUPTIONS]
    if missing:
        raise RegistryError(f"group {group!r} lists unregistered corruptions {missing}")
    _LISTED_MEMBERS[group] = tuple(names)


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        raise RegistryError(
            f"{what} name must be a string of letters, digits, '_', '.' or '-' starting with a letter, got {name!r}"
        )
    return name


def register_corruption(
    name: str,
    group: str | None = None,
    *,
    severities: Sequence[SeverityRow] | None = None,
    continuous: bool | None = None,
    overwrite: bool = False,
) -> Callable[[CorruptionFn], CorruptionFn]:
    """Decorator registering ``fn(image, severity, rng) -> image`` under ``name``.

    Args:
        name: the corruption's name (letters, digits, ``_ . -``); must not clash with a group name.
        group: ``"seen"``, ``"unseen"``, a user group (created if new), or None (only in ``"all"``).
        severities: the parameters of severity 1..5, five numbers or five equal-length tuples. The function
            then receives the row of the requested severity (interpolated between rows for a fractional one;
            round integer parameters yourself) instead of the severity: ``fn(image, row, rng)``.
        continuous: accept fractional severities (the function then receives a ``float``, or an interpolated
            row); otherwise it receives an ``int`` in 1..5 (or that row) and fractional severities are refused.
            Default: True with a severity table, False without.
        overwrite: replace an existing corruption of the same name instead of raising.

    The function gets a read-only ``uint8`` H×W×3 RGB array and must return a new ``uint8`` array of the
    same shape; :func:`roma.degrade.corrupt` checks that and names the corruption if it does not.
    """
    _check_name(name, "corruption")
    if group is not None:
        _check_name(group, "group")
        if group == ALL:
            raise RegistryError(f"every corruption is in {ALL!r} already; pass group=None for {name!r}")
        if group in LISTED_GROUPS:
            raise RegistryError(
                f"group {group!r} is a built-in fixed list; register {name!r} with group=None, 'seen', 'unseen' "
                f"or a group of your own (register_group can name a group containing {group!r} and {name!r})"
            )
        if group in _CORRUPTIONS:
            raise RegistryError(
                f"group {group!r} for corruption {name!r} clashes with a corruption of that name"
            )
    if name in BUILTIN_GROUPS or name in _USER_GROUPS:
        raise RegistryError(f"corruption name {name!r} clashes with a group of that name")
    if name in _CORRUPTIONS and not overwrite:
        raise RegistryError(f"corruption {name!r} is already registered; pass overwrite=True to replace it")
    table = None if severities is None else _check_table(name, severities)
    if continuous is None:
        continuous = table is not None

    def decorator(fn: CorruptionFn) -> CorruptionFn:
        if not callable(fn):
            raise RegistryError(f"register_corruption({name!r}) must decorate a function, got {fn!r}")
        previous = _CORRUPTIONS.get(name)
        if previous is not None and previous.group not in (None, SEEN, UNSEEN):
            _USER_GROUPS[previous.group] = tuple(n for n in _USER_GROUPS[previous.group] if n != name)
        _CORRUPTIONS[name] = Corruption(
            name=name, fn=fn, group=group, continuous=continuous, severities=table
        )
        if group is not None and group not in (SEEN, UNSEEN):
            members = _USER_GROUPS.get(group, ())
            _USER_GROUPS[group] = (*members, name) if name not in members else members
        return fn

    return decorator


def register_group(name: str, names: str | Sequence[str], *, overwrite: bool = False) -> list[str]:
    """Define a user group ``name`` as the corruptions ``names`` resolve to (groups may be nested in).

    The built-in groups cannot be redefined. Returns the resolved member list.
    """
    _check_name(name, "group")
    if name in BUILTIN_GROUPS:
        raise RegistryError(f"group {name!r} is built in and cannot be redefined; pick another name")
    if name in _CORRUPTIONS:
        raise RegistryError(f"group name {name!r} clashes with a corruption of that name")
    if name in _USER_GROUPS and not overwrite:
        raise RegistryError(f"group {name!r} already exists; pass overwrite=True to replace it")
    members = resolve_corruptions(names)
    _USER_GROUPS[name] = tuple(members)
    return members


def list_groups() -> list[str]:
    """Every group name: the built-in ones, then user groups in creation order."""
    return [*BUILTIN_GROUPS, *_USER_GROUPS]


def _group_members(group: str) -> list[str]:
    if group == ALL:
        return list(_CORRUPTIONS)
    if group in (SEEN, UNSEEN):
        return [name for name, c in _CORRUPTIONS.items() if c.group == group]
    if group in LISTED_GROUPS:
        return [name for name in _LISTED_MEMBERS.get(group, ()) if name in _CORRUPTIONS]
    return [name for name in _USER_GROUPS[group] if name in _CORRUPTIONS]


def _unknown(name: object, kind: str = "corruption or group") -> UnknownCorruptionError:
    known = [*list_groups(), *_CORRUPTIONS]
    close = difflib.get_close_matches(str(name), known, n=1) if isinstance(name, str) else []
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return UnknownCorruptionError(
        f"unknown {kind} {name!r}.{hint} Known groups: {', '.join(list_groups())}; "
        f"known corruptions: {', '.join(_CORRUPTIONS)}"
    )


def list_corruptions(group: str | None = None) -> list[str]:
    """Names of the registered corruptions (in registration order), optionally of one group only."""
    if group is None:
        return list(_CORRUPTIONS)
    if group not in BUILTIN_GROUPS and group not in _USER_GROUPS:
        raise _unknown(group, "group")
    return _group_members(group)


def get_corruption(name: str) -> Corruption:
    """The registered :class:`Corruption` called ``name``."""
    try:
        return _CORRUPTIONS[name]
    except (KeyError, TypeError):
        if isinstance(name, str) and (name in BUILTIN_GROUPS or name in _USER_GROUPS):
            raise UnknownCorruptionError(
                f"{name!r} is a group of corruptions, not one corruption: corrupt() applies one corruption "
                f"({', '.join(_group_members(name)) or 'none registered'}); to draw from a group pass it to "
                f"DegradationSampler({name!r}, ...) or expand it with resolve_corruptions({name!r})"
            ) from None
        raise _unknown(name, "corruption") from None


def resolve_corruptions(spec: str | Sequence[str]) -> list[str]:
    """Expand a group name, a corruption name, or a sequence mixing both into corruption names.

    A string may also be a comma-separated list (``"seen,motion_blur"``). The result keeps first-seen order
    without duplicates; unknown names raise :class:`UnknownCorruptionError` with the closest match.
    """
    if isinstance(spec, str):
        items = [part.strip() for part in spec.split(",")]
    elif isinstance(spec, Sequence) and not isinstance(spec, bytes):
        items = list(spec)
    else:
        raise UnknownCorruptionError(
            f"expected a corruption or group name or a list of them, got {type(spec).__name__}: {spec!r}"
        )
    resolved: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str):
            raise UnknownCorruptionError(
                f"corruption names must be strings, got {type(item).__name__}: {item!r}"
            )
        if item in BUILTIN_GROUPS or item in _USER_GROUPS:
            resolved.update(dict.fromkeys(_group_members(item)))
        elif item in _CORRUPTIONS:
            resolved[item] = None
        else:
            raise _unknown(item)
    if not resolved:
        raise UnknownCorruptionError(f"{spec!r} names no corruption")
    return list(resolved)


def validate_severity(severity: object, corruption: Corruption) -> float | int:
    """Check a severity for ``corruption``: an int in 1..5, or any real in [1, 5] if it is continuous.

    Integral values (``3``, ``3.0``, ``np.int64(3)``) come back as ``int`` so tables index exactly.
    """
    if isinstance(severity, bool) or not isinstance(severity, numbers.Real):
        raise SeverityError(
            f"severity for {corruption.name!r} must be a number in [{MIN_SEVERITY}, {MAX_SEVERITY}], "
            f"got {type(severity).__name__}: {shown(severity)}"
        )
    value = float(severity)
    if not math.isfinite(value) or not MIN_SEVERITY <= value <= MAX_SEVERITY:
        raise SeverityError(
            f"severity for {corruption.name!r} must be in [{MIN_SEVERITY}, {MAX_SEVERITY}], got {shown(severity)}"
        )
    if value.is_integer():
        return int(value)
    if not corruption.continuous:
        raise SeverityError(
            f"corruption {corruption.name!r} only has integer severities {MIN_SEVERITY}..{MAX_SEVERITY}, "
            f"got {shown(severity)} (register it with continuous=True to interpolate)"
        )
    return value
