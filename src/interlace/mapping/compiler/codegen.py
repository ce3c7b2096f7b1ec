"""The JSONata tree compiled to Python source: one function per expression, plus a helper function
per path, predicate and object constructor, with the language's rules (sequences, flattening,
undefined) written out where they apply and common cases (an object's field, a number) inlined.

The source only ever names the helpers of `runtime` and `functions` and constants put in its
namespace (every string of the expression is a constant, never spliced into code), so an
expression can reach nothing of the host.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from interlace.mapping.compiler import functions, runtime
from interlace.mapping.compiler.errors import JsonataError, Unsupported
from interlace.mapping.compiler.parser import Node
from interlace.mapping.compiler.regex import Regex
from interlace.mapping.compiler.signature import Signature

# JSONata built-ins the compiled path does not have yet: a call makes the expression fall back.
KNOWN_BUILTINS = {
    "formatNumber", "formatInteger", "parseInteger", "random", "map",
    "zip", "filter", "single", "reduce", "sift", "each", "sort", "shuffle", "base64encode", "base64decode",
    "decodeUrl", "eval", "toMillis", "fromMillis", "clone", "now", "millis",
} | set(functions.SUPPORTED)  # fmt: skip


class _Fn:
    """A Python function being written."""

    def __init__(self, name: str, params: str, parent: _Fn | None, item_context: bool) -> None:
        self.name = name
        self.params = params
        self.parent = parent
        self.lines: list[str] = []
        self.nested: list[_Fn] = []
        self.closure = False
        self.nonlocals: set[str] = set()
        self.item_context = item_context  # its context is an item, never the wrapped top-level input
        # variables known, where the code being written runs, to hold a dict (`dicts`), or to be
        # tried as a dict whose every looked-up field is there (`spec`: a KeyError or TypeError
        # sends the caller to the general code)
        self.dicts: set[str] = set()
        self.spec: set[str] = set()

    def render(self, indent: str = "") -> str:
        head = f"{indent}def {self.name}({self.params}):\n"
        body: list[str] = []
        if self.nonlocals:
            body.append(f"{indent}    nonlocal {', '.join(sorted(self.nonlocals))}\n")
        for fn in self.nested:
            body.append(fn.render(indent + "    "))
        body.extend(f"{indent}    {line}\n" for line in self.lines)
        return head + "".join(body)


class _Scope:
    def __init__(self, parent: _Scope | None, fn: _Fn) -> None:
        self.parent = parent
        self.fn = fn
        self.vars: dict[str, str] = {}


class Compiled:
    """The result: the Python function and what the caller must know to run it."""

    def __init__(self, function: Callable[..., Any], source: str, needs_state: bool, timed: bool,
                 free: frozenset[str], calls: frozenset[str], out: str, namespace: dict[str, Any],
                 parts: tuple[list[str], list[str], list[str]]) -> None:  # fmt: skip
        self.function = function
        self.source = source
        self.needs_state = needs_state
        self.timed = timed
        self.free = free  # variables read from the bindings
        self.calls = calls  # built-ins called by name (a binding of that name would shadow them)
        self.out = out  # how the result becomes JSON: "none" (already plain), "number", "any"
        self._namespace = namespace
        self._parts = parts
        self.entry: Callable[[Any], Any] = function  # entry(data): the value for data as plain JSON

    def wrapped(self, param: str, template: str, names: dict[str, Any]) -> Callable[[Any], Any]:
        """One function doing the whole evaluation without bindings: its argument `param` (the data
        is `data`; a parameter other than "data" must set it, as `m` with `data = m.body`), the
        input wrapped, the state made, the value converted to plain JSON and given to `template`
        (Python text with `{value}`, naming only `names`), an exception given to `failed`."""
        prologue, nested, body = self._parts
        name = "_entry" if param == "data" else "_step"
        lines = [f"def {name}({param}):"]
        if param != "data":
            lines.append(f"    data = {param}.body")
        lines.extend("    " + line for line in prologue)
        lines.append("    try:")
        lines.extend("        " + line for line in nested)
        for line in body:
            m = _RETURN.match(line)
            if m is not None:
                line = m.group(1) + "return " + template.format(value=f"({m.group(2)})")
            lines.append("        " + line)
        lines.append("    except Exception as exc:")
        lines.append("        return " + template.format(value="_failed(exc, data)"))
        source = "\n".join(lines) + "\n"
        namespace = dict(self._namespace)
        namespace.update(names)
        exec(compile(source, "<jsonata>", "exec"), namespace)
        self.source += source if param == "data" else ""
        function: Callable[[Any], Any] = namespace[name]
        return function


_RETURN = re.compile(r"^(\s*(?:if isinstance\(c, list\): |if type\(c\) is dict: )?)return (.+)$")
"""A return of the expression's value among the lines of its function (not of functions in it)."""


def _binds(node: Any, found: list[str]) -> list[str]:
    """Names bound by `:=` directly in this frame (not inside nested blocks and lambdas)."""
    if isinstance(node, Node):
        if node.type in ("lambda", "block"):
            return found  # a frame of its own
        if node.type == "bind":
            found.append(node.lhs.value)
        for child in _children(node):
            if isinstance(child, Node) and child.type == "block":
                continue
            _binds(child, found)
    return found


def _children(node: Node) -> list[Any]:
    out: list[Any] = []
    for attr in (
        "lhs",
        "rhs",
        "expression",
        "procedure",
        "body",
        "condition",
        "then",
        "else_",
        "pattern",
        "update",
        "delete",
    ):
        v = getattr(node, attr)
        if isinstance(v, Node):
            out.append(v)
        elif isinstance(v, list):
            for item in v:
                if isinstance(item, Node):
                    out.append(item)
                elif isinstance(item, tuple):
                    out.extend(x for x in item if isinstance(x, Node))
    out.extend(node.expressions)
    out.extend(node.steps)
    out.extend(node.stages)
    out.extend(node.predicate)
    out.extend(node.arguments)
    for _, term in node.terms:
        out.append(term)
    for k, v in node.group or []:
        out.extend((k, v))
    return out


def _walk(node: Node) -> list[Node]:
    out = [node]
    for child in _children(node):
        out.extend(_walk(child))
    return out


