"""Cheap numeric parsing of extracted answers, tried before math-verify.

``parse_number("3,000 cm")`` is 3000.0 and ``parse_number(r"\\frac{8}{11}")`` is 8/11 in microseconds;
anything symbolic (``2\\sqrt{2}``, ``5x``) is ``None`` and left to math-verify.
"""

from __future__ import annotations

import math
import re

__all__ = ["is_unit", "numbers_equal", "parse_number", "strip_unit"]

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_NUMBER_RE = re.compile(rf"^{_NUMBER}$")
_THOUSANDS_RE = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_FRACTION_RE = re.compile(rf"^([-+]?)\\frac\{{\s*({_NUMBER})\s*\}}\{{\s*({_NUMBER})\s*\}}$")
_SLASH_FRACTION_RE = re.compile(rf"^({_NUMBER})\s*/\s*({_NUMBER})$")
_LEADING_NUMBER_RE = re.compile(rf"^({_NUMBER})\s*(.*)$")
# A unit tail: words of two or more letters, or one of the single-letter SI symbols, optionally with a
# power and a "/ other unit" part. A lone variable such as "x" is deliberately NOT a unit: "5x" != 5.
# Function and constant names are never units: "2 pi" is not 2.
_NOT_A_UNIT = r"(?!(?:pi|sqrt|log|ln|sin|cos|tan|cot|sec|csc|exp|times|cdot|div|frac)\b)"
_UNIT_WORD = rf"{_NOT_A_UNIT}(?:[a-zA-Z]{{2,}}|[mgsLlhVNJWAK])(?:\^\{{?[23]\}}?|[²³])?"
_UNIT_TAIL_RE = re.compile(rf"^{_UNIT_WORD}(?:\s*(?:/|per\s)\s*{_UNIT_WORD}|\s+{_UNIT_WORD})*\.?$")
_ASSIGNMENT_RE = re.compile(r"^[a-zA-Z](?:_\{?\w+\}?)?\s*=\s*(.+)$")


def is_unit(text: str) -> bool:
    """Whether ``text`` is a unit (``cm``, ``m/s``, ``cm^2``, ``square units``), not a variable or a function."""
    return bool(_UNIT_TAIL_RE.match(text.strip()))


def strip_unit(text: str) -> str:
    """Return the number in ``"<number> <unit>"`` (``"5 cm"`` -> ``"5"``), else ``text`` unchanged.

    Degree and percent signs are left to the caller (they are handled when answers are cleaned).
    """
    match = _LEADING_NUMBER_RE.match(text.strip())
    if match and match.group(2) and is_unit(match.group(2)):
        return match.group(1)
    return text


def parse_number(text: str) -> float | None:
    """Parse a plain number, a numeric fraction, a percentage or a number with a unit; else ``None``.

    Accepted: ``12``, ``-3.5``, ``1e-3``, ``3,000``, ``8/11``, ``\\frac{8}{11}``, ``-\\frac{1}{2}``,
    ``50%``, ``5 cm``, ``x = 5``. Rejected (``None``): symbolic expressions (``2\\sqrt{2}``, ``5x``,
    ``\\pi``), lists (``3, 4``), words.
    """
    if not text:
        return None
    cleaned = text.strip().replace("\u2212", "-").replace("\\%", "%").replace("$", "").strip()
    cleaned = cleaned.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    assignment = _ASSIGNMENT_RE.match(cleaned)
    if assignment:
        cleaned = assignment.group(1).strip()
    if cleaned.endswith("%"):
        cleaned = cleaned[:-1].rstrip()
    if _THOUSANDS_RE.match(cleaned):
        cleaned = cleaned.replace(",", "")
    if _NUMBER_RE.match(cleaned):
        return _finite(float(cleaned))
    fraction = _FRACTION_RE.match(cleaned)
    if fraction:
        return _divide(fraction.group(2), fraction.group(3), negative=fraction.group(1) == "-")
    fraction = _SLASH_FRACTION_RE.match(cleaned)
    if fraction:
        return _divide(fraction.group(1), fraction.group(2))
    without_unit = strip_unit(cleaned)
    if without_unit != cleaned and _NUMBER_RE.match(without_unit):
        return _finite(float(without_unit))
    return None


def numbers_equal(
    predicted: float,
    gold: float,
    *,
    precision: int | None = None,
    tolerance: float | None = None,
    relative_tolerance: float | None = None,
) -> tuple[bool, str]:
    """Compare two numbers under one rule; return ``(equal, rule description)``.

    - ``precision``: both rounded to that many decimals (MathVista: 3.14159 == 3.142 at precision 3).
    - ``tolerance``: ``|p - g| <= tolerance`` (DynaMath: 0.001).
    - ``relative_tolerance``: ``|p - g| <= rel * |g|`` (ChartQA relaxed accuracy: 5 %); a gold of 0 needs
      an exact 0.
    - none of them: equal up to float round-off (``8/11`` == ``0.7272727272727273``).
    """
    if precision is not None:
        equal = round(predicted, precision) == round(gold, precision)
        return equal, f"rounded to {precision} decimals"
    if tolerance is not None:
        # The epsilon keeps a difference of exactly the tolerance (0.001 in decimal) inside it in binary.
        equal = abs(predicted - gold) <= tolerance + 1e-12
        return equal, f"absolute tolerance {tolerance:g}"
    if relative_tolerance is not None:
        equal = abs(predicted - gold) <= relative_tolerance * abs(gold) + 1e-12
        return equal, f"relative tolerance {relative_tolerance:g}"
    return math.isclose(predicted, gold, rel_tol=1e-9, abs_tol=1e-12), "numerically equal"


def _divide(numerator: str, denominator: str, negative: bool = False) -> float | None:
    denominator_value = float(denominator)
    if denominator_value == 0:
        return None
    value = float(numerator) / denominator_value
    return _finite(-value if negative else value)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
