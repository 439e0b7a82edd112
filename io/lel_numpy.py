"""The element-wise part of casacore's LEL, parsed and evaluated with numpy, per box.

Image expressions in astronomy are mostly element-wise arithmetic on images of one shape:
``"a.fits" - "b.fits"``, ``sqrt("q.fits"^2 + "u.fits"^2)``, ``log("a.fits" / "b.fits") /
log(1.1)``, ``iif("a.fits" > 0, "a.fits", 0)``, ``"a.fits"["b.fits" > 3e-3]``. This module
parses that subset of the LEL grammar into a small tree and evaluates it on one box of the
images at a time, reading each image through our own readers (memory maps, HDF5, CASA), so
a plane costs about what reading its inputs costs, and HDF5 images can take part.

Semantics follow LEL where the subset reaches: precedence (lowest first) ``||``, ``&&``,
comparisons, ``+ -``, ``* / %``, unary ``- + !``, ``^`` (right-associative, above unary
minus: ``-2^2`` is -4), postfix mask ``x[condition]``; masked pixels are NaN and propagate
(a comparison or logical operation with a masked operand is masked, a mask keeps the pixels
where the condition is true and unmasked); booleans and numbers do not mix (as LEL). Values
are float32 as the images' (Python constants do not widen them).

Anything outside the subset -- reductions to a scalar (one-argument ``min``/``max``,
``mean``, ``median``, ``sum``...), complex functions, regions, ``$`` variables, a boolean
result -- raises :class:`Unsupported`; the caller then lets casacore evaluate the whole
expression (or refuses it when an HDF5 image is involved). Syntax errors raise
:class:`Unsupported` too, so casacore reports them in its own words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

__all__ = ["Node", "Unsupported", "evaluate", "image_names", "parse"]


class Unsupported(Exception):
    """The expression is not in the element-wise subset (or does not parse)."""


@dataclass(frozen=True)
class Node:
    """A parsed expression: ``kind`` is ``num``, ``image``, ``bool``, ``op`` (binary or
    unary, by argument count), ``call`` or ``mask``; ``boolean`` is its static type."""

    kind: str
    value: object = None
    args: tuple[Node, ...] = ()
    boolean: bool = False


_TOKEN = re.compile(r"""
    \s*(?:
      (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<str>"[^"]*"|'[^']*')
    | (?P<name>[A-Za-z_~.][A-Za-z0-9_./~]*)
    | (?P<op>\|\||&&|==|!=|>=|<=|\*\*|[-+*/%^()<>!,\[\]])
    )""", re.VERBOSE)

_UNARY: dict[str, Any] = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
    "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "exp": np.exp, "log": np.log, "log10": np.log10,
    "sqrt": np.sqrt, "abs": np.abs, "amplitude": np.abs, "ceil": np.ceil, "floor": np.floor,
    "round": np.round, "sign": np.sign,
}
_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    # two-argument min/max: masked where either is masked (not numpy's NaN-skipping fmin/fmax)
    "atan2": np.arctan2, "pow": np.power, "fmod": np.fmod, "min": np.minimum, "max": np.maximum,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
_COMPARE = {"==": np.equal, "!=": np.not_equal, ">": np.greater, ">=": np.greater_equal,
            "<": np.less, "<=": np.less_equal}


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise Unsupported(f"cannot read {text[pos:pos + 10]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.images: list[str] = []

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (value is not None and token[1] != value):
            raise Unsupported(f"expected {value or 'more'} at {token[1]!r}")
        self.pos += 1
        return token

    def binary(self, ops: Sequence[str], below: Callable[[], Node], logical: bool = False,
               compare: bool = False) -> Node:
        left = below()
        while self.peek()[0] == "op" and self.peek()[1] in ops:
            op = self.take()[1]
            right = below()
            if logical and not (left.boolean and right.boolean):
                raise Unsupported("logical operator on numbers")
            if not logical and (left.boolean or right.boolean) and not (compare and op in ("==", "!=")
                                                                           and left.boolean and right.boolean):
                raise Unsupported("numbers and booleans mixed")
            left = Node("op", op, (left, right), boolean=logical or compare)
        return left

    def expression(self) -> Node:
        return self.binary(("||",), self.conjunction, logical=True)

    def conjunction(self) -> Node:
        return self.binary(("&&",), self.comparison, logical=True)

    def comparison(self) -> Node:
        return self.binary(tuple(_COMPARE), self.additive, compare=True)

    def additive(self) -> Node:
        return self.binary(("+", "-"), self.multiplicative)

    def multiplicative(self) -> Node:
        return self.binary(("*", "/", "%"), self.unary)

    def unary(self) -> Node:
        kind, value = self.peek()
        if kind == "op" and value in ("-", "+", "!"):
            self.take()
            operand = self.unary()
            if (value == "!") != operand.boolean:
                raise Unsupported(f"unary {value} on the wrong type")
            return operand if value == "+" else Node("op", value, (operand,), boolean=operand.boolean)
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        if self.peek() in (("op", "^"), ("op", "**")):
            self.take()
            exponent = self.unary()  # right-associative, binds a following unary minus
            if base.boolean or exponent.boolean:
                raise Unsupported("power of a boolean")
            return Node("op", "^", (base, exponent))
        return base

    def postfix(self) -> Node:
        node = self.primary()
        while self.peek() == ("op", "["):
            self.take()
            condition = self.expression()
            self.take("]")
            if not condition.boolean:
                raise Unsupported("a mask must be boolean")
            node = Node("mask", None, (node, condition), boolean=node.boolean)
        return node

    def primary(self) -> Node:
        kind, value = self.take()
        if kind == "num":
            return Node("num", float(value))
        if kind == "str":
            return self.image(value[1:-1])
        if kind == "op" and value == "(":
            node = self.expression()
            self.take(")")
            return node
        if kind == "name":
            if self.peek() == ("op", "("):
                return self.call(value.lower())
            if value in ("T", "F"):
                return Node("bool", value == "T", boolean=True)
            return self.image(value)
        raise Unsupported(f"unexpected {value!r}")

    def image(self, name: str) -> Node:
        if name not in self.images:
            self.images.append(name)
        return Node("image", self.images.index(name))

    def call(self, name: str) -> Node:
        self.take("(")
        args: list[Node] = []
        if self.peek() != ("op", ")"):
            args.append(self.expression())
            while self.peek() == ("op", ","):
                self.take()
                args.append(self.expression())
        self.take(")")
        if name in _CONSTANTS and not args:
            return Node("num", _CONSTANTS[name])
        if any(a.boolean for a in args) and name not in ("iif",):
            raise Unsupported(f"{name} of a boolean")
        if name == "isnan" and len(args) == 1:
            return Node("call", name, tuple(args), boolean=True)
        if name in _UNARY and len(args) == 1:
            return Node("call", name, tuple(args))
        if name in _BINARY and len(args) == 2:
            return Node("call", name, tuple(args))
        if name == "iif" and len(args) == 3 and args[0].boolean and not (args[1].boolean or args[2].boolean):
            return Node("call", name, tuple(args))
        raise Unsupported(f"function {name} with {len(args)} arguments")


def parse(text: str) -> tuple[Node, list[str]]:
    """The tree of ``text`` and its image names in order of appearance (as written, no
    quotes). Raises :class:`Unsupported` outside the subset, for a boolean or image-free
    result and for syntax errors."""
    if "$" in text:
        raise Unsupported("variables")
    parser = _Parser(text)
    node = parser.expression()
    if parser.peek()[0] != "end":
        raise Unsupported(f"unexpected {parser.peek()[1]!r}")
    if node.boolean:
        raise Unsupported("a boolean image")
    if not parser.images:
        raise Unsupported("no image")
    return node, parser.images


def image_names(text: str) -> list[str]:
    """The image names of an expression in the subset."""
    return parse(text)[1]


def _masked(*values: np.ndarray | float) -> np.ndarray | bool:
    out: np.ndarray | bool = False
    for v in values:
        out = out | np.isnan(v)
    return out


def _image_uses(node: Node, uses: dict[int, int]) -> dict[int, int]:
    if node.kind == "image":
        assert isinstance(node.value, int)  # an image node holds the image's index
        index = int(node.value)
        uses[index] = uses.get(index, 0) + 1
    for arg in node.args:
        _image_uses(arg, uses)
    return uses


V = TypeVar("V")


class _Scratch:
    """Arrays of this evaluation that nobody else holds: an operation may write its result
    into one of them instead of allocating (a plane of a 4K image is 64 MB). Membership is
    by identity of live objects (the list keeps them alive, so no id is ever reused)."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []

    def add(self, value: V) -> V:
        if isinstance(value, np.ndarray) and value.dtype == np.float32 and value.flags.writeable:
            self.arrays.append(value)
        return value

    def out_for(self, *operands: Any) -> np.ndarray | None:
        """A scratch operand with the result's shape, to be overwritten by the result."""
        shapes = [np.shape(o) for o in operands]
        try:
            shape = np.broadcast_shapes(*shapes)
        except ValueError:
            return None
        for operand in operands:
            if isinstance(operand, np.ndarray) and operand.shape == shape and any(operand is a for a in self.arrays):
                return operand
        return None