class Generator:
    def __init__(self) -> None:
        self.module: list[_Fn] = []
        self.consts: dict[str, Any] = {}
        self.counter = 0
        self.free: set[str] = set()
        self.calls: set[str] = set()
        self.timed = False
        self.needs_state = False
        self._objects: list[_Fn] = []
        self.summed = False

    # ---------------------------------------------------------------- plumbing

    def _name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def const(self, value: Any) -> str:
        if value is None or value is True or value is False:
            return repr(value)
        if type(value) is int or (
            type(value) is float and value == value and value not in (float("inf"), float("-inf"))
        ):
            return repr(value)
        name = self._name("_k")
        self.consts[name] = value
        return name

    def _fn(self, prefix: str, parent: _Fn, item_context: bool) -> _Fn:
        return _Fn(self._name(prefix), "c, E", parent, item_context)

    def _place(self, fn: _Fn) -> None:
        if fn.closure:
            assert fn.parent is not None
            fn.parent.nested.append(fn)
        else:
            self.module.append(fn)

    def _resolve(self, name: str, scope: _Scope, fn: _Fn, assign: bool = False) -> str | None:
        s: _Scope | None = scope
        while s is not None:
            if name in s.vars:
                target = s.vars[name]
                f: _Fn | None = fn
                while f is not None and f is not s.fn:
                    f.closure = True
                    if assign:
                        f.nonlocals.add(target)
                    f = f.parent
                return target
            s = s.parent
        return None

    # ---------------------------------------------------------------- entry

    def compile(
        self, tree: Node, limits: runtime.Limits | None = None, failed: Callable[[Exception, Any], Any] | None = None
    ) -> Compiled:
        """The expression as `_main(context, state)` and as `_entry(data)`: the whole evaluation
        without bindings in one function (input wrapping, state, output conversion, errors given
        to `failed(exc, data)`, which raises or answers in their place)."""
        self.timed = any(n.type in ("lambda",) or (n.type == "binary" and n.value == "..") for n in _walk(tree))
        main = _Fn("_main", "c, E", None, False)
        scope = _Scope(None, main)
        top = _top_object(tree)
        if top:
            expr = self._object(tree.lhs, tree.position, "c", scope, main, top=True)
            kind = "none"
            main = self._objects.pop()  # the object's function is the expression's
            main.name = "_main"
            main.parent = None
        else:
            main.dicts.add("c")  # an object in: the same expression written for an object context
            as_object = self._block_scope(tree, scope, main, [tree])
            main.dicts.discard("c")
            expr = self._block_scope(tree, scope, main, [tree])
            kind = self._out_kind(tree)
        needs_state = self.needs_state or self.timed
        prologue = ["c = data" if top else "c = data if type(data) is not list else _wrap_input(data)"]
        if needs_state:
            prologue.append("E = _State(data, _NO_BINDINGS, _LIMITS)")
            if self.timed:
                prologue.append("E.start()")
        else:
            prologue.append("E = None")
        nested = [line for fn in main.nested for line in fn.render().splitlines()]
        body = list(main.lines)
        if top:  # an object in goes the object's way first; anything else is wrapped as usual
            after = next(i for i, line in enumerate(body) if i and not line.startswith(" "))
            body.insert(after, "if type(c) is list: c = _wrap_input(c)")
        if not top:
            main.lines.append(f"return {expr}")
            final = {"none": "None if (_v := {}) is _U else _v", "number": "_out_num({})"}.get(kind, "_out({})")
            if as_object != expr:
                prologue[0] = "c = data"
                body.append(f"if type(c) is dict: return {final.format(as_object)}")
                body.append("if type(c) is list: c = _wrap_input(c)")
            body.append("return " + final.format(expr))
        source = "".join(fn.render() for fn in self.module) + main.render()
        namespace: dict[str, Any] = {"__builtins__": {}}
        namespace.update(_RUNTIME)
        namespace.update(self.consts)
        namespace["_LIMITS"] = limits or runtime.Limits(2000, 200)
        namespace["_failed"] = failed or _reraise
        exec(compile(source, "<jsonata>", "exec"), namespace)
        compiled = Compiled(
            namespace["_main"], source, needs_state, self.timed,
            frozenset(self.free), frozenset(self.calls), kind, namespace, (prologue, nested, body),
        )  # fmt: skip
        compiled.entry = compiled.wrapped("data", "{value}", {})
        return compiled

    def _out_kind(self, node: Node) -> str:
        """How the value becomes JSON: "none" (a string, boolean or null already), "number", "any"."""
        return {"str": "none", "bool": "none", "num": "number"}.get(_kind(node), "any")

    # ---------------------------------------------------------------- expressions

    def expr(self, node: Node, c: str, scope: _Scope, fn: _Fn) -> str:
        if node.tuple or node.focus is not None or node.index is not None:
            raise Unsupported("context and position variables (@, #)", node.position)
        code = self._node(node, c, scope, fn)
        if node.type != "path":
            for f in node.predicate:
                code = self._filter(code, f, scope, fn)
            if node.group is not None:
                code = self._group_call(code, node.group, scope, fn)
            if node.keep_array:
                code = f"_collapse_keep({code})"
            elif node.predicate:
                code = f"_collapse({code})"
        return code

    def _collapsed(self, code: str, node: Node) -> str:
        """A value that may be a sequence, as `evaluate` returns it (a `[]` node keeps a singleton)."""
        return f"_collapse_keep({code})" if node.keep_array else f"_collapse({code})"

    def _node(self, node: Node, c: str, scope: _Scope, fn: _Fn) -> str:
        t = node.type
        if t == "string":
            return self.const(node.value)
        if t == "number":
            return self.const(node.value)
        if t == "value":
            return repr(node.value)
        if t == "path":
            return self._path(node, c, scope, fn)
        if t == "name":  # a name outside a path: only as a step, handled there
            return f"_lookup_c({c}, {self.const(node.value)})"
        if t == "variable":
            return self._variable(node, c, scope, fn)
        if t == "binary":
            return self._binary(node, c, scope, fn)
        if t == "unary":
            return self._unary(node, c, scope, fn)
        if t == "condition":
            return self._condition(node, c, scope, fn)
        if t == "block":
            return self._block(node, c, scope, fn)
        if t == "bind":
            return self._bind(node, c, scope, fn)
        if t == "function":
            return self._call(node, c, scope, fn)
        if t == "apply":
            return self._apply(node, c, scope, fn)
        if t == "regex":
            return self.const(Regex(node.value["pattern"], node.value["flags"], node.position))
        if t == "lambda":
            return self._lambda(node, c, scope, fn)
        if t == "partial":
            return self._partial(node, c, scope, fn)
        if t == "wildcard":
            return self._collapsed(f"_wildcard({c})", node)
        if t == "descendant":
            return self._collapsed(f"_descendants({c})", node)
        names = {
            "transform": "the transform operator (| ... |)",
            "parent": "the parent operator (%)",
        }  # fmt: skip
        raise Unsupported(names.get(t, f"the {t} construct"), node.position)

    def _variable(self, node: Node, c: str, scope: _Scope, fn: _Fn) -> str:
        name = node.value
        if name == "":
            return c if fn.item_context else f"_dollar({c})"
        if name == "$":
            self.needs_state = True
            return "E.root"
        local = self._resolve(name, scope, fn)
        if local is not None:
            return local
        return self._free(name)

    def _free(self, name: str) -> str:
        self.needs_state = True
        self.free.add(name)
        default = "_U"
        if name in functions.BUILTINS:
            default = self.const(functions.BUILTINS[name].function)
        elif name in KNOWN_BUILTINS:
            raise Unsupported(f"the function ${name}")
        return f"E.bindings.get({self.const(name)}, {default})"

    def _binary(self, node: Node, c: str, scope: _Scope, fn: _Fn) -> str:
        op = node.value
        if op == "and":
            return f"(_truthy({self.expr(node.lhs, c, scope, fn)}) and _truthy({self.expr(node.rhs, c, scope, fn)}))"
        if op == "or":
            return f"(_truthy({self.expr(node.lhs, c, scope, fn)}) or _truthy({self.expr(node.rhs, c, scope, fn)}))"
        a = self.expr(node.lhs, c, scope, fn)
        b = self.expr(node.rhs, c, scope, fn)
        if op in ("+", "-", "*", "/"):
            t1, t2 = self._name("_t"), self._name("_t")
            helper = {"+": "_add", "-": "_sub", "*": "_mul", "/": "_div"}[op]
            if op == "/":
                return f"_at({helper}, {node.position}, {a}, {b})"
            # numbers go straight through; anything else (undefined, strings, Decimal) the checked way
            value = f"{t1} {op} {t2}"
            if op == "*":  # numbers are doubles: an int product past 2**53 is not exact any more
                r = self._name("_t")
                value = f"({r} if type({r} := {t1} * {t2}) is float or _NEXACT <= {r} <= _EXACT else float({r}))"
            return (
                f"({value} if (type({t1} := {a}) is float or type({t1}) is int) & "
                f"(type({t2} := {b}) is float or type({t2}) is int) else _at({helper}, {node.position}, {t1}, {t2}))"
            )
        simple = {"%": "_mod", "=": "_equal", "!=": "_not_equal", "<": "_lt", "<=": "_le", ">": "_gt",
                  ">=": "_ge", "in": "_includes", "&": "_concat"}  # fmt: skip
        if op == "=" and node.rhs.type == "string":
            return f"({a} == {b})"
        if op == "=" and node.lhs.type == "string":
            return f"({b} == {a})"
        if op == "&":  # two strings, the usual case, joined inline
            t1, t2 = self._name("_t"), self._name("_t")
            return f"({t1} + {t2} if (type({t1} := {a}) is str) & (type({t2} := {b}) is str) else _concat({t1}, {t2}))"
        if op in ("=", "!=", "in", "&"):
            return f"{simple[op]}({a}, {b})"
        if op in simple:
            return f"_at({simple[op]}, {node.position}, {a}, {b})"
        if op == "..":
            self.needs_state = True
            return f"_at(_range, {node.position}, {a}, {b}, E)"
        raise Unsupported(f"the {op} operator", node.position)

    def _unary(self, node: Node, c: str, scope: _Scope, fn: _Fn) -> str:
        if node.value == "-":
            assert node.expression is not None
            return f"_at(_neg, {node.position}, {self.expr(node.expression, c, scope, fn)})"
        if node.value == "[":
            items = [self.expr(e, c, scope, fn) for e in node.expressions]
            nested = tuple(e.type == "unary" and e.value == "[" for e in node.expressions)
            tup = "(" + "".join(f"{i}, " for i in items) + ")"
            return f"_array({tup}, {self.const(nested)}, {node.cons_array})"
        if node.value == "{":
            return self._object(node.lhs, node.position, c, scope, fn)
        raise Unsupported(f"the unary {node.value} operator", node.position)

    def _condition(self, node: Node, c: str, scope: _Scope, fn: _Fn) -> str:
        assert node.condition is not None and node.then is not None
        cond = self.expr(node.condition, c, scope, fn)
        then = self.expr(node.then, c, scope, fn)
        other = self.expr(node.else_, c, scope, fn) if node.else_ is not None else "_U"
        return f"({then} if _truthy({cond}) else {other})"

    def _block_scope(
        self, node: Node, scope: _Scope, fn: _Fn, body: list[Node], c: str = "c", tail: bool = False
    ) -> str:
        """Code for `body` in a new frame holding the variables bound in it (each starting as the
        outer value of its name, as the lookup before the first binding finds it)."""
        names = []
        for e in body:
            for n in _binds(e, []):
                if n not in names:
                    names.append(n)
        inner = _Scope(scope, fn)
        inits = []
        for n in names:
            outer = self._resolve(n, scope, fn)
            if outer is None:
                outer = self._free(n)
            local = self._name("v")
            inner.vars[n] = local
            inits.append(f"({local} := {outer})")
        parts = inits + [self.expr(e, c, inner, fn) for e in body[:-1]]
        if body:
            parts.append(self._tail(body[-1], c, inner, fn) if tail else self.expr(body[-1], c, inner, fn))
        if not parts:
            return "_U"
        if len(parts) == 1:
            return parts[0]
        return "(" + ", ".join(parts) + ")[-1]"

    def _block(self, node: Node, c: str, scope: _Scope, fn: _Fn) -> str:
        if not node.expressions:
            return "_U"
        return self._block_scope(node, scope, fn, node.expressions, c)

    def _bind(self, node: Node, c: str, scope: _Scope, fn: _Fn) -> str:
        value = self.expr(node.rhs, c, scope, fn)
        target = self._resolve(node.lhs.value, scope, fn, assign=True)
        if target is None:  # a bind outside any block: the top-level frame
            raise Unsupported("a variable binding outside a block", node.position)
        return f"({target} := {value})"

    def _call(
        self, node: Node, c: str, scope: _Scope, fn: _Fn, first: str | None = None, first_node: Node | None = None
    ) -> str:
        proc = node.procedure
        assert proc is not None
        summed = node.arguments[0] if len(node.arguments) == 1 and first is None and not node.keep_array else None
        if (
            summed is not None and proc.type == "variable" and proc.value == "sum" and summed.type == "path"
            and _numbers_or_nothing(summed) and self._resolve("sum", scope, fn) is None
        ):  # fmt: skip
            code = self._path(summed, c, scope, fn, summed=True)
            if self.summed:
                self.calls.add("sum")
                return code  # the path sums its numbers itself
        args = [self.expr(a, c, scope, fn) for a in node.arguments]
        arg_nodes = list(node.arguments)
        if first is not None and first_node is not None:
            args.insert(0, first)
            arg_nodes.insert(0, first_node)
        arglist = "[" + ", ".join(args) + "]"
        if proc.type == "path" and len(proc.steps) == 1 and proc.steps[0].type == "name":
            message = f"Attempted to invoke a non-function. Did you mean ${proc.steps[0].value}?"
            return f"_fail('T1005', {self.const(message)}, {node.position})"
        if proc.type == "variable" and proc.value and proc.value != "$":
            name = proc.value
            local = self._resolve(name, scope, fn)
            if local is not None:
                self.needs_state = True
                return self._collapsed(f"_apply({local}, {arglist}, {c}, E)", node)
            if name in functions.BUILTINS:
                self.calls.add(name)
                if name == "sum" and len(args) == 1 and _numbers_or_nothing(arg_nodes[0]) and not node.keep_array:
                    t = self._name("_t")
                    return f"(_sum({t}) if type({t} := {args[0]}) is _Seq else {t})"
                builtin = functions.BUILTINS[name]
                if name == "boolean" and len(args) == 1 and _kind(arg_nodes[0]) == "bool" and not node.keep_array:
                    return args[0]  # a comparison's value already: a boolean, or undefined
                if self._typed(builtin, arg_nodes) and not node.keep_array:
                    # each argument is of its parameter's type (or undefined): the implementation directly
                    direct = f"{self.const(builtin.impl)}({', '.join(args)})"
                    literal = [a.value for a in arg_nodes[1:] if a.type == "number" and type(a.value) is int]
                    if name == "substring" and len(literal) == len(arg_nodes) - 1 and min(literal) >= 0:
                        # a string and whole, non-negative start and length: a slice
                        t, start = self._name("_t"), literal[0]
                        end = str(start + literal[1]) if len(literal) == 2 else ""
                        general = f"{self.const(builtin.impl)}({', '.join([t, *args[1:]])})"
                        if len(literal) == 2 and literal[1] == 0:
                            return direct
                        return f"({t}[{start}:{end}] if type({t} := {args[0]}) is str else {general})"
                    scalar = name in _STR_FUNCTIONS or name in _NUM_FUNCTIONS or name in _BOOL_FUNCTIONS
                    return direct if scalar else f"_collapse({direct})"
                fast = functions.FAST1.get(name)
                if fast is not None and len(args) == 1 and not node.keep_array:
                    general = f"{self.const(fast)}({{t}}, {c}, {node.position})"
                    inline = _INLINE1.get(name)
                    if inline is None:
                        return general.format(t=args[0])
                    t = self._name("_t")
                    return "(" + inline.format(t=t, arg=args[0], general=general.format(t=t)) + ")"
                state = "E" if name in functions.HIGHER_ORDER else "None"
                return self._collapsed(
                    f"{self.const(functions.BUILTINS[name])}.call({arglist}, {c}, {state}, {node.position})", node
                )
            if name in KNOWN_BUILTINS:
                raise Unsupported(f"the function ${name}", node.position)
            self.needs_state = True
            self.free.add(name)
            return self._collapsed(f"_apply_free(E, {self.const(name)}, {arglist}, {c})", node)
        self.needs_state = True
        procedure = self.expr(proc, c, scope, fn)
        return self._collapsed(f"_apply({procedure}, {arglist}, {c}, E)", node)

    @staticmethod
    def _typed(builtin: functions.Builtin, arg_nodes: list[Node]) -> bool:
        """Whether every argument is statically of the plain type its parameter takes."""
        kinds = builtin.kinds
        if kinds is None or builtin.higher_order or not builtin.required <= len(arg_nodes) <= len(kinds):
            return False
        wanted = {"str": str, "num": int, "bool": bool}
        for arg, kind in zip(arg_nodes, kinds, strict=False):
            k = _kind(arg)
            if k not in wanted or wanted[k] not in kind:
                return False
            if k == "num" and float not in kind:
                return False
        return True

    def _procedure(self, proc: Node, c: str, scope: _Scope, fn: _Fn) -> str:
        """The function value a call or partial application names."""
        if proc.type == "variable" and proc.value and proc.value != "$":
            local = self._resolve(proc.value, scope, fn)
            if local is not None:
                return local
            return self._free(proc.value)
        return self.expr(proc, c, scope, fn)

    def _tail(self, node: Node, c: str, scope: _Scope, fn: _Fn) -> str:
        """Code for a lambda body's value, with calls in tail position left to the caller's loop."""
        plain = not node.predicate and node.group is None and not node.keep_array
        if plain and node.type == "function" and node.procedure is not None:
            proc = node.procedure
            is_builtin = (
                proc.type == "variable"
                and self._resolve(proc.value, scope, fn) is None
                and proc.value in KNOWN_BUILTINS
            )
            if not is_builtin and proc.type != "path":
                args = "[" + ", ".join(self.expr(a, c, scope, fn) for a in node.arguments) + "]"
                return f"_Tail({self._procedure(proc, c, scope, fn)}, {args}, {c})"
        if plain and node.type == "condition":
            assert node.condition is not None and node.then is not None
            cond = self.expr(node.condition, c, scope, fn)
            then = self._tail(node.then, c, scope, fn)
            other = self._tail(node.else_, c, scope, fn) if node.else_ is not None else "_U"
            return f"({then} if _truthy({cond}) else {other})"
        if plain and node.type == "block" and node.expressions:
            return self._block_scope(node, scope, fn, node.expressions, c, tail=True)
        return self.expr(node, c, scope, fn)

    def _lambda(self, node: Node, c: str, scope: _Scope, fn: _Fn) -> str:
        if c != "c":
            raise Unsupported("a function definition as a path's first step", node.position)
        assert node.body is not None
        self.needs_state = True
        lam = _Fn(self._name("_l"), "", fn, fn.item_context)
        lam.closure = True
        inner = _Scope(scope, lam)
        params = []
        for arg in node.arguments:
            local = self._name("v")
            inner.vars[arg.value] = local
            params.append(local)
        lam.params = ", ".join(params)
        for name in _binds(node.body, []):
            if name not in inner.vars:
                outer = self._resolve(name, scope, fn) or self._free(name)
                local = self._name("v")
                inner.vars[name] = local
                lam.lines.append(f"{local} = {outer}")
        lam.lines.append(f"return {self._tail(node.body, 'c', inner, lam)}")
        fn.nested.append(lam)
        signature = self.const(Signature(node.signature)) if node.signature else "None"
        return f"_Lambda({lam.name}, {len(params)}, {signature})"

    def _partial(self, node: Node, c: str, scope: _Scope, fn: _Fn) -> str:
        assert node.procedure is not None
        self.needs_state = True
        given = ["_HOLE" if a.type == "operator" else self.expr(a, c, scope, fn) for a in node.arguments]
        procedure = self._procedure(node.procedure, c, scope, fn)
        if node.procedure.type == "variable" and node.procedure.value in functions.BUILTINS:
            self.calls.add(node.procedure.value)
        return f"_partial({procedure}, [{', '.join(given)}], {node.position})"

    def _apply(self, node: Node, c: str, scope: _Scope, fn: _Fn) -> str:
        lhs = self.expr(node.lhs, c, scope, fn)
        rhs = node.rhs
        if rhs.type == "function":
            return self._call(rhs, c, scope, fn, first=lhs, first_node=node.lhs)
        self.needs_state = True
        return self._collapsed(f"_chain({lhs}, {self._procedure(rhs, c, scope, fn)}, E, {node.position})", node)

    # ---------------------------------------------------------------- objects

    def _object(
        self, pairs: list[tuple[Node, Node]], position: int, c: str, scope: _Scope, fn: _Fn, top: bool = False
    ) -> str:
        helper = self._fn("_o", fn, fn.item_context)
        inner = _Scope(scope, helper)
        literal = [k.value for k, _ in pairs if k.type == "string"]
        if len(literal) == len(pairs) and len(set(literal)) == len(literal):
            # an object in, the usual case: its fields read without asking what the context is
            helper.lines.append("if type(c) is dict:")
            helper.dicts.add("c")
            self._fields(pairs, inner, helper, top, "    ")
            helper.dicts.discard("c")
            group = self._group_pairs(pairs, inner, helper, position)
            grouped = f"_group(c, {group}, E, {position})"
            helper.lines.append(f"if isinstance(c, list): return {'_out(' + grouped + ')' if top else grouped}")
            self._fields(pairs, inner, helper, top, "")
        else:
            group = self._group_pairs(pairs, inner, helper, position)
            helper.lines.append(f"return _group(c, {group}, E, {position})")
        if top and not helper.closure:
            self._objects.append(helper)
        else:
            self._place(helper)
        return f"{helper.name}({c}, E)"

    def _fields(self, pairs: list[tuple[Node, Node]], scope: _Scope, fn: _Fn, top: bool, indent: str) -> None:
        """The lines building an object of literal keys in `r` and returning it."""
        fn.lines.append(f"{indent}r = {{}}")
        for k, v in pairs:
            fn.lines.append(f"{indent}v = {self.expr(v, 'c', scope, fn)}")
            converted = "v"
            if top:  # the value as plain JSON, the usual types without a call
                kind = _kind(v)
                if kind == "num":
                    t = self._name("_t")
                    converted = (
                        f"(v if ({t} := type(v)) is float and not v.is_integer() or ({t} is int and _NINT <= v < _INT)"
                        " else _out_num(v))"
                    )
                elif kind == "any":
                    t = self._name("_t")
                    converted = (
                        f"(v if ({t} := type(v)) is str or ({t} is float and not v.is_integer())"
                        f" or ({t} is int and _NINT <= v < _INT) or {t} in _PLAIN else _out(v))"
                    )
            fn.lines.append(f"{indent}if v is not _U: r[{self.const(k.value)}] = {converted}")
        fn.lines.append(f"{indent}return r")

    def _group_pairs(self, pairs: list[tuple[Node, Node]], scope: _Scope, fn: _Fn, position: int) -> str:
        """A tuple of (key function, value function) pairs, made where `fn`'s variables are visible."""
        out = []
        for k, v in pairs:
            kf = self._fn("_gk", fn, True)
            kf.lines.append(f"return {self.expr(k, 'c', _Scope(scope, kf), kf)}")
            vf = self._fn("_gv", fn, True)
            vf.lines.append(f"return {self.expr(v, 'c', _Scope(scope, vf), vf)}")
            self._place(kf)
            self._place(vf)
            out.append(f"({kf.name}, {vf.name})")
        return "(" + "".join(f"{p}, " for p in out) + ")"

    def _group_call(self, code: str, pairs: list[tuple[Node, Node]], scope: _Scope, fn: _Fn) -> str:
        group = self._group_pairs(pairs, scope, fn, 0)
        return f"_group({code}, {group}, E, 0)"

    # ---------------------------------------------------------------- predicates

    def _filter(self, code: str, f: Node, scope: _Scope, fn: _Fn) -> str:
        pred = f.expression
        assert pred is not None
        if pred.type == "number":
            return f"_index({code}, {self.const(pred.value)})"
        helper = self._fn("_f", fn, True)
        helper.lines.append(f"return {self.expr(pred, 'c', _Scope(scope, helper), helper)}")
        self._place(helper)
        return f"_filter({code}, {helper.name}, E)"

    # ---------------------------------------------------------------- paths

    def _path(self, node: Node, c: str, scope: _Scope, fn: _Fn, summed: bool = False) -> str:
        """The code of a path. With `summed`, a path whose values are numbers made by its last step
        may give their sum instead of their sequence (`$sum` of it): `self.summed` says if it did."""
        did_sum = False
        steps = node.steps
        for s in steps:
            if s.tuple or s.focus is not None or s.index is not None:
                raise Unsupported("context and position variables (@, #)", s.position)
            if s.type == "parent":
                raise Unsupported("the parent operator (%)", s.position)
        plain = all(s.type == "name" and not s.stages and not s.keep_array and s.group is None for s in steps)
        if plain and not node.keep_singleton_array and node.group is None and not node.keep_array:
            names = [s.value for s in steps]
            if len(names) == 1:
                k = self.const(names[0])
                if c in fn.spec:
                    return f"{c}[{k}]"
                if c in fn.dicts:
                    return f"{c}.get({k}, _U)"
                return f"({c}.get({k}, _U) if type({c}) is dict else _path_names({c}, ({k},)))"
            if len(names) == 2 and c not in fn.spec:
                a, b, t = self.const(names[0]), self.const(names[1]), self._name("_t")
                generic = f"_path_names({c}, ({a}, {b}))"
                inner_dict = f"({t}.get({b}, _U) if type({t} := {c}.get({a}, _U)) is dict else {generic})"
                if c in fn.dicts:
                    return inner_dict
                return f"({inner_dict} if type({c}) is dict else {generic})"
            return f"_path_names({c}, {self.const(tuple(names))})"
        helper = self._fn("_p", fn, fn.item_context)
        if c in fn.dicts:
            helper.dicts.add("c")  # the helper is called with this context only
        inner = _Scope(scope, helper)
        lines = helper.lines
        first = steps[0]
        fin = self._path_finish(node, inner, helper)
        wrap = "[c]" if first.cons_array else "(c,)"
        start = 0
        if c in fn.dicts and _plain_name(first) and len(steps) > 1 and steps[1].type != "sort":
            # the context is an object: the first field read from it directly, its array (if it
            # is one) the next step's input as it is
            k = self.const(first.value)
            lines.append(f"s = c.get({k}, _U)")
            lines.append("if isinstance(s, list) and type(s) is not _Cons:")
            lines.append("    if not s: return " + fin.replace("RES", "_seq()"))
            lines.append("elif s is _U: return " + fin.replace("RES", "_seq()"))
            lines.append("else: s = (s,)")
            start = 1
        elif first.type == "variable":
            lines.append(f"s = {wrap}")
        else:
            lines.append(f"s = c if isinstance(c, list) else {wrap}")
        last_index = len(steps) - 1
        for i, step in enumerate(steps):
            if i < start:
                continue
            last = i == last_index
            if step.type == "sort":
                terms = []
                for descending, term in step.terms:
                    key = self._fn("_sk", helper, True)
                    key.lines.append(f"return {self.expr(term, 'c', _Scope(inner, key), key)}")
                    self._place(key)
                    terms.append(f"({descending}, {key.name})")
                lines.append(f"r = _sort_by(s, ({''.join(t + ', ' for t in terms)}), E, {step.position})")
                for f in step.stages:
                    lines.append(f"r = {self._filter('r', f, inner, helper)}")
                if last:
                    lines.append("res = r")
                else:
                    lines.append("if not r: return " + fin.replace("RES", "_seq()"))
                    lines.append("s = r")
                continue
            if i == 0 and step.cons_array:
                lines.append(f"r = {self.expr(step, 's', inner, helper)}")
                if not last:
                    lines.append("if r is _U or not r: return " + fin.replace("RES", "_seq()"))
                    lines.append("s = r")
                else:
                    lines.append("res = r")
                continue
            item = self._step_fn(
                step, inner, helper, helper.item_context if i == 0 and first.type == "variable" else True
            )
            if self.timed:
                lines.append("E.tick(len(s))")
            lines.append("r = _Seq()" if not last else "r = []")
            lines.append("for x in s:")
            lines.append(f"    v = {item}")
            for f in step.stages:
                lines.append(f"    v = {self._filter('v', f, inner, helper)}")
            if last and _kind(step) in ("num", "str", "bool") and not step.stages:
                lines[-3] = "r = _Seq()"  # values that are never arrays: the sequence directly
                lines.append("    if v is not _U: r.append(v)")
                lines.append("res = r")
                if fin == "_collapse(RES)":  # a sequence made here: collapsed inline (or summed)
                    lines[-1] = "res = r"
                    did_sum = summed
                    fin = f"(_U if not (_n := len(RES)) else RES[0] if _n == 1 else {'_sum(RES)' if summed else 'RES'})"
                if _speculable(step):
                    # tried first as a comprehension over objects that have every field it reads
                    # (no value is then undefined); any other item: the loop above, from the start
                    loop = lines[-5:-1]
                    del lines[-5:-1]
                    helper.spec.add("x")
                    tried = self.expr(step, "x", inner, helper)
                    helper.spec.discard("x")
                    lines.insert(-1, "try:")
                    tried = f"[{tried} for x in s]"
                    lines.insert(-1, f"    r = {tried}" if did_sum else f"    r = _Seq({tried})")
                    lines.insert(-1, "except (KeyError, TypeError):")
                    for line in loop:
                        lines.insert(-1, "    " + line)
            elif last:
                lines.append("    if v is not _U: r.append(v)")
                lines.append("res = _last_step(r)")
            else:
                lines.append("    if v is not _U:")
                lines.append("        if isinstance(v, list) and type(v) is not _Cons: r.extend(v)")
                lines.append("        else: r.append(v)")
                lines.append("if not r: return " + fin.replace("RES", "r"))
                lines.append("s = r")
        lines.append("return " + fin.replace("RES", "res"))
        self._place(helper)
        self.summed = did_sum
        return f"{helper.name}({c}, E)"

    def _step_fn(self, step: Node, scope: _Scope, fn: _Fn, item_context: bool) -> str:
        """The code of one step for item `x` (names inline, anything else a helper call)."""
        if step.type == "name" and not step.keep_array and step.group is None:
            k = self.const(step.value)
            return f"x.get({k}, _U) if type(x) is dict else _lookup_c(x, {k})"
        if not any(n.type == "lambda" for n in _walk(step)):
            return self.expr(step, "x", scope, fn)  # no closure can capture the loop variable
        helper = self._fn("_s", fn, item_context)
        helper.lines.append(f"return {self.expr(step, 'c', _Scope(scope, helper), helper)}")
        self._place(helper)
        return f"{helper.name}(x, E)"

    def _path_finish(self, node: Node, scope: _Scope, fn: _Fn) -> str:
        code = "RES"
        if node.keep_singleton_array:
            code = f"_keep_singleton({code})"
        if node.group is not None:
            group = self._group_pairs(node.group, scope, fn, node.group_position)
            return f"_group({code}, {group}, E, {node.group_position})"
        if node.keep_array:
            code = f"_keep({code})"
        return f"_collapse({code})"


