"""QBO's query language: parse and evaluate ``SELECT ... FROM ...`` (docs/quickbooks/api.md#query-language).

Grammar (keywords case-insensitive, field names case-sensitive; the engine resolves the entity name in
any letter case, see ``catalogue.entity_named``)::

    SELECT * | COUNT(*) FROM <Entity>
      [WHERE <cond> [AND <cond>]...]
      [ORDERBY | ORDER BY <field> [ASC|DESC] [, <field> [ASC|DESC]]...]
      [STARTPOSITION n] [MAXRESULTS n]          (either order)

    <cond> := <field> (= | != | < | > | <= | >=) <literal>
            | <field> IN (<literal> [, <literal>]...)
            | <field> LIKE '<pattern with % wildcards>'
    <literal> := 'string with \\' escapes' | number | true | false

Pure Python: no Django, no I/O. ``parse`` raises ``QueryError`` for anything it cannot
read; the engine turns it into a QBO fault (code 4000, "Error parsing query").

Comparison rules (see "Decisions" in the emulator README): a field that is missing or empty
never matches; refs (``CustomerRef``) compare by their ``value``; numbers compare
numerically; two ISO dates/date-times compare as instants (naive = UTC); other
strings compare case-insensitively. LIKE is case-insensitive, ``%`` is the only
wildcard.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

DEFAULT_MAX_RESULTS = 100  # docs/quickbooks/api.md#query-language: default page 100
MAX_RESULTS_LIMIT = 1000  # docs/quickbooks/api.md#query-language: MAXRESULTS max 1000 (larger is capped)

Literal = str | Decimal | bool
COMPARISON_OPS = ("=", "!=", "<", ">", "<=", ">=")


class QueryError(Exception):
    """A query QBO would refuse. ``code``/``message`` follow docs/quickbooks/api.md#query-language."""

    def __init__(self, detail: str, code: str = "4000", message: str = "Error parsing query") -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # one of COMPARISON_OPS, "IN", "LIKE"
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True)
class OrderKey:
    field: str
    descending: bool = False


@dataclass(frozen=True)
class Query:
    entity: str
    count: bool
    conditions: tuple[Condition, ...] = ()
    order_by: tuple[OrderKey, ...] = ()
    start_position: int = 1
    max_results: int = DEFAULT_MAX_RESULTS

    @property
    def fields(self) -> list[str]:
        return [c.field for c in self.conditions] + [k.field for k in self.order_by]


