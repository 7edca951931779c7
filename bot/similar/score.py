"""Rank past incidents by likeness to a new one. Pure and deterministic.

Two signals, each a cosine similarity in [0, 1] over TF-IDF-weighted sparse vectors computed
over the candidate set itself (so a label or word every incident has counts for little):

* labels: the (name, value) pairs of the incidents' alerts. Names are weighted by how much
  they say about *what* broke: the service and the alert name most, the job, deployment or
  namespace less, a pod or instance (which changes on every restart) little.
* text: words of the title, summary, alert titles and annotations, and the service and alert
  names (so "payments-api is down" typed by a person meets ``service=payments-api``). Past
  incidents add their root cause. CamelCase alert names are split, words lightly stemmed.

When the new incident has no labels (declared by a person), text alone decides. Ties go to the
more recently resolved incident, then the higher number, so a ranking never depends on the
order the candidates came in.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import chain

from bot.similar.model import Match, Profile
from bot.similar.store import MAX_CANDIDATES

# Label names that mean "the service": one feature, whatever the source called it.
_SERVICE_ALIASES = frozenset(
    {
        "service",
        "service_name",
        "app",
        "application",
        "app_kubernetes_io_name",
        "app.kubernetes.io/name",
        "k8s_app",
        "dd_service",
    }
)
# How much a shared label says about the failure being the same kind.
LABEL_WEIGHTS: Mapping[str, float] = {
    "service": 3.0,
    "alertname": 3.0,
    "check": 2.0,
    "monitor": 2.0,
    "job": 1.5,
    "deployment": 1.5,
    "component": 1.5,
    "container": 1.0,
    "namespace": 1.0,
    "database": 1.0,
    "queue": 1.0,
    "topic": 1.0,
    "endpoint": 1.0,
    "team": 0.5,
    "cluster": 0.5,
    "region": 0.5,
    "instance": 0.4,
    "pod": 0.3,
    "host": 0.4,
    "node": 0.4,
    "env": 0.3,
    "environment": 0.3,
}
DEFAULT_LABEL_WEIGHT = 0.5
# Labels that describe the alert's plumbing or urgency, not what broke.
IGNORED_LABELS = frozenset(
    {"severity", "priority", "prometheus", "replica", "receiver", "__name__", "le", "quantile"}
)
# Labels whose values also join the text (split into words).
_TEXT_LABELS = frozenset({"service", "alertname", "job", "deployment", "component", "check"})
# Shares of the score. The service decides most: the same failure elsewhere helps less than
# this service's own history. Without labels on both sides the label share goes to the text.
SERVICE_SHARE = 0.35
LABEL_SHARE = 0.15
TEXT_SHARE = 1.0 - SERVICE_SHARE - LABEL_SHARE
# Label names whose value names the service (Prometheus' job usually does).
_IDENTITY = frozenset({"service", "job"})
TITLE_REPEAT = 2  # a title says more than a paragraph of summary
# Below this a "similar" incident would be noise; nothing is better than a random one.
MIN_SCORE = 0.12
MAX_TEXT = 4000  # characters of each text field read; enough for any real summary

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[a-z0-9]+")
# fmt: off
_STOP = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do",
    "does", "for", "from", "had", "has", "have", "in", "into", "is", "it", "its", "not", "of",
    "on", "or", "our", "so", "than", "that", "the", "their", "then", "there", "these", "this",
    "to", "too", "was", "we", "were", "what", "when", "where", "which", "while", "who", "will",
    "with", "would", "you", "your", "after", "before", "again", "all", "any", "also", "because",
    "being", "both", "during", "each", "few", "more", "most", "no", "nor", "only", "other",
    "over", "same", "some", "such", "up", "down", "out", "off", "very", "just", "now", "new",
    "via", "per", "us", "i", "he", "she", "they", "them", "my", "me",
))
# fmt: on
_SUFFIXES = ("ing", "ed", "es", "s")


def label_name(name: str) -> str:
    """A label's name as the scorer keys it (service aliases folded into ``service``)."""
    key = name.strip().lower()
    return "service" if key in _SERVICE_ALIASES else key


