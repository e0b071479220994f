"""What the spaces share: the error type, a safe reader of DARTS' `Genotype(...)` text and a cell's short name."""

from __future__ import annotations

import ast
import hashlib
from typing import Any


class GenotypeError(ValueError):
    """A genotype is malformed; the message names the one problem found."""


def cell_hash(text: object) -> str:
    """A cell's short name (tables, run pages): the first 8 hex digits of the sha256 of its DARTS text, the form
    its runs are tagged with (`genotype.to_darts()`); "" for no text. The full text stays in the run's record."""
    if not isinstance(text, str) or not text:
        return ""
    return hashlib.sha256(text.encode()).hexdigest()[:8]


# Bounds checked before anything is expanded: a DARTS genotype string is a few hundred characters and
# its lists hold at most 8 items, so these are generous yet keep a hostile string from eating memory.
MAX_GENOTYPE_TEXT = 10_000
MAX_RANGE_ITEMS = 64


def _literal(node: ast.AST, where: str) -> Any:
    """A Python literal, or `range(a, b)` as DARTS writes concat lists; nothing is evaluated."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range" and not node.keywords:
        bounds = [_literal(arg, where) for arg in node.args]
        if not all(isinstance(b, int) for b in bounds) or not 1 <= len(bounds) <= 3:
            raise GenotypeError(f"{where}: range() takes 1 to 3 integers")
        if 0 in bounds[2:]:
            raise GenotypeError(f"{where}: range() step must not be zero")
        span = range(*bounds)  # len() of a range is computed, not expanded
        if len(span) > MAX_RANGE_ITEMS:
            raise GenotypeError(
                f"{where}: range() spans {len(span)} items; a concat list has at most {MAX_RANGE_ITEMS}"
            )
        return list(span)
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise GenotypeError(f"{where}: not a literal: {ast.unparse(node)}") from None


def parse_genotype_call(text: str, fields: tuple[str, ...]) -> dict[str, Any]:
    """Read `Genotype(field=..., ...)` into a dict without `eval`; every field must be given once."""
    if len(text) > MAX_GENOTYPE_TEXT:
        raise GenotypeError(f"a genotype string of {len(text)} characters is too long (at most {MAX_GENOTYPE_TEXT})")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise GenotypeError(f"not a genotype string: {error.msg} at column {error.offset}") from None
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Genotype"):
        raise GenotypeError("not a genotype string: expected Genotype(...)")
    if call.args:
        raise GenotypeError("Genotype(...) takes keyword arguments only")
    values: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg not in fields:
            raise GenotypeError(f"Genotype(...) has an unknown field {keyword.arg!r}; expected {', '.join(fields)}")
        if keyword.arg in values:
            raise GenotypeError(f"Genotype(...) gives {keyword.arg!r} twice")
        values[keyword.arg] = _literal(keyword.value, keyword.arg)
    missing = [name for name in fields if name not in values]
    if missing:
        raise GenotypeError(f"Genotype(...) lacks {', '.join(missing)}")
    return values


def edge_list(value: Any, where: str) -> tuple[tuple[str, int], ...]:
    """A list of (name, int) pairs, as tuples."""
    if not isinstance(value, (list, tuple)):
        raise GenotypeError(f"{where} must be a list of (op, input) pairs")
    edges = []
    for position, edge in enumerate(value):
        if not (
            isinstance(edge, (list, tuple))
            and len(edge) == 2
            and isinstance(edge[0], str)
            and isinstance(edge[1], int)
            and not isinstance(edge[1], bool)
        ):
            raise GenotypeError(f"{where}[{position}] must be an (op name, input index) pair, got {edge!r}")
        edges.append((edge[0], edge[1]))
    return tuple(edges)