_ARITHMETIC: dict[str, Any] = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "%": np.fmod,
                               "^": np.power}


def evaluate(node: Node, read: Callable[[int], np.ndarray]) -> np.ndarray | float:
    """Evaluate ``node`` on one box; ``read(i)`` returns image ``i``'s pixels of that box
    (float32, masked = NaN). Booleans are float 1/0 with NaN where masked.

    Arithmetic writes into arrays that are this evaluation's own (results of inner
    operations, and reads of images named once that came back writeable), so ``a + b``
    allocates nothing beyond its two reads. Read-only arrays (shared caches) are never
    written."""
    uses = _image_uses(node, {})
    return _evaluate(node, read, uses, _Scratch())


def _evaluate(node: Node, read: Callable[[int], np.ndarray], uses: dict[int, int],
              scratch: _Scratch) -> np.ndarray | float:
    kind = node.kind
    if kind == "num":
        assert isinstance(node.value, (int, float))  # a number node holds its value
        return float(node.value)
    if kind == "bool":
        return 1.0 if node.value else 0.0
    if kind == "image":
        assert isinstance(node.value, int)  # an image node holds the image's index
        index = int(node.value)
        value = read(index)
        if uses.get(index, 0) == 1:
            scratch.add(value)
        return value
    args = [_evaluate(a, read, uses, scratch) for a in node.args]
    with np.errstate(all="ignore"):
        result: np.ndarray | float = _apply(node, args, scratch)
    return scratch.add(result)