# one argument of the usual type: the answer inline; any other: the fast form (the same as before)
_INLINE1 = {
    "lowercase": "{t}.lower() if type({t} := {arg}) is str else {general}",
    "uppercase": "{t}.upper() if type({t} := {arg}) is str else {general}",
    "string": "{t} if type({t} := {arg}) is str else _str({t}) if type({t}) is int and _NE15 < {t} < _E15 else"
              " {general}",
    "length": "len({t}) if type({t} := {arg}) is str else {general}",
    "count": "len({t}) if isinstance({t} := {arg}, list) else {general}",
    "boolean": "{t} if type({t} := {arg}) is bool else len({t}) > 0 if type({t}) is dict else _boolean({t})",
}

_STR_FUNCTIONS = {"formatBase", "string", "substring", "substringBefore", "substringAfter", "lowercase",
                  "uppercase", "trim", "pad", "join", "encodeUrl", "encodeUrlComponent", "decodeUrlComponent",
                  "type"}  # fmt: skip
_BOOL_FUNCTIONS = {"boolean", "not", "exists", "contains"}
_NUM_FUNCTIONS = {"sum", "count", "max", "min", "average", "round", "floor", "ceil", "abs", "sqrt", "power",
                  "length", "number"}  # fmt: skip


def _kind(node: Node) -> str:
    """What a node's value is, as far as its output needs converting: str, bool, num or any."""
    if node.predicate or node.group is not None or node.keep_array:
        return "any"
    t = node.type
    if t == "block" and node.expressions:
        return _kind(node.expressions[-1])
    if t == "string":
        return "str"
    if t == "value":
        return "bool" if node.value is not None else "str"
    if t == "number":
        return "num"
    if t == "binary":
        if node.value in ("=", "!=", "<", "<=", ">", ">=", "and", "or", "in"):
            return "bool"
        if node.value == "&":
            return "str"
        if node.value in ("+", "-", "*", "/", "%"):
            return "num"
    if t == "unary" and node.value == "-":
        return "num"
    if t == "function" and node.procedure is not None and node.procedure.type == "variable":
        name = node.procedure.value
        if name in _STR_FUNCTIONS:
            return "str"
        if name in _BOOL_FUNCTIONS:
            return "bool"
        if name in _NUM_FUNCTIONS:
            return "num"
    return "any"


