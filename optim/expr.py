"""A safe compiler for user-typed functions: text such as ``x*cos(pi*x)`` or ``x^2 - y^2`` to an
:class:`~optim.functions.Objective`.

Nothing the user types is ever executed. The text is parsed with ``ast.parse(..., mode="eval")``
(which only builds a syntax tree) and checked node by node against a whitelist: numbers, the
variables ``x`` and ``y``, the constants ``pi`` and ``e``, ``+ - * / ** ^`` (``^`` means power),
unary minus/plus, parentheses and one-argument calls of

    sin cos tan exp log sqrt abs tanh cosh sinh

Everything else raises :class:`ExpressionError`, whose message names the offending part and its
column. The accepted syntax tree is translated into a small expression graph of our own
(hash-consed, so equal subexpressions are one node, with constant folding). Gradient and Hessian
come from symbolic differentiation of that graph; values come from walking it with numpy functions,
vectorised over grids, under ``np.errstate(all="ignore")`` so that NaN and inf come back as values
(the runner reports them as "diverged") instead of raising.
"""

from __future__ import annotations

import ast
import math
import re
import warnings
from dataclasses import dataclass

import numpy as np

from .functions import Objective

__all__ = ["ExpressionError", "Expression", "parse_expression", "compile_expression",
           "function_from_args", "FUNCTION_NAMES", "MAX_DEPTH", "MAX_EXPONENT", "MAX_NUMBER"]

MAX_DEPTH = 50  # deepest allowed nesting of the syntax tree
MAX_EXPONENT = 100.0  # largest |p| for a constant exponent
MAX_NUMBER = 1e12  # largest literal number
MAX_NODES = 20_000  # size cap of the graph for f, gradient and Hessian together
VARIABLES = ("x", "y")
CONSTANTS = {"pi": math.pi, "e": math.e}
_PARSE_FILENAME = "<expression>"

# name -> numpy function. "sign" is internal (the derivative of abs), users cannot type it.
_NUMPY = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log,
    "sqrt": np.sqrt, "abs": np.abs, "tanh": np.tanh, "cosh": np.cosh, "sinh": np.sinh,
    "sign": np.sign,
}
FUNCTION_NAMES = ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "cosh", "sinh")

_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
_OP_SYMBOLS = {
    ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^", ast.Invert: "~", ast.Not: "not",
}
_KIND_NAMES = {
    ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Lambda: "lambda",
    ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a comprehension",
    ast.Compare: "a comparison", ast.BoolOp: "'and'/'or'", ast.IfExp: "'if ... else'",
    ast.List: "a list", ast.Tuple: "a tuple (a comma)", ast.Set: "a set", ast.Dict: "a dict",
    ast.JoinedStr: "a string", ast.FormattedValue: "a string", ast.Starred: "'*'",
    ast.NamedExpr: "':='", ast.Slice: "a slice", ast.Await: "'await'", ast.Yield: "'yield'",
    ast.YieldFrom: "'yield'",
}


class ExpressionError(ValueError):
    """The text is not an allowed expression; the message says what and where."""


# ---- source positions ---------------------------------------------------------------------------


class _Source:
    """The user's text and the rewritten text (``^`` -> ``**``), with positions mapped back."""

    def __init__(self, text: str):
        self.text = text
        parts, origin = [], []
        for i, ch in enumerate(text):
            if ch == "^":
                parts.append("**")
                origin += [i, i]
            else:
                parts.append(ch)
                origin.append(i)
        self.rewritten = "".join(parts)
        self._origin = origin + [len(text)]
        self._utf8 = self.rewritten.encode("utf-8")

    def _char(self, byte_offset: int) -> int:
        """ast column offsets count UTF-8 bytes of the rewritten text; map to original chars."""
        byte_offset = max(0, min(byte_offset, len(self._utf8)))
        chars = len(self._utf8[:byte_offset].decode("utf-8", errors="ignore"))
        return self._origin[min(chars, len(self._origin) - 1)]

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self._char(getattr(node, "col_offset", 0) or 0)
        end_raw = getattr(node, "end_col_offset", None)
        end = self._char(end_raw) if end_raw is not None else len(self.text)
        return start, max(end, start + 1)

    def where(self, node: ast.AST) -> str:
        start, end = self.span(node)
        snippet = self.text[start:end]
        if len(snippet) > 60:
            snippet = snippet[:57] + "..."
        return f"at column {start + 1}: {snippet}"


