"""The regular expressions of Loom: one linear-time matcher and its dialect, for field
``pattern`` (the whole value must match) and the ``matches`` of conditions and rules
(searched in the text).

Why not ``re``: a tenant's pattern must not be able to stall a web process or a worker
by backtracking (``([a-z0-9]+\\.?)+@example\\.com`` on a long near-miss).  Why not
durable-rules' ``$mt``: its DFA construction gives wrong verdicts (``.*1*a .*`` does not
match ``*a a``) and refuses ordinary patterns (errors 503/504/507).  This matcher
simulates a Thompson NFA, caching state sets as a lazy DFA: time linear in the text,
whatever the pattern.

Dialect, read as Python's ``re`` with ``re.ASCII`` reads it: literals, ``.`` (not
a newline), classes ``[a-z0-9_]`` and ``[^...]``, groups ``(...)``, ``|``, ``* + ?``,
``{n}`` ``{n,}`` ``{n,m}`` (n, m <= 100), escapes ``\\.`` ``\\(`` ... ``\\d \\w \\s \\D \\W \\S
\\n \\t``; ``^`` may start and ``$`` end the pattern ($ = end of text); a leading ``(?i)``
ignores the case of ASCII letters.  Everything else is refused with the reason:
back-references, lookarounds and other ``(?...)`` groups,
lazy and possessive quantifiers, ``\\b`` and other escapes.  At most ``MAX_LENGTH``
characters.

In SQL: ``postgres_pattern`` translates a pattern into the PostgreSQL regular expression
(an ARE, for ``~``) that finds exactly the texts ``search`` finds, and ``sqlite_regexp``
is SQLite's ``REGEXP`` function, this matcher itself.
"""

from __future__ import annotations

import re

MAX_LENGTH = 200
MAX_STATES = 2000
_CACHE_LIMIT = 20000
_SPECIAL = set(".^$*+?()[]{}|\\-/")
_DIGIT = frozenset("0123456789")
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_SPACE = frozenset(" \t\n\r\f\v")
_CLASSES = {"d": (False, _DIGIT), "D": (True, _DIGIT), "w": (False, _WORD), "W": (True, _WORD),
            "s": (False, _SPACE), "S": (True, _SPACE)}
_ANY = (True, frozenset("\n"))   # '.': everything but a newline
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
IGNORE_CASE = "(?i)"  # the one flag, and only first: ASCII letters match either case


class PatternError(ValueError):
    pass


class _Parser:
    """Pattern text -> tree: ("set", negated, chars, ranges) | ("cat", [..]) | ("alt", [..])
    | ("rep", node, low, high or None)."""

    def __init__(self, text: str):
        self.text, self.pos = text, 0

    def peek(self):
        return self.text[self.pos] if self.pos < len(self.text) else None

    def take(self):
        char = self.peek()
        if char is None:
            raise PatternError("the pattern ends too early")
        self.pos += 1
        return char

    def alternation(self, depth: int = 0):
        branches = [self.concatenation(depth)]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.concatenation(depth))
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def concatenation(self, depth: int):
        items = []
        while self.peek() not in (None, "|", ")"):
            atom = self.atom(depth)
            items.append(self.quantified(atom))
        return ("cat", items)

    def quantified(self, atom):
        char = self.peek()
        if char not in ("*", "+", "?", "{"):
            return atom
        self.pos += 1
        if char == "{":
            m = re.match(r"([0-9]{1,3})(,([0-9]{0,3}))?\}", self.text[self.pos:])
            if not m:
                raise PatternError("repeat as {n}, {n,} or {n,m}; write a literal { as \\{")
            self.pos += len(m.group(0))
            low = int(m.group(1))
            high = low if m.group(2) is None else (int(m.group(3)) if m.group(3) else None)
            if low > 100 or (high is not None and (high > 100 or high < low)):
                raise PatternError("repeat counts must satisfy n <= m <= 100")
        else:
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
        if self.peek() in ("*", "+", "?", "{"):
            raise PatternError("a quantifier cannot follow another (no lazy or possessive forms)")
        return ("rep", atom, low, high)

    def atom(self, depth: int):
        char = self.take()
        if char == "(":
            if self.peek() == "?":
                raise PatternError("(?...) groups are not supported; use plain (...)")
            inner = self.alternation(depth + 1)
            if self.peek() != ")":
                raise PatternError("unbalanced (")
            self.pos += 1
            return inner
        if char == "[":
            return self.char_class()
        if char == "\\":
            return self.escape(in_class=False)
        if char == ".":
            return ("set", *_ANY, ())
        if char in "*+?{":
            raise PatternError(f"{char!r} must follow a character, class or group")
        if char in ")]}":
            raise PatternError(f"unbalanced {char}; write a literal {char} as \\{char}")
        if char in "^$":
            raise PatternError("^ may only start the pattern and $ only end it; write \\^ or \\$ for the characters")
        return ("set", False, frozenset(char), ())

    def escape(self, in_class: bool):
        char = self.take()
        if char in _CLASSES:
            return ("set", *_CLASSES[char], ())
        if char in "nt":
            return ("set", False, frozenset("\n" if char == "n" else "\t"), ())
        if char in _SPECIAL:
            return ("set", False, frozenset(char), ())
        raise PatternError(f"\\{char} is not supported")

    def char_class(self):
        negated = self.peek() == "^"
        self.pos += negated
        chars, ranges, first = set(), [], True
        while first or self.peek() != "]":
            char = self.take()
            if char == "[" or (char == "]" and first):
                raise PatternError("write [ and ] inside a class as \\[ and \\]")
            first = False
            if char == "\\":
                _, neg, members, _ = self.escape(in_class=True)
                if neg:
                    raise PatternError("\\D, \\W and \\S cannot appear inside [...]")
                chars |= members
            elif self.peek() == "-" and self.text[self.pos + 1:self.pos + 2] not in ("]", ""):
                self.pos += 1
                end = self.take()
                if end in "\\[":
                    raise PatternError("a range must end in a plain character")
                if end < char:
                    raise PatternError(f"the range {char}-{end} is reversed")
                ranges.append((char, end))
            else:
                chars.add(char)
        self.pos += 1
        return ("set", negated, frozenset(chars), tuple(ranges))


