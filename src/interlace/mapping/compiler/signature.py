"""Function signatures (`<s-nn?:s>`): checking and fixing up the arguments of a built-in call.

As in the reference: each argument gets a type letter, the letters must match the signature as a
regular expression, a missing argument marked `-` is taken from the context, and a single value
passed for an array parameter becomes an array of one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from interlace.mapping.compiler.errors import JsonataError
from interlace.mapping.compiler.runtime import Function, U

_ARRAY_TYPE = {"a": "arrays", "b": "booleans", "f": "functions", "n": "numbers", "o": "objects", "s": "strings"}


@dataclass
class _Param:
    regex: str = ""
    type: str = ""
    context: bool = False
    context_regex: re.Pattern[str] | None = None
    subtype: str | None = None


def symbol(value: Any) -> str:
    if isinstance(value, Function):
        return "f"
    t = type(value)
    if t is str:
        return "s"
    if t is int or t is float:
        return "n"
    if t is bool:
        return "b"
    if value is None:
        return "l"
    if isinstance(value, list):
        return "a"
    if t is dict:
        return "o"
    if value is U:
        return "m"
    return "o"


def _closing(text: str, start: int, open_: str, close: str) -> int:
    depth = 1
    pos = start
    while pos < len(text):
        pos += 1
        ch = text[pos]
        if ch == close:
            depth -= 1
            if depth == 0:
                break
        elif ch == open_:
            depth += 1
    return pos


class Signature:
    def __init__(self, definition: str) -> None:
        self.definition = definition
        params: list[_Param] = []
        param = _Param()
        prev = param
        position = 1
        while position < len(definition):
            ch = definition[position]
            if ch == ":":
                break
            if ch in "snblo":
                param.regex, param.type = f"[{ch}m]", ch
                params.append(param)
                prev, param = param, _Param()
            elif ch == "a":
                param.regex, param.type = "[asnblfom]", ch
                params.append(param)
                prev, param = param, _Param()
            elif ch == "f":
                param.regex, param.type = "f", ch
                params.append(param)
                prev, param = param, _Param()
            elif ch == "j":
                param.regex, param.type = "[asnblom]", ch
                params.append(param)
                prev, param = param, _Param()
            elif ch == "x":
                param.regex, param.type = "[asnblfom]", ch
                params.append(param)
                prev, param = param, _Param()
            elif ch == "-":
                prev.context = True
                prev.context_regex = re.compile(prev.regex)
                prev.regex += "?"
            elif ch in "?+":
                prev.regex += ch
            elif ch == "(":
                end = _closing(definition, position, "(", ")")
                choice = definition[position + 1 : end]
                if "<" in choice:
                    raise JsonataError("S0402", "Choice groups containing parameterized types are not supported")
                param.regex, param.type = f"[{choice}m]", f"({choice})"
                position = end
                params.append(param)
                prev, param = param, _Param()
            elif ch == "<":
                if prev.type not in ("a", "f"):
                    raise JsonataError("S0401", "Type parameters can only be applied to functions and arrays")
                end = _closing(definition, position, "<", ">")
                prev.subtype = definition[position + 1 : end]
                position = end
            position += 1
        self.params = params
        self.regex = re.compile("^" + "".join(f"({p.regex})" for p in params) + "$")

    def validate(self, args: list[Any], context: Any) -> list[Any]:
        supplied = "".join(symbol(a) for a in args)
        match = self.regex.match(supplied)
        if match is None:
            self._fail(args, supplied)
        assert match is not None
        validated: list[Any] = []
        index = 0
        for i, param in enumerate(self.params):
            got = match.group(i + 1)
            if got == "":
                if param.context and param.context_regex is not None:
                    if param.context_regex.match(symbol(context)):
                        validated.append(context)
                    else:
                        raise JsonataError(
                            "T0411",
                            f"Context value is not a compatible type with argument {index + 1} of function",
                        )
                else:
                    validated.append(args[index] if index < len(args) else U)
                    index += 1
                continue
            for single in got:
                arg = args[index]
                if param.type == "a":
                    if single == "m":
                        arg = U
                    else:
                        ok = True
                        if param.subtype is not None:
                            if single != "a" and got != param.subtype:
                                ok = False
                            elif single == "a" and len(arg) > 0:
                                first = symbol(arg[0])
                                ok = first == param.subtype[0] and all(symbol(v) == first for v in arg)
                        if not ok:
                            kind = _ARRAY_TYPE.get(param.subtype or "", "values")
                            raise JsonataError("T0412", f"Argument {index + 1} of function must be an array of {kind}")
                        if single != "a":
                            arg = [arg]
                validated.append(arg)
                index += 1
        return validated

    def _fail(self, args: list[Any], supplied: str) -> None:
        pattern = "^"
        good = 0
        for param in self.params:
            pattern += param.regex
            m = re.match(pattern, supplied)
            if m is None:
                break
            good = len(m.group(0))
        raise JsonataError("T0410", f"Argument {good + 1} of function does not match function signature")
