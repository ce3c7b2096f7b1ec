"""The JSONata parser: a Pratt (top-down operator precedence) parser to a raw tree, then the pass
that turns `.` chains into paths of steps with their predicates, as the reference implementation does.

The node types after that pass: path, name, string, number, value, regex, variable, wildcard,
descendant, parent, binary, unary, condition, block, bind, function, partial, lambda, apply,
transform, sort, filter.
"""

from __future__ import annotations

from typing import Any

from interlace.mapping.compiler.errors import JsonataError
from interlace.mapping.compiler.tokens import OPERATORS, Token, Tokenizer

MAX_NESTING = 1000
_NO_LED = {":", ";", ",", ")", "]", "}", "..", "|", "**", "!", "~"}  # symbols that never take a left operand


class Node:
    """One node of the tree; which attributes are set depends on `type`."""

    def __init__(self, type: str, value: Any = None, position: int = 0) -> None:
        self.type = type
        self.value = value
        self.position = position
        self.lhs: Any = None
        self.rhs: Any = None
        self.expression: Node | None = None
        self.expressions: list[Node] = []
        self.steps: list[Node] = []
        self.stages: list[Node] = []
        self.predicate: list[Node] = []
        self.arguments: list[Node] = []
        self.procedure: Node | None = None
        self.body: Node | None = None
        self.signature: str | None = None
        self.condition: Node | None = None
        self.then: Node | None = None
        self.else_: Node | None = None
        self.pattern: Node | None = None
        self.update: Node | None = None
        self.delete: Node | None = None
        self.terms: list[tuple[bool, Node]] = []
        self.group: list[tuple[Node, Node]] | None = None
        self.group_position = 0
        self.keep_array = False
        self.keep_singleton_array = False
        self.cons_array = False
        self.focus: str | None = None
        self.index: str | None = None
        self.tuple = False
        self.seeking_parent: list[Any] = []

    def __repr__(self) -> str:
        return f"Node({self.type!r}, {self.value!r})"


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = Tokenizer(text)
        self.node = Token("(end)", None, 0)
        self.depth = 0

    # ------------------------------------------------------------------ tokens

    def advance(self, expected: str | None = None, infix: bool = False) -> Token:
        node = self.node
        if expected is not None and self._id(node) != expected:
            if node.type == "(end)":
                raise JsonataError("S0203", f"Expected {expected!r} before end of expression", node.position)
            raise JsonataError("S0202", f"Expected {expected!r}, got {node.value!r}", node.position)
        token = self.tokens.next(infix)
        if token is None:
            self.node = Token("(end)", None, len(self.text))
        else:
            if token.type == "operator" and token.value not in OPERATORS:
                raise JsonataError("S0204", f"Unknown operator: {token.value}", token.position)
            self.node = token
        return self.node

    @staticmethod
    def _id(token: Token) -> str:
        if token.type == "operator":
            return str(token.value)
        if token.type in ("name", "variable"):
            return "(name)"
        if token.type in ("string", "number", "value"):
            return "(literal)"
        return token.type

    def _lbp(self, token: Token) -> int:
        if token.type != "operator" or token.value in _NO_LED:
            return 0
        return OPERATORS[token.value]

    # ------------------------------------------------------------------ expressions

    def expression(self, rbp: int) -> Node:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise JsonataError("U1002", "Expression nesting is too deep", self.node.position)
        t = self.node
        self.advance(None, True)
        left = self.nud(t)
        while rbp < self._lbp(self.node):
            t = self.node
            self.advance()
            left = self.led(t, left)
        self.depth -= 1
        return left

    def nud(self, t: Token) -> Node:
        if t.type in ("name", "variable", "string", "number", "value", "regex"):
            return Node(t.type, t.value, t.position)
        if t.type == "(end)":
            raise JsonataError("S0207", "Unexpected end of expression", t.position)
        op = t.value
        if op in ("and", "or", "in"):
            return Node("name", op, t.position)
        if op == "-":
            n = Node("unary", "-", t.position)
            n.expression = self.expression(70)
            return n
        if op == "*":
            return Node("wildcard", "*", t.position)
        if op == "**":
            return Node("descendant", "**", t.position)
        if op == "%":
            return Node("parent", "%", t.position)
        if op == "(":
            n = Node("block", "(", t.position)
            while self._id(self.node) != ")":
                n.expressions.append(self.expression(0))
                if self._id(self.node) != ";":
                    break
                self.advance(";")
            self.advance(")", True)
            return n
        if op == "[":
            n = Node("unary", "[", t.position)
            if self._id(self.node) != "]":
                while True:
                    item = self.expression(0)
                    if self._id(self.node) == "..":
                        rng = Node("binary", "..", self.node.position)
                        rng.lhs = item
                        self.advance("..")
                        rng.rhs = self.expression(0)
                        item = rng
                    n.expressions.append(item)
                    if self._id(self.node) != ",":
                        break
                    self.advance(",")
            self.advance("]", True)
            return n
        if op == "{":
            n = Node("unary", "{", t.position)
            n.lhs = self._pairs()
            return n
        if op == "|":
            n = Node("transform", "|", t.position)
            n.pattern = self.expression(0)
            self.advance("|")
            n.update = self.expression(0)
            if self._id(self.node) == ",":
                self.advance(",")
                n.delete = self.expression(0)
            self.advance("|")
            return n
        if op == "?":
            return Node("operator", "?", t.position)
        raise JsonataError("S0211", f"The symbol {op} cannot be used as a unary operator", t.position)

    def _pairs(self) -> list[tuple[Node, Node]]:
        pairs: list[tuple[Node, Node]] = []
        if self._id(self.node) != "}":
            while True:
                key = self.expression(0)
                self.advance(":")
                value = self.expression(0)
                pairs.append((key, value))
                if self._id(self.node) != ",":
                    break
                self.advance(",")
        self.advance("}", True)
        return pairs

    def led(self, t: Token, left: Node) -> Node:
        op = t.value
        if t.type != "operator":
            raise JsonataError("S0201", f"Syntax error: {t.value!r}", t.position)
        bp = OPERATORS[op]
        if op in (".", "+", "-", "*", "/", "%", "=", "<", ">", "!=", "<=", ">=", "&", "and", "or", "in", "~>", ".."):
            n = Node("binary", op, t.position)
            n.lhs = left
            n.rhs = self.expression(bp)
            return n
        if op == "**":
            raise JsonataError("S0201", "Syntax error: **", t.position)
        if op == "??":
            n = Node("condition", "?", t.position)
            exists = Node("function", "(", t.position)
            exists.procedure = Node("variable", "exists", t.position)
            exists.arguments = [left]
            n.condition, n.then, n.else_ = exists, left, self.expression(0)
            return n
        if op == "?:":
            n = Node("condition", "?", t.position)
            n.condition, n.then, n.else_ = left, left, self.expression(0)
            return n
        if op == "?":
            n = Node("condition", "?", t.position)
            n.condition = left
            n.then = self.expression(0)
            if self._id(self.node) == ":":
                self.advance(":")
                n.else_ = self.expression(0)
            return n
        if op == "(":
            return self._call(t, left)
        if op == "[":
            if self._id(self.node) == "]":
                step = left
                while step.type == "binary" and step.value == "[":
                    step = step.lhs
                step.keep_array = True
                self.advance("]")
                return left
            n = Node("binary", "[", t.position)
            n.lhs = left
            n.rhs = self.expression(OPERATORS["]"])
            self.advance("]", True)
            return n
        if op == "{":
            n = Node("binary", "{", t.position)
            n.lhs = left
            n.rhs = self._pairs()
            return n
        if op == "^":
            self.advance("(")
            terms: list[tuple[bool, Node]] = []
            while True:
                descending = False
                if self._id(self.node) == "<":
                    self.advance("<")
                elif self._id(self.node) == ">":
                    descending = True
                    self.advance(">")
                terms.append((descending, self.expression(0)))
                if self._id(self.node) != ",":
                    break
                self.advance(",")
            self.advance(")")
            n = Node("binary", "^", t.position)
            n.lhs = left
            n.rhs = terms
            return n
        if op == ":=":
            if left.type != "variable":
                raise JsonataError("S0212", "The left side of := must be a variable name (start with $)", t.position)
            n = Node("binary", ":=", t.position)
            n.lhs = left
            n.rhs = self.expression(bp - 1)
            return n
        if op in ("@", "#"):
            n = Node("binary", op, t.position)
            n.lhs = left
            n.rhs = self.expression(bp)
            if n.rhs.type != "variable":
                code = "S0214" if op == "@" else "S0215"
                raise JsonataError(code, f"The right side of {op} must be a variable name (start with $)", t.position)
            return n
        raise JsonataError("S0201", f"Syntax error: {op!r}", t.position)

    def _call(self, t: Token, left: Node) -> Node:
        n = Node("function", "(", t.position)
        n.procedure = left
        if self._id(self.node) != ")":
            while True:
                if self.node.type == "operator" and self.node.value == "?":
                    n.type = "partial"
                    n.arguments.append(Node("operator", "?", self.node.position))
                    self.advance("?")
                else:
                    n.arguments.append(self.expression(0))
                if self._id(self.node) != ",":
                    break
                self.advance(",")
        self.advance(")", True)
        if left.type == "name" and left.value in ("function", "\u03bb"):
            for arg in n.arguments:
                if arg.type != "variable":
                    raise JsonataError(
                        "S0208", "Parameter of function definition must be a variable name", arg.position
                    )
            n.type = "lambda"
            if self._id(self.node) == "<":
                depth = 1
                sig = "<"
                while depth > 0 and self._id(self.node) not in ("{", "(end)"):
                    tok = self.advance()
                    if self._id(tok) == ">":
                        depth -= 1
                    elif self._id(tok) == "<":
                        depth += 1
                    sig += str(tok.value)
                self.advance(">")
                n.signature = sig
            self.advance("{")
            n.body = self.expression(0)
            self.advance("}")
        return n

    def parse(self) -> Node:
        self.advance()
        tree = self.expression(0)
        if self.node.type != "(end)":
            raise JsonataError("S0201", f"Syntax error: {self.node.value!r}", self.node.position)
        return _Processor().process(tree)