def _plain_name(step: Node) -> bool:
    return (
        step.type == "name" and not step.stages and not step.keep_array and step.group is None
        and not step.predicate and not step.cons_array and not step.tuple
        and step.focus is None and step.index is None
    )  # fmt: skip


_SPEC_OPERATORS = {"+", "-", "*", "/", "%", "&", "=", "!=", "<", "<=", ">", ">="}


def _speculable(step: Node) -> bool:
    """Whether a step is arithmetic, comparison or concatenation over fields of the item (read
    as single names), literals and such: then on an object that has every field it reads, its
    value is never undefined, and the only way it can go wrong is an error of its own."""
    names = [0]

    def safe(n: Node) -> bool:
        if n.predicate or n.group is not None or n.keep_array or n.tuple or n.focus is not None:
            return False
        if n.index is not None:
            return False
        t = n.type
        if t in ("number", "string") or (t == "value" and n.value is not None) or (t == "value"):
            return True
        if t == "path":
            if len(n.steps) != 1 or n.keep_singleton_array or not _plain_name(n.steps[0]):
                return False
            names[0] += 1
            return True
        if t == "block":
            return len(n.expressions) == 1 and not _binds(n.expressions[0], []) and safe(n.expressions[0])
        if t == "binary":
            return n.value in _SPEC_OPERATORS and safe(n.lhs) and safe(n.rhs)
        if t == "unary" and n.value == "-":
            return n.expression is not None and safe(n.expression)
        return False

    return safe(step) and names[0] > 0