# ---------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "str", "num", "op", "punct", "ident", "eof"
    text: str
    column: int

    def is_keyword(self, *words: str) -> bool:
        return self.kind == "ident" and self.text.upper() in words


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<str>'(?:[^'\\]|\\.)*')
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<op><=|>=|!=|=|<|>)
  | (?P<punct>[(),*])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
    """,
    re.VERBOSE | re.DOTALL,
)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            # Wording mirrors Intuit's lexer (docs/quickbooks/api.md#query-language, "QueryParserError").
            raise QueryError(
                "QueryParserError: Invalid content. Lexical error at line 1, "
                f'column {pos + 1}.  Encountered: "{text[pos]}"'
            )
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(_Token(kind, match.group(), pos + 1))
        pos = match.end()
    tokens.append(_Token("eof", "<EOF>", len(text) + 1))
    return tokens


def _unquote(raw: str) -> str:
    # docs/quickbooks/libraries.md#writes-and-queries: python-quickbooks escapes ' as \' inside literals.
    return re.sub(r"\\(.)", r"\1", raw[1:-1], flags=re.DOTALL)


# ---------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        if token.kind != "eof":
            self.pos += 1
        return token

    def fail(self, expecting: str) -> QueryError:
        token = self.current
        return QueryError(
            f'QueryParserError: Encountered "{token.text}" at line 1, '
            f"column {token.column}.\nWas expecting: {expecting}"
        )

    def expect_keyword(self, *words: str) -> _Token:
        if not self.current.is_keyword(*words):
            raise self.fail(" | ".join(f'"{w.lower()}"' for w in words))
        return self.advance()

    def expect(self, kind: str, text: str | None = None) -> _Token:
        token = self.current
        if token.kind != kind or (text is not None and token.text != text):
            raise self.fail(f'"{text}"' if text else f"<{kind}>")
        return self.advance()

    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        count = self._projection()
        self.expect_keyword("FROM")
        entity = self.expect("ident").text
        conditions = self._where()
        order_by = self._order_by()
        start, maximum = self._paging()
        if self.current.kind != "eof":
            raise self.fail('<EOF> | "and" | "orderby" | "startposition" | "maxresults"')
        return Query(entity, count, conditions, order_by, start, maximum)

    def _projection(self) -> bool:
        if self.current.kind == "punct" and self.current.text == "*":
            self.advance()
            return False
        if self.current.is_keyword("COUNT"):
            self.advance()
            self.expect("punct", "(")
            self.expect("punct", "*")
            self.expect("punct", ")")
            return True
        # docs/quickbooks/api.md#query-language: no projections, only * or COUNT(*).
        raise self.fail('"*" | "count"')

    def _where(self) -> tuple[Condition, ...]:
        if not self.current.is_keyword("WHERE"):
            return ()
        self.advance()
        conditions = [self._condition()]
        while self.current.is_keyword("AND"):
            self.advance()
            conditions.append(self._condition())
        if self.current.is_keyword("OR"):
            raise self.fail('"and" (OR is not supported)')  # docs/quickbooks/api.md#query-language
        return tuple(conditions)

    def _condition(self) -> Condition:
        if self.current.kind != "ident" or self.current.is_keyword(
            "AND", "ORDERBY", "ORDER", "STARTPOSITION", "MAXRESULTS"
        ):
            raise self.fail("<IDENTIFIER>")
        field = self.advance().text
        token = self.current
        if token.kind == "op":
            self.advance()
            return Condition(field, token.text, self._literal())
        if token.is_keyword("IN"):
            self.advance()
            return Condition(field, "IN", self._literal_list())
        if token.is_keyword("LIKE"):
            self.advance()
            return Condition(field, "LIKE", _unquote(self.expect("str").text))
        raise self.fail('"=" | "!=" | "<" | ">" | "<=" | ">=" | "in" | "like"')

    def _literal(self) -> Literal:
        token = self.current
        if token.kind == "str":
            self.advance()
            return _unquote(token.text)
        if token.kind == "num":
            self.advance()
            return Decimal(token.text)
        if token.is_keyword("TRUE", "FALSE"):
            self.advance()
            return token.text.upper() == "TRUE"
        raise self.fail("<STRING> | <NUMBER> | true | false")

    def _literal_list(self) -> tuple[Literal, ...]:
        self.expect("punct", "(")
        values = [self._literal()]
        while self.current.kind == "punct" and self.current.text == ",":
            self.advance()
            values.append(self._literal())
        self.expect("punct", ")")
        return tuple(values)

    def _order_by(self) -> tuple[OrderKey, ...]:
        # docs/quickbooks/api.md#query-language: python-quickbooks sends both ORDERBY and ORDER BY.
        if self.current.is_keyword("ORDER"):
            self.advance()
            self.expect_keyword("BY")
        elif self.current.is_keyword("ORDERBY"):
            self.advance()
        else:
            return ()
        keys = [self._order_key()]
        while self.current.kind == "punct" and self.current.text == ",":
            self.advance()
            keys.append(self._order_key())
        return tuple(keys)

    def _order_key(self) -> OrderKey:
        field = self.expect("ident").text
        descending = False
        if self.current.is_keyword("ASC", "DESC"):
            descending = self.advance().text.upper() == "DESC"
        return OrderKey(field, descending)

    def _paging(self) -> tuple[int, int]:
        values: dict[str, int] = {}
        while self.current.is_keyword("STARTPOSITION", "MAXRESULTS"):
            word = self.advance().text.upper()
            if word in values:
                raise self.fail("<EOF>")
            token = self.expect("num")
            if not token.text.lstrip("-").isdigit():
                raise QueryError(f"QueryParserError: {word} must be an integer")
            values[word] = int(token.text)
        start = max(values.get("STARTPOSITION", 1), 1)
        maximum = values.get("MAXRESULTS", DEFAULT_MAX_RESULTS)
        if maximum < 1:
            raise QueryError("QueryParserError: MAXRESULTS must be a positive integer")
        return start, min(maximum, MAX_RESULTS_LIMIT)


def parse(text: str) -> Query:
    """Parse a QBO query; raise ``QueryError`` (code 4000) when malformed."""
    if not text or not text.strip():
        raise QueryError("QueryParserError: The query provided was empty")
    return _Parser(text).parse()


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------


def field_value(row: dict[str, Any], path: str) -> Any:
    """Resolve a dotted path; a reference (``{"value": ...}``) yields its value."""
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if value == "" or isinstance(value, (dict, list)):
        return None
    return value


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    return None


def _as_instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _comparable(row_value: Any, literal: Literal) -> tuple[Any, Any] | None:
    """Both sides in one comparable type, or None when they cannot be compared."""
    if isinstance(row_value, bool):
        other = _as_bool(literal)
        return None if other is None else (row_value, other)
    if isinstance(row_value, (int, float, Decimal)):
        number = _as_decimal(literal)
        return None if number is None else (Decimal(str(row_value)), number)
    if not isinstance(row_value, str) or isinstance(literal, bool):
        return None
    left_num, right_num = _as_decimal(row_value), _as_decimal(literal)
    if left_num is not None and right_num is not None:
        return left_num, right_num
    left_time, right_time = _as_instant(row_value), _as_instant(literal)
    if left_time is not None and right_time is not None:
        return left_time, right_time
    return row_value.casefold(), str(literal).casefold()


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "<":
        return bool(left < right)
    if op == ">":
        return bool(left > right)
    if op == "<=":
        return bool(left <= right)
    return bool(left >= right)


def _like(value: Any, pattern: str) -> bool:
    if not isinstance(value, str):
        return False
    regex = ".*".join(re.escape(part) for part in pattern.split("%"))
    return re.fullmatch(regex, value, flags=re.IGNORECASE | re.DOTALL) is not None


def matches(condition: Condition, row: dict[str, Any]) -> bool:
    value = field_value(row, condition.field)
    if value is None:
        return False
    if condition.op == "LIKE":
        return _like(value, str(condition.value))
    literals = condition.value if condition.op == "IN" else (condition.value,)
    assert isinstance(literals, tuple)
    op = "=" if condition.op == "IN" else condition.op
    for literal in literals:
        pair = _comparable(value, literal)
        if pair is not None and _compare(op, *pair):
            return True
    return False


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, value)
    number = _as_decimal(value)
    if number is not None:
        return (1, number)
    instant = _as_instant(value)
    if instant is not None:
        return (2, instant)
    return (3, str(value).casefold())


def _compare_rows(keys: Sequence[OrderKey], left: dict[str, Any], right: dict[str, Any]) -> int:
    for key in keys:
        a, b = field_value(left, key.field), field_value(right, key.field)
        if a is None or b is None:
            if a is None and b is None:
                continue
            return 1 if a is None else -1  # missing values sort last either way
        ka, kb = _sort_key(a), _sort_key(b)
        if ka == kb:
            continue
        try:
            result = -1 if ka < kb else 1
        except TypeError:
            result = -1 if str(ka) < str(kb) else 1
        return -result if key.descending else result
    return 0


def run(query: Query, rows: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Filter, order and page ``rows``; returns (page, number of matching rows)."""
    selected = [r for r in rows if all(matches(c, r) for c in query.conditions)]
    if query.order_by:
        compare = functools.partial(_compare_rows, query.order_by)
        selected.sort(key=functools.cmp_to_key(compare))
    start = query.start_position - 1  # docs/quickbooks/api.md#query-language: STARTPOSITION is 1-based
    return selected[start : start + query.max_results], len(selected)