# ---- the expression graph -----------------------------------------------------------------------
#
# Nodes are tuples held in one table and referred to by index; a child always has a smaller index
# than its parent, so evaluating the needed indices in increasing order is a topological order.
#   ("const", value) ("var", i) ("neg", a) ("add", a, b) ("sub", a, b) ("mul", a, b)
#   ("div", a, b) ("pow", a, b) ("call", name, a)


class _Graph:
    def __init__(self):
        self.nodes: list[tuple] = []
        self._index: dict[tuple, int] = {}
        self._deriv: dict[tuple[int, int], int] = {}

    # -- construction with hash-consing and constant folding --

    def _intern(self, node: tuple) -> int:
        found = self._index.get(node)
        if found is not None:
            return found
        if len(self.nodes) >= MAX_NODES:
            raise ExpressionError(
                f"expression is too complex (its derivatives need more than {MAX_NODES} terms)")
        self.nodes.append(node)
        self._index[node] = len(self.nodes) - 1
        return len(self.nodes) - 1

    def const(self, value: float) -> int:
        value = float(value)
        if value == 0.0:
            value = 0.0  # one zero, not two
        return self._intern(("const", value))

    def var(self, i: int) -> int:
        return self._intern(("var", i))

    def value_of(self, n: int) -> float | None:
        node = self.nodes[n]
        return node[1] if node[0] == "const" else None

    def _fold(self, fn, *args: float) -> int | None:
        with np.errstate(all="ignore"):
            value = float(fn(*(np.float64(a) for a in args)))
        return self.const(value) if math.isfinite(value) else None

    def neg(self, a: int) -> int:
        ca = self.value_of(a)
        if ca is not None:
            return self.const(-ca)
        if self.nodes[a][0] == "neg":
            return self.nodes[a][1]
        return self._intern(("neg", a))

    def add(self, a: int, b: int) -> int:
        ca, cb = self.value_of(a), self.value_of(b)
        if ca == 0.0:
            return b
        if cb == 0.0:
            return a
        if ca is not None and cb is not None:
            folded = self._fold(np.add, ca, cb)
            if folded is not None:
                return folded
        if self.nodes[b][0] == "neg":
            return self.sub(a, self.nodes[b][1])
        return self._intern(("add", a, b))

    def sub(self, a: int, b: int) -> int:
        ca, cb = self.value_of(a), self.value_of(b)
        if cb == 0.0:
            return a
        if ca == 0.0:
            return self.neg(b)
        if a == b:
            return self.const(0.0)
        if ca is not None and cb is not None:
            folded = self._fold(np.subtract, ca, cb)
            if folded is not None:
                return folded
        return self._intern(("sub", a, b))

    def mul(self, a: int, b: int) -> int:
        ca, cb = self.value_of(a), self.value_of(b)
        if ca == 0.0 or cb == 0.0:
            return self.const(0.0)
        if ca == 1.0:
            return b
        if cb == 1.0:
            return a
        if ca == -1.0:
            return self.neg(b)
        if cb == -1.0:
            return self.neg(a)
        if ca is not None and cb is not None:
            folded = self._fold(np.multiply, ca, cb)
            if folded is not None:
                return folded
        if cb is not None and ca is None:  # constants first: 2*x, not x*2
            a, b = b, a
        return self._intern(("mul", a, b))

    def div(self, a: int, b: int) -> int:
        ca, cb = self.value_of(a), self.value_of(b)
        if cb == 1.0:
            return a
        if ca == 0.0 and cb is not None and cb != 0.0:
            return self.const(0.0)
        if ca is not None and cb is not None:
            folded = self._fold(np.divide, ca, cb)
            if folded is not None:
                return folded
        return self._intern(("div", a, b))

    def pow(self, a: int, b: int) -> int:
        ca, cb = self.value_of(a), self.value_of(b)
        if cb == 0.0:
            return self.const(1.0)
        if cb == 1.0:
            return a
        if ca is not None and cb is not None:
            folded = self._fold(np.power, ca, cb)
            if folded is not None:
                return folded
        return self._intern(("pow", a, b))

    def call(self, name: str, a: int) -> int:
        ca = self.value_of(a)
        if ca is not None:
            folded = self._fold(_NUMPY[name], ca)
            if folded is not None:
                return folded
        return self._intern(("call", name, a))

    # -- symbolic differentiation --

    def diff(self, n: int, i: int) -> int:
        """d node / d x_i, memoised, built from the same hash-consed table."""
        key = (n, i)
        found = self._deriv.get(key)
        if found is None:
            found = self._diff(n, i)
            self._deriv[key] = found
        return found

    def _diff(self, n: int, i: int) -> int:
        node = self.nodes[n]
        op = node[0]
        if op == "const":
            return self.const(0.0)
        if op == "var":
            return self.const(1.0 if node[1] == i else 0.0)
        if op == "neg":
            return self.neg(self.diff(node[1], i))
        if op == "call":
            return self._diff_call(node[1], node[2], i)
        a, b = node[1], node[2]
        da, db = self.diff(a, i), self.diff(b, i)
        if op == "add":
            return self.add(da, db)
        if op == "sub":
            return self.sub(da, db)
        if op == "mul":
            return self.add(self.mul(da, b), self.mul(a, db))
        if op == "div":  # (a'b - ab') / b^2 = a'/b - (a/b) * b'/b
            return self.sub(self.div(da, b), self.mul(n, self.div(db, b)))
        if op == "pow":
            cb = self.value_of(b)
            if cb is not None:  # p * a^(p-1) * a'
                return self.mul(self.mul(self.const(cb), self.pow(a, self.const(cb - 1.0))), da)
            ca = self.value_of(a)
            if ca is not None:  # c^b * log(c) * b'
                return self.mul(self.mul(n, self.call("log", a)), db)
            # a^b * (b' log a + b a' / a)
            inner = self.add(self.mul(db, self.call("log", a)), self.mul(b, self.div(da, a)))
            return self.mul(n, inner)
        raise AssertionError(f"unknown node {op}")  # pragma: no cover - table is closed

    def _diff_call(self, name: str, a: int, i: int) -> int:
        da = self.diff(a, i)
        if self.value_of(da) == 0.0:
            return self.const(0.0)
        if name == "sin":
            outer = self.call("cos", a)
        elif name == "cos":
            outer = self.neg(self.call("sin", a))
        elif name == "tan":  # 1 + tan^2
            outer = self.add(self.const(1.0), self.pow(self.call("tan", a), self.const(2.0)))
        elif name == "exp":
            outer = self.call("exp", a)
        elif name == "log":
            return self.div(da, a)
        elif name == "sqrt":
            return self.div(da, self.mul(self.const(2.0), self.call("sqrt", a)))
        elif name == "abs":
            outer = self.call("sign", a)
        elif name == "tanh":  # 1 - tanh^2
            outer = self.sub(self.const(1.0), self.pow(self.call("tanh", a), self.const(2.0)))
        elif name == "cosh":
            outer = self.call("sinh", a)
        elif name == "sinh":
            outer = self.call("cosh", a)
        elif name == "sign":  # zero almost everywhere
            return self.const(0.0)
        else:  # pragma: no cover - table is closed
            raise AssertionError(f"unknown function {name}")
        return self.mul(outer, da)

    # -- evaluation --

    def plan(self, roots: list[int]) -> tuple[int, ...]:
        """The node indices the roots depend on, in evaluation order."""
        needed, stack = set(), list(roots)
        while stack:
            n = stack.pop()
            if n in needed:
                continue
            needed.add(n)
            node = self.nodes[n]
            if node[0] in ("neg",):
                stack.append(node[1])
            elif node[0] == "call":
                stack.append(node[2])
            elif node[0] not in ("const", "var"):
                stack.extend(node[1:])
        return tuple(sorted(needed))

    def evaluate(self, plan: tuple[int, ...], x) -> dict[int, object]:
        """Walk the plan over ``x`` (coordinate first). Call inside ``np.errstate``."""
        values: dict[int, object] = {}
        for n in plan:
            node = self.nodes[n]
            op = node[0]
            if op == "const":
                v = node[1]
            elif op == "var":
                v = x[node[1]]
            elif op == "neg":
                v = -values[node[1]]
            elif op == "call":
                v = _NUMPY[node[1]](values[node[2]])
            else:
                a, b = values[node[1]], values[node[2]]
                if op == "add":
                    v = a + b
                elif op == "sub":
                    v = a - b
                elif op == "mul":
                    v = a * b
                elif op == "div":
                    v = np.divide(a, b)
                else:
                    v = np.power(a, b)
            values[n] = v
        return values