def _numbers_or_nothing(node: Node) -> bool:
    """A node whose value is a number, a sequence of numbers, or undefined."""
    if _kind(node) == "num":
        return True
    if node.type == "path" and not node.keep_singleton_array and node.group is None and not node.predicate:
        last = node.steps[-1]
        return _kind(last) == "num" and not last.stages and not (len(node.steps) == 1 and last.cons_array)
    return False


def _sum_numbers(v: Any) -> Any:
    if type(v) is runtime.Seq:
        return sum(v)
    return v


def _top_object(tree: Node) -> bool:
    """Whether the whole expression is an object constructor with distinct string keys."""
    if tree.type != "unary" or tree.value != "{" or tree.predicate or tree.group is not None or tree.keep_array:
        return False
    keys = [k.value for k, _ in tree.lhs if k.type == "string"]
    return len(keys) == len(tree.lhs) and len(set(keys)) == len(keys)


def _at(helper: Callable[..., Any], position: int, *args: Any) -> Any:
    """A helper call that can fail, with the position of its operator added to the error."""
    try:
        return helper(*args)
    except JsonataError as exc:
        if exc.position is None:
            exc.position = position
        raise


def _sort_by(s: Any, terms: tuple[tuple[bool, Any], ...], state: Any, position: int) -> Any:
    """The order-by step: the whole sequence sorted by its terms (stable; undefined keys last)."""
    if len(s) <= 1:
        return s if isinstance(s, list) else runtime.seq(*s)

    def after(a: Any, b: Any) -> bool:
        for descending, key in terms:
            x, y = key(a, state), key(b, state)
            if x is runtime.U:
                if y is runtime.U:
                    continue
                return True
            if y is runtime.U:
                return False
            tx, ty = type(x), type(y)
            x_ok, y_ok = tx is str or tx is int or tx is float, ty is str or ty is int or ty is float
            if not x_ok or not y_ok:
                bad = x if not x_ok else y
                raise JsonataError(
                    "T2008",
                    "The expressions within an order-by clause must evaluate to numeric or string values: "
                    + runtime.show(bad),
                    position,
                )
            if (tx is str) != (ty is str):
                raise JsonataError(
                    "T2007",
                    f"Type mismatch when comparing values {runtime.show(x)} and {runtime.show(y)} in order-by clause",
                    position,
                )
            if x == y:
                continue
            return bool(x > y) != descending
        return False

    return functions.merge_sort(list(s), after)