class Pattern:
    """A compiled pattern: ``search(text)`` in time linear in ``len(text)``."""

    def __init__(self, text: str):
        self.text = text
        self.ignore_case = text.startswith(IGNORE_CASE)
        body = text[len(IGNORE_CASE):] if self.ignore_case else text
        self.start = body.startswith("^")
        body = body[1:] if self.start else body
        escapes = len(body[:-1]) - len(body[:-1].rstrip("\\"))
        self.end = body.endswith("$") and escapes % 2 == 0
        body = body[:-1] if self.end else body
        parser = _Parser(body)
        tree = parser.alternation()
        self.tree = tree
        if parser.pos != len(body):
            raise PatternError("unbalanced )")
        if (self.start or self.end) and tree[0] == "alt":
            raise PatternError("with ^ or $, put alternatives in a group: ^(a|b)$")
        self.sets: list = []      # state -> ("set", negated, chars, ranges) | None
        self.edges: list = []     # state -> list of next states (epsilon for None-sets)
        self.accept = self._new(None)
        self.initial = self._close({self._build(tree, self.accept)})
        self._steps: dict = {}

    def _new(self, charset) -> int:
        if len(self.sets) >= MAX_STATES:
            raise PatternError("the pattern is too large")
        self.sets.append(charset)
        self.edges.append([])
        return len(self.sets) - 1

    def _build(self, node, nxt: int) -> int:
        """The entry state of ``node`` whose exit leads to ``nxt``."""
        kind = node[0]
        if kind == "set":
            state = self._new(node)
            self.edges[state].append(nxt)
            return state
        if kind == "cat":
            for item in reversed(node[1]):
                nxt = self._build(item, nxt)
            return nxt
        if kind == "alt":
            split = self._new(None)
            self.edges[split] = [self._build(branch, nxt) for branch in node[1]]
            return split
        _, inner, low, high = node
        if high is None:          # x{low,}: low copies, then a loop
            loop = self._new(None)
            self.edges[loop] = [self._build(inner, loop), nxt]
            nxt = loop
        else:                     # optional copies, innermost last
            for _ in range(high - low):
                split = self._new(None)
                self.edges[split] = [self._build(inner, nxt), nxt]
                nxt = split
        for _ in range(low):
            nxt = self._build(inner, nxt)
        return nxt

    def _close(self, states) -> frozenset:
        seen, todo = set(states), list(states)
        while todo:
            state = todo.pop()
            if self.sets[state] is None:
                for target in self.edges[state]:
                    if target not in seen:
                        seen.add(target)
                        todo.append(target)
        return frozenset(seen)

    def _member(self, charset, char: str) -> bool:
        _, negated, chars, ranges = charset
        inside = char in chars or any(low <= char <= high for low, high in ranges)
        if not inside and self.ignore_case and char in _LETTERS:
            other = char.swapcase()
            inside = other in chars or any(low <= other <= high for low, high in ranges)
        return inside != negated

    def _step(self, current: frozenset, char: str, searching: bool) -> frozenset:
        """The states after ``char``; while ``searching``, a match may also start there."""
        key = (current, char, searching)
        found = self._steps.get(key)
        if found is None:
            moved = {t for s in current if self.sets[s] is not None and self._member(self.sets[s], char)
                     for t in self.edges[s]}
            if searching:
                moved |= self.initial
            found = self._close(moved)
            if len(self._steps) > _CACHE_LIMIT:
                self._steps.clear()
            self._steps[key] = found
        return found

    def search(self, text: str) -> bool:
        """Whether the pattern matches somewhere in ``text`` (``re.search``)."""
        current, searching = self.initial, not self.start
        for char in text:
            if self.accept in current and not self.end:
                return True
            current = self._step(current, char, searching)
            if not current:
                return False
        return self.accept in current

    def fullmatch(self, text: str) -> bool:
        """Whether the pattern matches the whole of ``text`` (``re.fullmatch``)."""
        current = self.initial
        for char in text:
            current = self._step(current, char, False)
            if not current:
                return False
        return self.accept in current