# ---- from the Python syntax tree to the graph ------------------------------------------------------


def _depth_check(tree: ast.AST, src: _Source) -> None:
    """Refuse syntax trees nested deeper than MAX_DEPTH (iteratively: no recursion on input)."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(
                f"expression is nested too deeply (more than {MAX_DEPTH} levels) {src.where(node)}")
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                stack.append((child, depth + 1))


_BASES = {"x": "a hexadecimal", "o": "an octal", "b": "a binary"}


class _Translator:
    def __init__(self, src: _Source, graph: _Graph):
        self.src = src
        self.g = graph
        self.uses_y = False

    def fail(self, message: str, node: ast.AST):
        raise ExpressionError(f"{message} {self.src.where(node)}")

    def visit(self, node: ast.AST) -> int:
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return self.g.neg(self.visit(node.operand))
            if isinstance(node.op, ast.UAdd):
                return self.visit(node.operand)
            self.fail(f"operator '{_OP_SYMBOLS.get(type(node.op), '?')}' is not allowed", node)
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        kind = _KIND_NAMES.get(type(node), type(node).__name__)
        self.fail(f"{kind} is not allowed", node)
        raise AssertionError  # pragma: no cover

    def constant(self, node: ast.Constant) -> int:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = {str: "a string", bytes: "a bytes literal", complex: "a complex number",
                    bool: "True/False", type(None): "None", type(...): "'...'"}.get(
                        type(value), type(value).__name__)
            self.fail(f"{kind} is not allowed (only real numbers)", node)
        start, end = self.src.span(node)
        literal = self.src.text[start:end]
        if literal[:2].lower() in ("0x", "0o", "0b"):  # Python's hexadecimal, octal, binary
            self.fail(f"'{literal}' would be read as {_BASES[literal[1].lower()]} number; write "
                      "numbers in decimal, and a product with '*' (e.g. 2*x)", node)
        if not abs(value) <= MAX_NUMBER:  # also catches inf/nan; int compare is exact
            self.fail(f"number is too large (at most {MAX_NUMBER:g})", node)
        return self.g.const(float(value))

    def name(self, node: ast.Name) -> int:
        if node.id in VARIABLES:
            if node.id == "y":
                self.uses_y = True
            return self.g.var(VARIABLES.index(node.id))
        if node.id in CONSTANTS:
            return self.g.const(CONSTANTS[node.id])
        if node.id in FUNCTION_NAMES:
            self.fail(f"function '{node.id}' needs an argument, e.g. {node.id}(x),", node)
        self.fail(f"name '{node.id}' is not allowed (use x, y, pi, e)", node)
        raise AssertionError  # pragma: no cover

    def binop(self, node: ast.BinOp) -> int:
        op = _BINOPS.get(type(node.op))
        if op is None:
            self.fail(f"operator '{_OP_SYMBOLS.get(type(node.op), '?')}' is not allowed "
                      "(use + - * / ^)", node)
        a, b = self.visit(node.left), self.visit(node.right)
        if op != "pow":
            return self.finite(getattr(self.g, op)(a, b), node, a, b)
        p = self.g.value_of(b)
        if p is not None and abs(p) > MAX_EXPONENT:
            self.fail(f"exponent {p:g} is too large (|exponent| at most {MAX_EXPONENT:g})", node)
        base = self.g.value_of(a)
        if base is not None and p is not None:
            with np.errstate(all="ignore"):
                value = float(np.power(np.float64(base), np.float64(p)))
            if math.isinf(value):
                self.fail("constant power overflows", node)
        return self.finite(self.g.pow(a, b), node, a, b)

    def call(self, node: ast.Call) -> int:
        func = node.func
        if not isinstance(func, ast.Name):
            self.fail(f"only calls of {', '.join(FUNCTION_NAMES)} are allowed", node)
        if func.id not in FUNCTION_NAMES:
            if func.id in VARIABLES or func.id in CONSTANTS:
                self.fail(f"'{func.id}' is not a function (write {func.id}*(...) to multiply)",
                          node)
            self.fail(f"function '{func.id}' is not allowed (functions: "
                      f"{', '.join(FUNCTION_NAMES)})", node)
        if node.keywords:
            self.fail(f"keyword arguments are not allowed in {func.id}()", node)
        if len(node.args) != 1:
            self.fail(f"{func.id}() takes exactly one argument, got {len(node.args)}", node)
        a = self.visit(node.args[0])
        return self.finite(self.g.call(func.id, a), node, a)

    def finite(self, result: int, node: ast.AST, *operands: int) -> int:
        """A part made of constants only must fold to a finite number: refuse 1/0, log(0)."""
        if all(self.g.value_of(n) is not None for n in operands) \
                and self.g.value_of(result) is None:
            self.fail("this constant part is not a finite real number", node)
        return result


# ---- rendering: plain text (the title) and LaTeX (the formula) -----------------------------------

_PREC = {"add": 1, "sub": 1, "mul": 2, "div": 2, "unary": 3, "pow": 4, "atom": 5}


def _prec(node: ast.AST) -> int:
    if isinstance(node, ast.BinOp):
        return _PREC[_BINOPS[type(node.op)]]
    if isinstance(node, ast.UnaryOp):
        return _PREC["unary"]
    return _PREC["atom"]


def _number_text(value: float | int) -> str:
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()
                                  and abs(value) < 1e15):
        return str(int(value))
    return repr(float(value))


def _text(node: ast.AST) -> str:
    """Normalised plain text with minimal parentheses; it parses back to the same tree."""
    if isinstance(node, ast.Constant):
        return _number_text(node.value)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        return f"{node.func.id}({_text(node.args[0])})"
    if isinstance(node, ast.UnaryOp):
        sign = "-" if isinstance(node.op, ast.USub) else "+"
        inner = _text(node.operand)
        if _prec(node.operand) < _PREC["unary"]:
            inner = f"({inner})"
        return sign + inner
    op = _BINOPS[type(node.op)]
    p = _PREC[op]
    left, right = _text(node.left), _text(node.right)
    if op == "pow":  # right-associative; a unary base needs parentheses: (-x)^2
        if _prec(node.left) <= p:
            left = f"({left})"
        if _prec(node.right) < p:
            right = f"({right})"
        return f"{left}^{right}"
    if _prec(node.left) < p:
        left = f"({left})"
    if _prec(node.right) <= p:
        right = f"({right})"
    symbol = {"add": " + ", "sub": " - ", "mul": "*", "div": "/"}[op]
    return f"{left}{symbol}{right}"


_LATEX_FUNCS = {"sin": r"\sin", "cos": r"\cos", "tan": r"\tan", "exp": r"\exp", "log": r"\log",
                "tanh": r"\tanh", "cosh": r"\cosh", "sinh": r"\sinh"}


def _latex_number(value: float | int) -> str:
    text = _number_text(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    if text == "inf":  # pragma: no cover - refused earlier
        return r"\infty"
    return text


def _latex(node: ast.AST) -> str:
    if isinstance(node, ast.Constant):
        return _latex_number(node.value)
    if isinstance(node, ast.Name):
        return r"\pi" if node.id == "pi" else node.id
    if isinstance(node, ast.Call):
        arg = _latex(node.args[0])
        name = node.func.id
        if name == "sqrt":
            return rf"\sqrt{{{arg}}}"
        if name == "abs":
            return rf"\left|{arg}\right|"
        return rf"{_LATEX_FUNCS[name]}\left({arg}\right)"
    if isinstance(node, ast.UnaryOp):
        inner = _latex(node.operand)
        if _prec(node.operand) < _PREC["unary"]:
            inner = rf"\left({inner}\right)"
        return ("-" if isinstance(node.op, ast.USub) else "+") + inner
    op = _BINOPS[type(node.op)]
    p = _PREC[op]
    left, right = _latex(node.left), _latex(node.right)
    if op == "div":
        return rf"\frac{{{left}}}{{{right}}}"
    if op == "pow":
        if _prec(node.left) <= p or isinstance(node.left, ast.Call):
            left = rf"\left({left}\right)"
        return rf"{{{left}}}^{{{right}}}"
    if _prec(node.left) < p:
        left = rf"\left({left}\right)"
    if _prec(node.right) <= p:
        right = rf"\left({right}\right)"
    symbol = {"add": " + ", "sub": " - ", "mul": r" \cdot "}[op]
    return f"{left}{symbol}{right}"


# ---- public interface ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expression:
    """A checked expression: its normalised text, LaTeX, dimension and compiled graph.

    ``ops`` lists the node kinds in the graph (for inspection and tests); evaluation is only ever
    a walk over these kinds with numpy functions.
    """

    text: str
    latex: str
    dim: int
    _graph: _Graph
    _f: int
    _grad: tuple[int, ...]
    _hess: tuple[tuple[int, ...], ...]

    @property
    def ops(self) -> frozenset[str]:
        return frozenset(node[0] if node[0] != "call" else f"call:{node[1]}"
                         for node in self._graph.nodes)

    def _evaluator(self, roots: list[int], shape_of):
        plan = self._graph.plan(roots)
        graph, dim = self._graph, self.dim

        def run(x):
            x = np.asarray(x, dtype=float)
            if x.ndim == 0 or x.shape[0] != dim:
                raise ValueError(f"expected {dim} coordinate(s) on the first axis, got shape "
                                 f"{x.shape}")
            zero = np.zeros(x.shape[1:])
            with np.errstate(all="ignore"):
                values = graph.evaluate(plan, x)
                out = [zero + values[r] for r in roots]
            return shape_of(out)

        return run

    def functions(self):
        """(f, grad, hess) with the Objective contract: coordinate on the first axis."""
        d = self.dim
        f = self._evaluator([self._f], lambda out: out[0])
        grad = self._evaluator(list(self._grad), np.stack)
        flat = [n for row in self._hess for n in row]
        hess = self._evaluator(
            flat, lambda out: np.stack([np.stack(out[i * d:(i + 1) * d]) for i in range(d)]))
        return f, grad, hess


def parse_expression(text: str, *, max_length: int = 200) -> Expression:
    """Check ``text`` against the whitelist and build its graph, gradient and Hessian."""
    if not isinstance(text, str):
        raise ExpressionError(f"expression must be text, got {type(text).__name__}")
    if len(text) > max_length:
        raise ExpressionError(f"expression is too long ({len(text)} characters, at most "
                              f"{max_length})")
    if not text.strip():
        raise ExpressionError("expression is empty: type a function of x (and y), e.g. x^2")
    # the field is one line: a line break or tab (from a link or a shell) counts as a space, so
    # that ast's per-line columns are columns of the whole text
    src = _Source(re.sub(r"[\t\n\r\f\v]", " ", text.strip()))
    for i, ch in enumerate(src.text):  # Python would silently skip a comment or join lines
        if ch in "#\\":
            what = "comments ('#')" if ch == "#" else "backslashes"
            raise ExpressionError(f"{what} are not allowed at column {i + 1}: {src.text[i:i + 20]}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(src.rewritten, filename=_PARSE_FILENAME, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(_syntax_message(src, exc)) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"cannot read the expression: {type(exc).__name__}") from None
    _depth_check(tree.body, src)
    graph = _Graph()
    translator = _Translator(src, graph)
    try:
        root = translator.visit(tree.body)
    except RecursionError:  # pragma: no cover - the depth check prevents it
        raise ExpressionError("expression is nested too deeply") from None
    dim = 2 if translator.uses_y else 1
    grad = tuple(graph.diff(root, i) for i in range(dim))
    hess = tuple(tuple(graph.diff(grad[i], j) for j in range(dim)) for i in range(dim))
    return Expression(_text(tree.body), _latex(tree.body), dim, graph, root, grad, hess)


# a number running into a name, as in 2x, 3.5y, 2sin(x), 1e5x: Python reads one bad number
_JUXTAPOSED = re.compile(r"(?<![\w.])(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
                         r"([A-Za-z]\w*)")


def _syntax_message(src: _Source, exc: SyntaxError) -> str:
    """One sentence for a SyntaxError, at a column of the user's text, with a hint where the
    mistake is a common one: a missing '*' (2x) or an expression that stops early (x^2 +)."""
    shown = src.text if len(src.text) <= 60 else src.text[:57] + "..."
    reason = (exc.msg or "invalid syntax").replace("'**'", "'^'")
    offset = exc.offset or 0
    if offset <= 0 and reason == "invalid syntax":  # how Python reports an unexpected end
        last = re.search(r"(\*\*|//|\S)\s*$", src.text)
        end = last.group(1) if last else src.text[-1:]
        return (f"syntax error at column {len(src.text)}: the expression ends too early, "
                f"something is missing after '{end}' in {shown!r}")
    col = src._origin[max(0, min(offset - 1, len(src._origin) - 1))] + 1
    if "decimal literal" in reason:
        found = list(_JUXTAPOSED.finditer(src.text))
        if found:
            m = min(found, key=lambda m: abs(m.start() + 1 - col))
            number, name = m.group(1), m.group(2)
            return (f"syntax error at column {m.start() + 1}: write {number}*{name} for a product, "
                    f"not {number}{name} in {shown!r}")
    return f"syntax error at column {col}: {reason} in {shown!r}"


def compile_expression(text: str, *, max_length: int = 200) -> Objective:
    """User text to an Objective (id ``custom``), or :class:`ExpressionError` saying why not."""
    expr = parse_expression(text, max_length=max_length)
    f, grad, hess = expr.functions()
    args = "x, y" if expr.dim == 2 else "x"
    return Objective(
        id="custom", title=expr.text, formula=f"f({args}) = {expr.latex}",
        f=f, grad=grad, hess=hess, dim=expr.dim,
        x0=(1.0,) * expr.dim, domain=((-3.0, 3.0),) * expr.dim, params={},
    )


def function_from_args(expr: str) -> Objective:
    """Command-line hook for ``python -m optim --expr TEXT``."""
    return compile_expression(expr)
