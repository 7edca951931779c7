"""Routing rules: first-match rule evaluation and title templates. Pure.

Label matchers live in `bot.domain.labels`, shared with chat and the API.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.domain.labels import LabelMatcher, MatcherLike, all_match

ACTIONS = ("declare", "attach", "notify", "ignore")


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
    page: tuple[str, ...] = ()  # paging targets to page when this rule declares

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
    @property
    def page(self) -> Sequence[str]: ...


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
            page=tuple(dict.fromkeys(cfg.page)),
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