_COMPILED: dict[str, Pattern] = {}


def compile_pattern(text: str) -> Pattern:
    """The compiled pattern (cached); PatternError says why ``text`` is not accepted."""
    found = _COMPILED.get(text)
    if found is None:
        if len(text) > MAX_LENGTH:
            raise PatternError(f"patterns may be at most {MAX_LENGTH} characters long")
        found = Pattern(text)
        if len(_COMPILED) > 1000:
            _COMPILED.clear()
        _COMPILED[text] = found
    return found


def pattern_problem(text: str) -> str | None:
    """Why ``text`` is not a pattern of the dialect, or None when it is."""
    try:
        compile_pattern(text)
    except PatternError as exc:
        return str(exc)
    return None


# --- in SQL -------------------------------------------------------------------------


def sqlite_regexp(pattern, value) -> bool | None:
    """SQLite's ``REGEXP`` (``value REGEXP pattern`` calls it with the pattern first):
    whether ``pattern`` is found in ``value``; None for NULL, false for a pattern the
    dialect refuses or a value that is not text, as the conditions read them."""
    if pattern is None or value is None:
        return None
    if not isinstance(pattern, str) or not isinstance(value, str) or pattern_problem(pattern) is not None:
        return False
    return compile_pattern(pattern).search(value)


def postgres_pattern(text: str) -> str:
    """The PostgreSQL regular expression (an ARE, for ``~``) that finds exactly what
    ``compile_pattern(text).search`` finds: every character is written as a code point
    (``\\uXXXX``) in a bracket expression, so neither the database's locale, case rules
    nor its own classes take part; ``(?i)`` becomes both cases of each ASCII letter;
    ``^`` and ``$`` are the text's start and end, as here.  PatternError as compile_pattern."""
    pattern = compile_pattern(text)
    body = _posix(pattern.tree, pattern.ignore_case)
    return f"{'^' if pattern.start else ''}(?:{body}){'$' if pattern.end else ''}"


def _code(char: str) -> str:
    point = ord(char)
    return f"\\u{point:04X}" if point <= 0xFFFF else f"\\U{point:08X}"


def _cased(chars: frozenset, ranges: tuple, ignore_case: bool) -> tuple[set, list]:
    """The members of a set with, under (?i), the other case of every ASCII letter."""
    chars, ranges = set(chars), list(ranges)
    if ignore_case:
        chars |= {c.swapcase() for c in chars if c in _LETTERS}
        for low, high in list(ranges):
            for first, last, shift in (("a", "z", -32), ("A", "Z", 32)):
                start, end = max(low, first), min(high, last)
                if start <= end:
                    ranges.append((chr(ord(start) + shift), chr(ord(end) + shift)))
    return chars, ranges


def _posix(node, ignore_case: bool) -> str:
    kind = node[0]
    if kind == "set":
        _, negated, members, ranges = node
        chars, ranges = _cased(members, ranges, ignore_case)
        items = [_code(c) for c in sorted(chars)] + [f"{_code(low)}-{_code(high)}" for low, high in sorted(ranges)]
        return f"[{'^' if negated else ''}{''.join(items)}]"
    if kind == "cat":
        return "".join(_posix(item, ignore_case) for item in node[1])
    if kind == "alt":
        return "(?:" + "|".join(_posix(branch, ignore_case) for branch in node[1]) + ")"
    _, inner, low, high = node
    counts = "{%d}" % low if low == high else "{%d,}" % low if high is None else "{%d,%d}" % (low, high)
    return f"(?:{_posix(inner, ignore_case)}){counts}"
