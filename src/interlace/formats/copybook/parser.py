"""Reads COBOL copybook text into a tree of `Item`s.

Accepts fixed format (sequence area in columns 1-6, indicator in column 7, `*` or `/` there for a
comment line, text up to column 72) and free format (no sequence area; `*>` starts a comment).
Supported clauses: level numbers 01-49, 77, 88 (condition names), 66 (ignored: RENAMES takes no
storage); PIC/PICTURE; USAGE DISPLAY, COMP, COMP-4, BINARY, COMP-5, COMP-3, PACKED-DECIMAL
(also written as COMPUTATIONAL-n); SIGN LEADING/TRAILING [SEPARATE]; OCCURS n [TO m] [TIMES]
[DEPENDING ON x] with KEY/INDEXED BY phrases skipped; REDEFINES; VALUE(S) with THRU ranges and
figurative constants; JUSTIFIED and BLANK WHEN ZERO (accepted, no effect on reading).
Refused with a clear error: COMP-1/COMP-2 (floating point), SYNCHRONIZED (slack bytes), P scaling.
"""

from __future__ import annotations

import re
from decimal import Decimal

from interlace.errors import ParseError
from interlace.formats.copybook.model import Condition, Item, Literal_, Sign, Usage
from interlace.formats.copybook.picture import parse_picture

_USAGES: dict[str, Usage] = {
    "DISPLAY": "display",
    "COMP": "binary",
    "COMPUTATIONAL": "binary",
    "COMP-4": "binary",
    "COMPUTATIONAL-4": "binary",
    "BINARY": "binary",
    "COMP-5": "native",
    "COMPUTATIONAL-5": "native",
    "COMP-3": "packed",
    "COMPUTATIONAL-3": "packed",
    "PACKED-DECIMAL": "packed",
}
_UNSUPPORTED = {
    "COMP-1": "COMP-1 (floating point) is not supported",
    "COMPUTATIONAL-1": "COMP-1 (floating point) is not supported",
    "COMP-2": "COMP-2 (floating point) is not supported",
    "COMPUTATIONAL-2": "COMP-2 (floating point) is not supported",
    "SYNC": "SYNCHRONIZED (slack bytes) is not supported",
    "SYNCHRONIZED": "SYNCHRONIZED (slack bytes) is not supported",
    "POINTER": "USAGE POINTER is not supported",
    "INDEX": "USAGE INDEX is not supported",
}
_FIGURATIVE = {
    "SPACE": "SPACES",
    "SPACES": "SPACES",
    "ZERO": "ZEROS",
    "ZEROS": "ZEROS",
    "ZEROES": "ZEROS",
    "LOW-VALUE": "LOW-VALUES",
    "LOW-VALUES": "LOW-VALUES",
    "HIGH-VALUE": "HIGH-VALUES",
    "HIGH-VALUES": "HIGH-VALUES",
    "QUOTE": "QUOTES",
    "QUOTES": "QUOTES",
    "NULL": "LOW-VALUES",
    "NULLS": "LOW-VALUES",
}
_CLAUSE_WORDS = {
    "PIC",
    "PICTURE",
    "USAGE",
    "SIGN",
    "LEADING",
    "TRAILING",
    "OCCURS",
    "REDEFINES",
    "VALUE",
    "VALUES",
    "JUST",
    "JUSTIFIED",
    "BLANK",
    "GLOBAL",
    "EXTERNAL",
    "IS",
    *_USAGES,
    *_UNSUPPORTED,
}
_TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|[^\s]+""")
_SENTENCE_END = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*")|\.(?=\s|$)""")


class CopybookError(ParseError):
    """The copybook itself is wrong or uses what is not supported; names its file, line and item."""


def source_lines(text: str) -> list[tuple[int, str]]:
    """The code of each line (comments and sequence areas removed), with its 1-based number."""
    raw = text.expandtabs(8).splitlines()
    meaningful = [line for line in raw if line.strip()]
    fixed = bool(meaningful) and all(
        len(line) > 6 and all(c == " " or c.isdigit() for c in line[:6]) for line in meaningful
    )
    out: list[tuple[int, str]] = []
    for number, line in enumerate(raw, start=1):
        if fixed:
            if len(line) > 6 and line[6] in "*/":
                continue
            # Columns 73-80 are an identification area, unless a word runs across column 72
            # (a copybook typed without regard to the margin).
            end = len(line) if len(line) > 72 and line[71] != " " and line[72] != " " else 72
            code = line[7:end] if len(line) > 6 and line[6] == "-" else line[6:end]
        else:
            code = line
        code = code.split("*>", 1)[0]
        if code.lstrip().startswith("*"):
            continue
        out.append((number, code))
    return out


