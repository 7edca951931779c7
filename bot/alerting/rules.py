"""Routing rules: label matchers, first-match rule evaluation and title templates. Pure.

Matchers follow Prometheus: ``=``, ``!=``, ``=~`` and ``!~``; regexes are fully anchored
(``env=~"prod"`` does not match ``production``) and a missing label reads as the empty string,
so ``team=""`` matches alerts without a team.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from bot.domain.errors import InvalidCommand

OPS = ("=~", "!~", "!=", "=")
ACTIONS = ("declare", "attach", "notify", "ignore")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")
_MATCHER = re.compile(r"^\s*([^=!~\s]+)\s*(=~|!~|!=|=)\s*(.*?)\s*$", re.DOTALL)


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


@dataclass(frozen=True, slots=True)
class Rule:
    """What to do with alerts whose labels (and source and status) match."""

    name: str
    action: str  # one of ACTIONS
    match: tuple[LabelMatcher, ...] = ()
    sources: frozenset[str] = field(default_factory=frozenset)
    status: str = "firing"  # firing, resolved or any
    severity: str | None = None
    title_template: str = "{title}"
    auto_resolve: bool = False

    def applies(self, source: str, status: str, labels: Mapping[str, str]) -> bool:
        """True when this rule covers an alert from ``source`` in ``status`` with ``labels``."""
        if self.sources and source not in self.sources:
            return False
        if self.status != "any" and self.status != status:
            return False
        return all_match(self.match, labels)


class RuleConfigLike(Protocol):
    """The configured shape of a rule (``bot.config.AlertRuleConfig``)."""

    @property
    def name(self) -> str: ...
    @property
    def match(self) -> Sequence[MatcherLike]: ...
    @property
    def sources(self) -> Sequence[str]: ...
    @property
    def status(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def severity(self) -> str | None: ...
    @property
    def title_template(self) -> str: ...
    @property
    def auto_resolve(self) -> bool: ...


def rules_from_config(configs: Iterable[RuleConfigLike]) -> tuple[Rule, ...]:
    """Turn configured rules into evaluated ones, keeping their order."""
    return tuple(
        Rule(
            name=cfg.name,
            action=cfg.action,
            match=tuple(LabelMatcher.of(m) for m in cfg.match),
            sources=frozenset(cfg.sources),
            status=cfg.status,
            severity=cfg.severity,
            title_template=cfg.title_template,
            auto_resolve=cfg.auto_resolve,
        )
        for cfg in configs
    )


# When no rule matches, the alert is announced: silence would hide an alert nobody routed.
FALLBACK = Rule(name="default", action="notify")


def evaluate(rules: Sequence[Rule], source: str, status: str, labels: Mapping[str, str]) -> Rule:
    """The first rule that applies, else ``FALLBACK``."""
    for rule in rules:
        if rule.applies(source, status, labels):
            return rule
    return FALLBACK


class RuleBook:
    """Rules evaluated first-match, remembering each answer by the labels the rules read.

    A rule sees only the source, the status and the labels its matchers name (a missing
    label reads as ""), so alerts that agree on those get the same rule: intake asks once per
    alert received, and most alerts of a storm agree.
    """

    def __init__(self, rules: Sequence[Rule], *, memo_size: int = 4096) -> None:
        self.rules = tuple(rules)
        self._names = tuple(sorted({m.name for rule in self.rules for m in rule.match}))
        self._memo: dict[tuple[str, str, tuple[str, ...]], Rule] = {}
        self._memo_size = memo_size

    def evaluate(self, source: str, status: str, labels: Mapping[str, str]) -> Rule:
        """Same answer as ``evaluate(self.rules, source, status, labels)``."""
        key = (source, status, tuple([labels.get(name, "") for name in self._names]))
        found = self._memo.get(key)
        if found is None:
            found = evaluate(self.rules, source, status, labels)
            if len(self._memo) >= self._memo_size:  # unbounded label values (a regex on
                self._memo.clear()  # instance): start over rather than grow
            self._memo[key] = found
        return found


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{\s*([A-Za-z_][A-Za-z0-9_]*)(?:(\.|\[)([^}\]]*)\]?)?\s*\}")


def render_title(
    template: str,
    facts: Mapping[str, str],
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    *,
    limit: int = 200,
) -> str:
    """Fill ``{title}``, ``{severity}``, ``{labels.service}``, ``{labels[service]}``,
    ``{annotations.summary}`` or a bare label name like ``{instance}``.

    Unknown keys render empty (a typo in config must not stop an incident being declared);
    there is no attribute access or format spec, so a template cannot reach Python objects.
    """

    def fill(found: re.Match[str]) -> str:
        token = found.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name, sep, key = found.group(1), found.group(2), found.group(3)
        if sep:
            key = (key or "").strip().strip("'\"")
            if name == "labels":
                return labels.get(key, "")
            if name == "annotations":
                return annotations.get(key, "")
            return ""
        if name in facts:
            return facts[name]
        return labels.get(name, "")

    text = " ".join(_PLACEHOLDER.sub(fill, template).split())
    if not text:
        text = " ".join(facts.get("title", "").split()) or "Alert"
    return text if len(text) <= limit else text[: limit - 1] + "…"