class _Processor:
    """The reference implementation's second pass (`processAST`): paths of steps, predicates as
    stages, group-by, order-by, binds, focus/index variables."""

    def process(self, expr: Node) -> Node:
        return self._process(expr)

    def _process(self, expr: Node) -> Node:
        result = self._node(expr)
        if expr.keep_array:
            result.keep_array = True
        return result

    def _node(self, expr: Node) -> Node:
        t = expr.type
        if t == "binary":
            op = expr.value
            if op == ".":
                lstep = self._process(expr.lhs)
                if lstep.type == "path":
                    result = lstep
                else:
                    result = Node("path", None, lstep.position)
                    result.steps = [lstep]
                if lstep.type == "parent":
                    result.seeking_parent = [lstep.value]
                rest = self._process(expr.rhs)
                if rest.type == "path":
                    result.steps.extend(rest.steps)
                else:
                    if rest.predicate:
                        rest.stages = rest.predicate
                        rest.predicate = []
                    result.steps.append(rest)
                for step in result.steps:
                    if step.type in ("number", "value"):
                        raise JsonataError(
                            "S0213",
                            f"The literal value {step.value} cannot be used as a step within a path expression",
                            step.position,
                        )
                    if step.type == "string":
                        step.type = "name"
                if any(step.keep_array for step in result.steps):
                    result.keep_singleton_array = True
                first = result.steps[0]
                if first.type == "unary" and first.value == "[":
                    first.cons_array = True
                last = result.steps[-1]
                if last.type == "unary" and last.value == "[":
                    last.cons_array = True
                return result
            if op == "[":
                result = self._process(expr.lhs)
                step = result
                kind = "predicate"
                if result.type == "path":
                    step = result.steps[-1]
                    kind = "stages"
                if step.group is not None:
                    raise JsonataError(
                        "S0209", "A predicate cannot follow a grouping expression in a step", expr.position
                    )
                predicate = self._process(expr.rhs)
                f = Node("filter", None, expr.position)
                f.expression = predicate
                getattr(step, kind).append(f)
                return result
            if op == "{":
                result = self._process(expr.lhs)
                if result.group is not None:
                    raise JsonataError("S0210", "Each step can only have one grouping expression", expr.position)
                result.group = [(self._process(k), self._process(v)) for k, v in expr.rhs]
                result.group_position = expr.position
                return result
            if op == "^":
                result = self._process(expr.lhs)
                if result.type != "path":
                    p = Node("path", None, result.position)
                    p.steps = [result]
                    result = p
                sort = Node("sort", None, expr.position)
                sort.terms = [(desc, self._process(e)) for desc, e in expr.rhs]
                result.steps.append(sort)
                return result
            if op == ":=":
                result = Node("bind", ":=", expr.position)
                result.lhs = self._process(expr.lhs)
                result.rhs = self._process(expr.rhs)
                return result
            if op in ("@", "#"):
                result = self._process(expr.lhs)
                step = result
                if result.type == "path":
                    step = result.steps[-1]
                if step.stages or step.predicate:
                    code = "S0215" if op == "@" else "S0216"
                    raise JsonataError(
                        code, "A context variable binding must precede any predicates on a step", expr.position
                    )
                if step.type == "sort":
                    raise JsonataError(
                        "S0216",
                        "A context variable binding must precede the 'order-by' clause on a step",
                        expr.position,
                    )
                if op == "@":
                    step.focus = expr.rhs.value
                else:
                    step.index = expr.rhs.value
                step.tuple = True
                return result
            if op == "~>":
                result = Node("apply", "~>", expr.position)
                result.lhs = self._process(expr.lhs)
                result.rhs = self._process(expr.rhs)
                result.keep_array = result.lhs.keep_array or result.rhs.keep_array
                return result
            result = Node("binary", op, expr.position)
            result.lhs = self._process(expr.lhs)
            result.rhs = self._process(expr.rhs)
            return result
        if t == "unary":
            result = Node("unary", expr.value, expr.position)
            result.keep_array = expr.keep_array
            if expr.value == "[":
                result.expressions = [self._process(e) for e in expr.expressions]
            elif expr.value == "{":
                result.lhs = [(self._process(k), self._process(v)) for k, v in expr.lhs]
            else:
                assert expr.expression is not None
                inner = self._process(expr.expression)
                if expr.value == "-" and inner.type == "number":
                    return Node("number", -inner.value, inner.position)
                result.expression = inner
            return result
        if t in ("function", "partial"):
            result = Node(t, expr.value, expr.position)
            result.keep_array = expr.keep_array
            result.arguments = [self._process(a) for a in expr.arguments]
            assert expr.procedure is not None
            result.procedure = self._process(expr.procedure)
            return result
        if t == "lambda":
            result = Node("lambda", None, expr.position)
            result.arguments = expr.arguments
            result.signature = expr.signature
            assert expr.body is not None
            result.body = self._process(expr.body)
            return result
        if t == "condition":
            result = Node("condition", None, expr.position)
            assert expr.condition is not None and expr.then is not None
            result.condition = self._process(expr.condition)
            result.then = self._process(expr.then)
            if expr.else_ is not None:
                result.else_ = self._process(expr.else_)
            return result
        if t == "transform":
            result = Node("transform", None, expr.position)
            assert expr.pattern is not None and expr.update is not None
            result.pattern = self._process(expr.pattern)
            result.update = self._process(expr.update)
            if expr.delete is not None:
                result.delete = self._process(expr.delete)
            return result
        if t == "block":
            result = Node("block", None, expr.position)
            result.keep_array = expr.keep_array
            result.expressions = [self._process(e) for e in expr.expressions]
            return result
        if t == "name":
            result = Node("path", None, expr.position)
            result.steps = [expr]
            if expr.keep_array:
                result.keep_singleton_array = True
            return result
        if t == "operator":
            if expr.value == "?":
                return expr
            raise JsonataError("S0201", f"Syntax error: {expr.value}", expr.position)
        return expr  # string, number, value, wildcard, descendant, variable, regex, parent


def parse(text: str) -> Node:
    """The processed tree of `text`; JsonataError (S0xxx, U1002) with its position when it is not JSONata."""
    try:
        return _Parser(text).parse()
    except RecursionError:
        raise JsonataError("U1002", "Expression nesting is too deep", None) from None