def sentences(text: str) -> list[tuple[int, str]]:
    """Split into period-terminated entries, keeping the line each one starts on."""
    found: list[tuple[int, str]] = []
    current = ""
    start_line = 0
    for number, code in source_lines(text):
        pos = 0
        for match in _SENTENCE_END.finditer(code):
            if match.group(1) is not None:
                continue  # a quoted literal: its periods do not end the entry
            piece = code[pos : match.start()]
            if not current.strip():
                start_line = number
            current += " " + piece
            if current.strip():
                found.append((start_line, current.strip()))
            current = ""
            pos = match.end()
        rest = code[pos:]
        if rest.strip() and not current.strip():
            start_line = number
        current += " " + rest
    if current.strip():
        found.append((start_line, current.strip()))
    return found


def _tokens(sentence: str) -> list[str]:
    out = []
    for token in _TOKEN.findall(sentence):
        if token[0] not in "'\"" and token.endswith((",", ";")) and len(token) > 1:
            token = token[:-1]
        if token in (",", ";"):
            continue
        out.append(token)
    return out


class _Entry:
    """Reads the clauses of one entry, token by token."""

    def __init__(self, tokens: list[str], line: int, file: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.line = line
        self.file = file
        self.name = "?"

    def error(self, reason: str) -> CopybookError:
        return CopybookError(f"line {self.line}: {reason}", file=self.file, field=self.name)

    def peek(self) -> str | None:
        return self.tokens[self.pos].upper() if self.pos < len(self.tokens) else None

    def take(self) -> str:
        if self.pos >= len(self.tokens):
            raise self.error("the entry ends too early")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def skip(self, *words: str) -> None:
        while self.peek() in words:
            self.pos += 1

    def literal(self) -> Literal_:
        token = self.take()
        upper = token.upper()
        if upper == "ALL":
            token = self.take()
            upper = token.upper()
        if token[0] in "'\"":
            return token[1:-1].replace(token[0] * 2, token[0])
        if upper in _FIGURATIVE:
            return _FIGURATIVE[upper]
        try:
            number = Decimal(token)
        except ArithmeticError:
            raise self.error(f"{token!r} is not a literal") from None
        return int(number) if number == number.to_integral_value() and "." not in token else number


def parse_entry(tokens: list[str], line: int, file: str) -> Item | Condition | None:
    entry = _Entry(tokens, line, file)
    level_text = entry.take()
    if not level_text.isdigit():
        raise entry.error(f"expected a level number, found {level_text!r}")
    level = int(level_text)
    if level == 66:
        return None
    name = "FILLER"
    if entry.peek() is not None and entry.peek() not in _CLAUSE_WORDS:
        name = entry.take()
    entry.name = name
    if level == 88:
        entry.skip("VALUE", "VALUES", "IS", "ARE")
        values: list[tuple[Literal_, Literal_]] = []
        while entry.peek() is not None:
            low = entry.literal()
            high = low
            if entry.peek() in ("THRU", "THROUGH"):
                entry.take()
                high = entry.literal()
            values.append((low, high))
        if not values:
            raise entry.error("a level-88 entry needs VALUE")
        return Condition(name, values)
    if not (1 <= level <= 49 or level == 77):
        raise entry.error(f"level {level} is not a data level")
    item = Item(level=1 if level == 77 else level, name=name, line=line)
    while (word := entry.peek()) is not None:
        entry.take()
        if word in _UNSUPPORTED:
            raise entry.error(_UNSUPPORTED[word])
        if word in ("PIC", "PICTURE"):
            entry.skip("IS")
            try:
                item.picture = parse_picture(entry.take())
            except ValueError as exc:
                raise entry.error(str(exc)) from None
        elif word == "USAGE":
            entry.skip("IS")
            usage = entry.take().upper()
            if usage in _UNSUPPORTED:
                raise entry.error(_UNSUPPORTED[usage])
            if usage not in _USAGES:
                raise entry.error(f"USAGE {usage} is not supported")
            item.usage = _USAGES[usage]
        elif word in _USAGES:
            item.usage = _USAGES[word]
        elif word in ("SIGN", "LEADING", "TRAILING"):
            if word == "SIGN":
                entry.skip("IS")
                word = entry.take().upper()
                if word not in ("LEADING", "TRAILING"):
                    raise entry.error("SIGN must say LEADING or TRAILING")
            separate = entry.peek() == "SEPARATE"
            if separate:
                entry.take()
                entry.skip("CHARACTER")
            sign: Sign = "leading" if word == "LEADING" else "trailing"
            item.sign = (
                "leading_separate" if separate and sign == "leading" else ("trailing_separate" if separate else sign)
            )
        elif word == "OCCURS":
            _occurs(entry, item)
        elif word == "REDEFINES":
            item.redefines = entry.take()
        elif word in ("VALUE", "VALUES"):
            entry.skip("IS", "ARE")
            item.value = entry.literal()
        elif word in ("JUST", "JUSTIFIED"):
            entry.skip("RIGHT")
        elif word == "BLANK":
            entry.skip("WHEN", "ZERO", "ZEROS", "ZEROES")
        elif word in ("GLOBAL", "EXTERNAL", "IS"):
            continue
        else:
            raise entry.error(f"unexpected {entry.tokens[entry.pos - 1]!r}")
    return item


def _occurs(entry: _Entry, item: Item) -> None:
    first = entry.take()
    if not first.isdigit():
        raise entry.error(f"OCCURS needs a count, found {first!r}")
    item.occurs = int(first)
    item.occurs_min = int(first)
    if entry.peek() == "TO":
        entry.take()
        last = entry.take()
        if not last.isdigit():
            raise entry.error(f"OCCURS ... TO needs a count, found {last!r}")
        item.occurs_min, item.occurs = int(first), int(last)
    entry.skip("TIMES")
    if entry.peek() == "DEPENDING":
        entry.take()
        entry.skip("ON")
        item.depending_on = entry.take()
    elif item.occurs_min != item.occurs:
        raise entry.error("OCCURS n TO m needs DEPENDING ON")
    while entry.peek() in ("ASCENDING", "DESCENDING", "INDEXED"):
        entry.take()
        entry.skip("KEY", "IS", "BY")
        while entry.peek() is not None and entry.peek() not in _CLAUSE_WORDS | {
            "ASCENDING",
            "DESCENDING",
            "INDEXED",
        }:
            entry.take()


def parse_copybook(text: str, file: str = "<copybook>") -> list[Item]:
    """The copybook's records (level 01 and 77 items); entries before any 01 form one record."""
    records: list[Item] = []
    stack: list[Item] = []
    last: Item | None = None
    for line, sentence in sentences(text):
        tokens = _tokens(sentence)
        if not tokens:
            continue
        if tokens[0].upper() in ("COPY", "REPLACE", "EJECT", "SKIP1", "SKIP2", "SKIP3"):
            raise CopybookError(f"line {line}: {tokens[0]} is not supported", file=file)
        parsed = parse_entry(tokens, line, file)
        if parsed is None:
            continue
        if isinstance(parsed, Condition):
            if last is None:
                raise CopybookError(f"line {line}: a level-88 entry must follow an item", file=file)
            last.conditions.append(parsed)
            continue
        item = parsed
        while stack and stack[-1].level >= item.level:
            stack.pop()
        if stack:
            parent = stack[-1]
            if parent.picture is not None:
                raise CopybookError(
                    f"line {line}: {parent.name} has a PIC, so it cannot hold {item.name}",
                    file=file,
                    field=item.name,
                )
            parent.children.append(item)
        elif item.level == 1:
            records.append(item)
        else:
            if not records or records[-1].level != 0:
                records.append(Item(level=0, name="RECORD", line=line))
            records[-1].children.append(item)
            stack = [records[-1]]
        stack.append(item)
        last = item
    if not records:
        raise CopybookError("the copybook defines no items", file=file)
    return records
