"""Reads COBOL copybook text into a tree of `Item`s.

Accepts fixed format (sequence area in columns 1-6, indicator in column 7, `*` or `/` there for a
comment line, text up to column 72) and free format (no sequence area; `*>` starts a comment); a
DOS end-of-file byte (X'1A') ends the text. Supported clauses: level numbers 01-49, 77, 88
(condition names), 66 (ignored: RENAMES takes no storage); PIC/PICTURE; USAGE DISPLAY, COMP,
COMP-0, COMP-4, BINARY, COMP-5, COMP-3, PACKED-DECIMAL, COMP-1, COMP-2 (also written as
COMPUTATIONAL-n); SIGN LEADING/TRAILING [SEPARATE] (which makes a PIC without S signed, as the
reference readers take it); OCCURS [m TO] n [TIMES] [DEPENDING ON x] (without `m TO` the minimum
is 1, as the COBOL references and Cobrix have it) with KEY/INDEXED BY phrases skipped; REDEFINES; VALUE(S)
with THRU ranges and figurative constants; BLANK WHEN ZERO; JUSTIFIED (no effect on reading);
`COPY member [OF|IN library] [REPLACING ==a== BY ==b== ...].` resolved from a library path.
Refused with a clear error: SYNCHRONIZED (slack bytes), POINTER, INDEX.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

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
    "COMP-0": "binary",
    "COMPUTATIONAL-0": "binary",
    "COMP-1": "float",
    "COMPUTATIONAL-1": "float",
    "COMP-2": "double",
    "COMPUTATIONAL-2": "double",
    "COMP-5": "native",
    "COMPUTATIONAL-5": "native",
    "COMP-3": "packed",
    "COMPUTATIONAL-3": "packed",
    "PACKED-DECIMAL": "packed",
}
_UNSUPPORTED = {
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
    raw = text.split("\x1a", 1)[0].expandtabs(8).splitlines()  # X'1A': DOS end of file
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
    explicit_sign = False
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
            explicit_sign = True
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
            item.blank_when_zero = True
        elif word in ("GLOBAL", "EXTERNAL", "IS"):
            continue
        else:
            raise entry.error(f"unexpected {entry.tokens[entry.pos - 1]!r}")
    if item.picture is not None and item.usage in ("float", "double"):
        raise entry.error("COMP-1 and COMP-2 items take no PIC")
    item.explicit_sign = explicit_sign
    if explicit_sign and item.picture is not None and item.picture.kind == "numeric":
        item.picture = item.picture.with_sign()  # a SIGN clause on PIC 99V99 still has a sign
    return item


def _occurs(entry: _Entry, item: Item) -> None:
    first = entry.take()
    if not first.isdigit():
        raise entry.error(f"OCCURS needs a count, found {first!r}")
    item.occurs = int(first)
    item.occurs_min = int(first)
    explicit_min = entry.peek() == "TO"
    if explicit_min:
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
        if not explicit_min:
            item.occurs_min = 1  # OCCURS n DEPENDING ON: 1 TO n (COBOL's default minimum; Cobrix's arrayMinSize)
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


_LISTING = {"EJECT", "SKIP1", "SKIP2", "SKIP3", "TITLE"}
_MEMBER_SUFFIXES = ("", ".cpy", ".CPY", ".cbl", ".CBL", ".cob", ".COB", ".copy", ".txt")
_MAX_COPY_DEPTH = 16
Replacing = list[tuple[list[str], list[str]]]


def _operand(tokens: list[str], pos: int, line: int, file: str) -> tuple[list[str], int]:
    """A REPLACING operand at `pos`: `==pseudo text==` (its words) or one word; and the next pos."""
    if pos >= len(tokens):
        raise CopybookError(f"line {line}: COPY ... REPLACING ends too early", file=file)
    first = tokens[pos]
    if not first.startswith("=="):
        return [first], pos + 1
    words: list[str] = []
    text = first[2:]
    while True:
        if text.endswith("==") and (len(words) > 0 or len(text) >= 2):
            inner = text[:-2]
            if inner:
                words.append(inner)
            return words, pos + 1
        if text:
            words.append(text)
        pos += 1
        if pos >= len(tokens):
            raise CopybookError(f"line {line}: pseudo-text after REPLACING is not closed with ==", file=file)
        text = tokens[pos]


def _copy_clause(tokens: list[str], line: int, file: str) -> tuple[str, Replacing]:
    if len(tokens) < 2:
        raise CopybookError(f"line {line}: COPY needs a member name", file=file)
    member = tokens[1].strip("'\"")
    pos = 2
    if pos < len(tokens) and tokens[pos].upper() in ("OF", "IN"):
        pos += 2  # the library name: members are looked up in the configured library folders
    pairs: Replacing = []
    if pos < len(tokens):
        if tokens[pos].upper() != "REPLACING":
            raise CopybookError(f"line {line}: unexpected {tokens[pos]!r} in COPY", file=file)
        pos += 1
        while pos < len(tokens):
            old, pos = _operand(tokens, pos, line, file)
            if pos >= len(tokens) or tokens[pos].upper() != "BY":
                raise CopybookError(f"line {line}: COPY ... REPLACING needs BY", file=file)
            new, pos = _operand(tokens, pos + 1, line, file)
            pairs.append((old, new))
    return member, pairs


def _replace(tokens: list[str], pairs: Replacing) -> list[str]:
    for old, new in pairs:
        if len(old) == 1 and not old[0][:1].isalnum():
            # `==:TAG:==` replaces that text inside words (the usual prefix idiom)
            pattern = re.compile(re.escape(old[0]), re.IGNORECASE)
            tokens = [pattern.sub(" ".join(new), t) for t in tokens]
            continue
        upper = [w.upper() for w in old]
        out: list[str] = []
        i = 0
        while i < len(tokens):
            if [t.upper() for t in tokens[i : i + len(old)]] == upper:
                out.extend(new)
                i += len(old)
            else:
                out.append(tokens[i])
                i += 1
        tokens = out
    return tokens


def find_member(member: str, library: Sequence[Path], file: str, line: int) -> Path:
    """The file of a COPY member in the library folders (name as written, upper or lower case,
    with or without .cpy/.cbl/.cob)."""
    for folder in library:
        for name in dict.fromkeys((member, member.upper(), member.lower())):
            for suffix in _MEMBER_SUFFIXES:
                candidate = folder / f"{name}{suffix}"
                if candidate.is_file():
                    return candidate
    where = ", ".join(str(f) for f in library) or "no library folder"
    raise CopybookError(f"line {line}: COPY {member}: no such member in {where}", file=file)


def _statements(
    text: str, file: str, library: Sequence[Path], replacing: Replacing, depth: int, copied: bool
) -> Iterator[tuple[str | None, int, list[str]]]:
    """(file when copied else None, line, tokens) of each entry, COPY members spliced in."""
    for line, sentence in sentences(text):
        tokens = _tokens(sentence)
        if not tokens:
            continue
        if replacing:
            tokens = _replace(tokens, replacing)
        head = tokens[0].upper()
        if head in _LISTING:
            continue
        if head == "COPY":
            if depth >= _MAX_COPY_DEPTH:
                raise CopybookError(f"line {line}: COPY nested more than {_MAX_COPY_DEPTH} deep", file=file)
            member, pairs = _copy_clause(tokens, line, file)
            path = find_member(member, library, file, line)
            try:
                member_text = path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise CopybookError(f"line {line}: COPY {member}: {exc.strerror}", file=file) from None
            # the member's own REPLACING first, then the one the member itself was copied with
            yield from _statements(member_text, str(path), library, pairs + replacing, depth + 1, True)
            continue
        if head == "REPLACE":
            raise CopybookError(f"line {line}: REPLACE is not supported (COPY ... REPLACING is)", file=file)
        yield (file if copied else None), line, tokens


def parse_copybook(text: str, file: str = "<copybook>", library: Sequence[Path] = ()) -> list[Item]:
    """The copybook's records (level 01 and 77 items); entries before any 01 form one record.
    `library`: the folders COPY members are looked up in."""
    records: list[Item] = []
    stack: list[Item] = []
    last: Item | None = None
    for copied, line, tokens in _statements(text, file, library, [], 0, False):
        where = copied or file
        parsed = parse_entry(tokens, line, where)
        if parsed is None:
            continue
        if isinstance(parsed, Condition):
            if last is None:
                raise CopybookError(f"line {line}: a level-88 entry must follow an item", file=where)
            last.conditions.append(parsed)
            continue
        item = parsed
        item.copy_file = copied
        while stack and stack[-1].level >= item.level:
            stack.pop()
        if stack:
            parent = stack[-1]
            if parent.picture is not None:
                raise CopybookError(
                    f"line {line}: {parent.name} has a PIC, so it cannot hold {item.name}",
                    file=where,
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