def _apply(node: Node, args: list[Any], scratch: _Scratch) -> Any:
    kind = node.kind
    if kind == "mask":
        value, condition = args
        return np.where(np.asarray(condition) == 1.0, value, np.float32(np.nan))
    if kind == "call":
        name = str(node.value)
        if name in _UNARY:
            out = scratch.out_for(args[0])
            return _UNARY[name](args[0]) if out is None else _UNARY[name](args[0], out=out)
        if name in _BINARY:
            return _BINARY[name](args[0], args[1])
        if name == "isnan":
            return np.where(np.isnan(args[0]), 1.0, 0.0)
        condition, a, b = args
        return np.where(np.isnan(condition), np.float32(np.nan), np.where(np.asarray(condition) == 1.0, a, b))
    op = str(node.value)
    if len(args) == 1:
        if op == "-":
            out = scratch.out_for(args[0])
            return np.negative(args[0]) if out is None else np.negative(args[0], out=out)
        return np.where(np.isnan(args[0]), np.nan, 1.0 - np.asarray(args[0]))  # "!"
    a, b = args
    if op in _ARITHMETIC:
        out = scratch.out_for(a, b)
        return _ARITHMETIC[op](a, b) if out is None else _ARITHMETIC[op](a, b, out=out)
    if op in _COMPARE:
        return np.where(_masked(a, b), np.nan, _COMPARE[op](a, b).astype(np.float32))
    truth = (np.asarray(a) == 1.0) & (np.asarray(b) == 1.0) if op == "&&" else \
        (np.asarray(a) == 1.0) | (np.asarray(b) == 1.0)
    return np.where(_masked(a, b), np.nan, truth.astype(np.float32))