def _chain(lhs: Any, rhs: Any, state: Any, position: int) -> Any:
    """`lhs ~> $f`: $f applied to lhs; two functions make their composition."""
    if not isinstance(rhs, runtime.Function):
        raise JsonataError(
            "T2006", "The right side of the function application operator ~> must be a function", position
        )
    if isinstance(lhs, runtime.Function):
        first = lhs

        def composed(args: list[Any], context: Any, st: Any) -> Any:
            return rhs.call([runtime.collapse(first.call(args, context, st))], runtime.U, st)

        return runtime.Function("chain", composed, 1)
    return rhs.call([lhs], runtime.U, state)


def _reraise(exc: Exception, data: Any) -> Any:
    raise exc


def _fail(code: str, message: str, position: int) -> Any:
    raise JsonataError(code, message, position)


def _names2(c: Any, a: str, b: str) -> Any:
    if type(c) is dict:
        v = c.get(a, runtime.U)
        if type(v) is dict:
            return v.get(b, runtime.U)
    return _path_names(c, (a, b))


def _path_names(c: Any, names: tuple[str, ...]) -> Any:
    """A path of plain field names, by the general rules."""
    s: Any = c if isinstance(c, list) else (c,)
    last = len(names) - 1
    for i, name in enumerate(names):
        if i < last:
            r = runtime.Seq()
            for x in s:
                v = x.get(name, runtime.U) if type(x) is dict else runtime.lookup_c(x, name)
                if v is not runtime.U:
                    runtime.flatten_into(r, v)
            if not r:
                return runtime.U
            s = r
        else:
            results = []
            for x in s:
                v = x.get(name, runtime.U) if type(x) is dict else runtime.lookup_c(x, name)
                if v is not runtime.U:
                    results.append(v)
            return runtime.collapse(runtime.last_step(results))
    return runtime.U