def label_features(labels: Iterable[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    """Distinct (name, value) pairs that count, names folded, values lower-cased."""
    return frozenset(_features(labels))


def _features(labels: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """Each counted feature, with the (name, value) it was written as."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for name, value in sorted(labels):
        key = label_name(name)
        val = str(value).strip().lower()
        if key and val and key not in IGNORED_LABELS:
            out.setdefault((key, val[:200]), (name, str(value)))
    return out


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    if len(word) > 4:
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                return word[: -len(suffix)]
    return word


def tokens(text: str) -> list[str]:
    """Words of ``text``: CamelCase split, lower-cased, stop words dropped, lightly stemmed."""
    spaced = _CAMEL.sub(" ", text[:MAX_TEXT])
    return [_stem(w) for w in _WORD.findall(spaced.lower()) if len(w) > 1 and w not in _STOP]


def _document(profile: Profile, labels: frozenset[tuple[str, str]]) -> dict[str, float]:
    """Each word's term frequency (1 + log count) in the incident's text."""
    words: Counter[str] = Counter()
    title = tokens(profile.title)
    for _ in range(TITLE_REPEAT):
        words.update(title)
    for text in (profile.summary, profile.root_cause, profile.alert_text):
        if text:
            words.update(tokens(text))
    for name, value in labels:
        if name in _TEXT_LABELS:
            words.update(tokens(value))
    return {w: 1.0 + math.log(c) for w, c in words.items()}


@dataclass(frozen=True, slots=True)
class _Prepared:
    profile: Profile
    labels: frozenset[tuple[str, str]]
    words: dict[str, float]
    keys: frozenset[str]  # the words alone, for fast overlap checks
    services: frozenset[str]


# Prepared past incidents are kept between declarations: they change only when edited (and an
# edited incident is a new Profile), so each declaration tokenizes only what is new. A few
# kilobytes each: the full candidate set costs some 15 MB.
@lru_cache(maxsize=MAX_CANDIDATES + 1000)
def _prepare(profile: Profile) -> _Prepared:
    labels = label_features(profile.labels)
    services = frozenset(v for k, v in labels if k in _IDENTITY)
    words = _document(profile, labels)
    return _Prepared(profile, labels, words, frozenset(words), services)


@lru_cache(maxsize=4096)
def _service_words(service: str) -> tuple[str, ...]:
    return tuple(sorted(set(tokens(service))))


def rank(
    query: Profile, candidates: Sequence[Profile], *, limit: int = 3, min_score: float = MIN_SCORE
) -> list[Match]:
    """The ``limit`` candidates most like ``query``, best first, each scoring ``min_score``+.

    The query itself (same incident id) is never its own match.
    """
    prepared = [_prepare(c) for c in candidates if c.incident_id != query.incident_id]
    if not prepared or limit <= 0:
        return []
    q = _prepare(query)
    written = _features(query.labels)  # shared labels are shown as the new incident has them
    n = len(prepared)
    word_df = Counter(chain.from_iterable(p.keys for p in prepared))
    label_df = Counter(chain.from_iterable(p.labels for p in prepared))
    unseen = math.log(n + 1) + 1.0  # the IDF of a word no candidate has
    idf = {w: math.log((n + 1) / (df + 1)) + 1.0 for w, df in word_df.items()}

    def label_weight(feature: tuple[str, str]) -> float:
        key_weight = LABEL_WEIGHTS.get(feature[0], DEFAULT_LABEL_WEIGHT)
        return key_weight * (math.log((n + 1) / (label_df.get(feature, 0) + 1)) + 1.0)

    q_words = [(w, tf * idf.get(w, unseen)) for w, tf in q.words.items()]
    q_word_norm = _norm(v for _, v in q_words)
    q_label_vec = {f: label_weight(f) for f in q.labels}
    q_label_norm = _norm(q_label_vec.values())

    def mentions(services: frozenset[str], words: Mapping[str, float]) -> float:
        """How much of a service's name the other side's words contain (IDF-weighted)."""
        best = 0.0
        for service in services:
            parts = _service_words(service)
            total = sum(idf.get(t, unseen) for t in parts)
            if total:
                hit = sum(idf.get(t, unseen) for t in parts if t in words)
                best = max(best, hit / total)
        return best

    scored: list[tuple[float, float, int, Match]] = []
    for p in prepared:
        # Most candidates share nothing with the new incident: set checks in C skip them.
        share_words = not q.keys.isdisjoint(p.keys)
        if not share_words and q.labels.isdisjoint(p.labels):
            continue
        words = p.words
        dot = sum(v * words[w] * idf[w] for w, v in q_words if w in words) if share_words else 0
        shared_labels = q.labels & p.labels
        text_sim = 0.0
        if dot:
            norm = math.sqrt(sum((tf * idf[w]) ** 2 for w, tf in words.items()))
            text_sim = dot / (q_word_norm * norm)
        label_sim = 0.0
        if shared_labels and q_label_norm:
            ldot = sum(q_label_vec[f] * label_weight(f) for f in shared_labels)
            lnorm = _norm(label_weight(f) for f in p.labels)
            label_sim = ldot / (q_label_norm * lnorm) if lnorm else 0.0
        if q.services and p.services:
            service_sim: float | None = 1.0 if q.services & p.services else 0.0
        elif q.services or p.services:
            service_sim = max(mentions(q.services, words), mentions(p.services, q.words))
        else:
            service_sim = None
        if service_sim is None:
            score = text_sim
        elif q.labels and p.labels:
            score = SERVICE_SHARE * service_sim + LABEL_SHARE * label_sim + TEXT_SHARE * text_sim
        else:
            score = SERVICE_SHARE * service_sim + (1.0 - SERVICE_SHARE) * text_sim
        if score < min_score:
            continue
        shared = tuple(
            written[f]
            for f in sorted(
                shared_labels, key=lambda f: (-LABEL_WEIGHTS.get(f[0], DEFAULT_LABEL_WEIGHT), f)
            )
        )
        match = Match(p.profile.incident_id, p.profile.number, round(score, 4), shared)
        scored.append((score, _when(p.profile.resolved_at), p.profile.number, match))
    scored.sort(key=lambda s: (-s[0], -s[1], -s[2]))
    return [s[3] for s in scored[:limit]]


def _norm(values: Iterable[float]) -> float:
    return math.sqrt(sum(v * v for v in values))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _when(at: datetime | None) -> float:
    return (at - _EPOCH).total_seconds() if at is not None else 0.0
