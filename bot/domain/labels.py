"""Prometheus-style label matchers, the one parser for chat, API, config and rules. Pure.

Matchers follow Prometheus: ``=``, ``!=``, ``=~`` and ``!~``; regexes are fully anchored
(``env=~"prod"`` does not match ``production``) and a missing label reads as the empty string,
so ``team=""`` matches alerts without a team.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from bot.domain.errors import InvalidCommand

OPS = ("=~", "!~", "!=", "=")
# Bounds every front door shares (the API's request schema states the same numbers).
MAX_NAME = 200
MAX_VALUE = 1000
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")
_MATCHER = re.compile(r"^\s*([^=!~\s]+)\s*(=~|!~|!=|=)\s*(.*?)\s*$", re.DOTALL)
# A chat token is a matcher when it starts like one: a label name glued to an operator.
# Anything else (``deploy``, ``1=2``) begins the free-text reason.
_TOKEN_SHAPE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*(=~|!~|!=|=)")


class MatcherLike(Protocol):
    """Anything with a label name, an operator and a value (config, chat grammar, API)."""

    @property
    def name(self) -> str: ...
    @property
    def op(self) -> str: ...
    @property
    def value(self) -> str: ...


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass(frozen=True, slots=True)
class LabelMatcher:
    """One Prometheus-style label matcher."""

    name: str
    op: str
    value: str

    def __post_init__(self) -> None:
        if len(self.name) > MAX_NAME:
            raise InvalidCommand(
                f"label name is {len(self.name)} characters; the limit is {MAX_NAME}"
            )
        if len(self.value) > MAX_VALUE:
            raise InvalidCommand(
                f"matcher value for {self.name} is {len(self.value)} characters; "
                f"the limit is {MAX_VALUE}"
            )
        if not self.name or not _NAME.match(self.name):
            raise InvalidCommand(f"bad label name {self.name!r}")
        if self.op not in OPS:
            raise InvalidCommand(f"bad matcher operator {self.op!r}; use =, !=, =~ or !~")
        if self.op in ("=~", "!~"):
            try:
                _compiled(self.value)
            except re.error as exc:
                raise InvalidCommand(f"bad regex {self.value!r} for {self.name}: {exc}") from None

    @classmethod
    def of(cls, matcher: MatcherLike) -> LabelMatcher:
        """Copy any matcher-shaped value (validating it)."""
        return cls(matcher.name, matcher.op, matcher.value)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when ``labels`` satisfy this matcher."""
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        hit = _compiled(self.value).fullmatch(actual) is not None
        return hit if self.op == "=~" else not hit

    def as_json(self) -> dict[str, str]:
        """The stored shape."""
        return {"name": self.name, "op": self.op, "value": self.value}

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


def parse_matcher(text: str) -> LabelMatcher:
    """Parse ``service=api``, ``env=~"prod.*"``, ``team!=db`` or ``host!~'web-\\d+'``."""
    found = _MATCHER.match(text)
    if not found:
        raise InvalidCommand(
            f"bad matcher {text!r}; write name=value, name!=value, name=~regex or name!~regex"
        )
    name, op, value = found.groups()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        quote, value = value[0], value[1:-1]
        if quote == '"':  # PromQL-style escapes inside double quotes
            value = value.replace('\\"', '"').replace("\\\\", "\\")
    return LabelMatcher(name, op, value)


def matcher_from_json(data: Mapping[str, str]) -> LabelMatcher:
    """Inverse of ``LabelMatcher.as_json``."""
    return LabelMatcher(str(data["name"]), str(data.get("op", "=")), str(data["value"]))


def all_match(matchers: Iterable[LabelMatcher], labels: Mapping[str, str]) -> bool:
    """True when every matcher matches (an empty list matches everything)."""
    return all(m.matches(labels) for m in matchers)


def matcher_token(token: str) -> LabelMatcher | None:
    """A chat token as a matcher; None when it is not shaped like one (bad ones raise)."""
    if not _TOKEN_SHAPE.match(token):
        return None
    return parse_matcher(token)