def _keep_singleton(res: Any) -> Any:
    if type(res) is runtime.Cons:
        res = runtime.seq(res)
    if type(res) is runtime.Seq:
        res.keep = True
    return res


def _array(values: tuple[Any, ...], nested: tuple[bool, ...], cons: bool) -> Any:
    out: list[Any] = runtime.Cons() if cons else []
    for v, is_array in zip(values, nested, strict=True):
        if v is runtime.U:
            continue
        if is_array or not isinstance(v, list):
            out.append(v)
        else:
            out.extend(v)
    return out


def _index(inp: Any, n: float | int) -> Any:
    if not isinstance(inp, list):
        inp = (inp,)
    i = int(n // 1)
    if i < 0:
        i += len(inp)
    res = runtime.Seq()
    if 0 <= i < len(inp):
        item = inp[i]
        if item is not runtime.U:
            if isinstance(item, list):
                return item
            res.append(item)
    return res


def _filter(inp: Any, pred: Callable[[Any, Any], Any], state: Any) -> Any:
    if not isinstance(inp, list):
        if inp is runtime.U:
            return runtime.Seq()  # nothing to filter: the predicate is not evaluated (as jsonatapy does)
        inp = (inp,)
    res = runtime.Seq()
    n = len(inp)
    for index, item in enumerate(inp):
        r = pred(item, state)
        t = type(r)
        if t is int or t is float:
            i = int(r // 1)
            if (i + n if i < 0 else i) == index:
                res.append(item)
        elif isinstance(r, list) and r and all(type(x) is int or type(x) is float for x in r):
            for x in r:
                i = int(x // 1)
                if (i + n if i < 0 else i) == index:
                    res.append(item)
        elif runtime.truthy(r):
            res.append(item)
    return res


def _group(inp: Any, pairs: tuple[tuple[Any, Any], ...], state: Any, position: int) -> Any:
    if not isinstance(inp, list):
        inp = (inp,)
    if not inp:
        inp = (runtime.U,)
    groups: dict[str, list[Any]] = {}
    for item in inp:
        for i, (key_fn, _) in enumerate(pairs):
            key = key_fn(item, state)
            if key is runtime.U:
                continue
            if type(key) is not str:
                raise JsonataError(
                    "T1003", f"Key in object structure must evaluate to a string; got: {runtime.show(key)}", position
                )
            g = groups.get(key)
            if g is None:
                groups[key] = [item, i]
            else:
                if g[1] != i:
                    raise JsonataError("D1009", f"Multiple key definitions evaluate to same key: {key}", position)
                g[0] = runtime.append(g[0], item)
    out: dict[str, Any] = {}
    for key, (data, i) in groups.items():
        v = pairs[i][1](data, state)
        if v is not runtime.U:
            out[key] = v
    return out


def _apply(f: Any, args: list[Any], context: Any, state: Any) -> Any:
    if not isinstance(f, runtime.Function):
        raise JsonataError("T1006", "Attempted to invoke a non-function")
    return f.call(args, context, state)


def _apply_free(state: Any, name: str, args: list[Any], context: Any) -> Any:
    f = state.bindings.get(name, runtime.U)
    if not isinstance(f, runtime.Function):
        raise JsonataError("T1006", f"Attempted to invoke a non-function: ${name}")
    return f.call(args, context, state)


_RUNTIME: dict[str, Any] = {
    "_U": runtime.U, "_Seq": runtime.Seq, "_Cons": runtime.Cons, "_seq": runtime.seq,
    "_collapse": runtime.collapse, "_collapse_keep": runtime.collapse_keep, "_keep": runtime.keep,
    "_lookup_c": runtime.lookup_c, "_last_step": runtime.last_step, "_wildcard": runtime.wildcard,
    "_descendants": runtime.descendants, "_dollar": runtime.dollar, "_truthy": runtime.truthy,
    "_add": runtime.add, "_sub": runtime.sub, "_mul": runtime.mul, "_div": runtime.div, "_mod": runtime.mod,
    "_neg": runtime.neg, "_equal": runtime.equal, "_not_equal": runtime.not_equal, "_lt": runtime.lt,
    "_le": runtime.le, "_gt": runtime.gt, "_ge": runtime.ge, "_includes": runtime.includes,
    "_concat": runtime.concat, "_range": runtime.range_, "_names2": _names2, "_path_names": _path_names,
    "_keep_singleton": _keep_singleton, "_array": _array, "_index": _index, "_filter": _filter,
    "_group": _group, "_apply": _apply, "_at": _at, "_fail": _fail, "_sum_numbers": _sum_numbers,
    "_out": runtime.out, "_out_num": runtime.out_number, "_apply_free": _apply_free,
    "isinstance": isinstance, "type": type, "dict": dict, "str": str, "list": list, "int": int,
    "float": float, "len": len, "_Lambda": runtime.Lambda, "_Tail": runtime.Tail, "_HOLE": runtime.HOLE,
    "_partial": runtime.partial, "_chain": _chain, "_EXACT": 2**53, "_NEXACT": -(2**53), "_sort_by": _sort_by,
    "_NINT": -runtime.INT_LIMIT,
    "_wrap_input": runtime.wrap_input, "_State": runtime.State, "_NO_BINDINGS": {}, "Exception": Exception,
    "KeyError": KeyError, "TypeError": TypeError, "bool": bool,
    "_INT": runtime.INT_LIMIT, "_boolean": runtime.boolean, "_sum": sum, "_str": str,
    "_E15": 10**15, "_NE15": -(10**15), "_PLAIN": frozenset({str, bool, type(None)}),
}  # fmt: skip
