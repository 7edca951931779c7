"""Slack channel names for incident rooms: ``inc-42-db-latency-in-eu``.

Slack accepts lowercase letters, digits, ``-`` and ``_``, at most 80 characters. Titles are
free text in any script, so they are transliterated where Latin letters hide under accents and
dropped where they can't be (emoji, CJK). The ``inc-<number>`` part always survives intact:
it is how people find the room.
"""

from __future__ import annotations

import re
import unicodedata

MAX_LEN = 80

# Letters NFKD leaves alone that still have an obvious ASCII spelling.
_SPELLINGS = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "þ": "th",
        "Þ": "th",
        "ł": "l",
        "Ł": "l",
        "\u0131": "i",  # dotless i
    }
)
# Apostrophes join a word ("can't" → "cant") rather than split it.
_APOSTROPHES = re.compile("['`\u2018\u2019\u00b4]")
_NOT_ALLOWED = re.compile(r"[^a-z0-9_]+")
_DASHES = re.compile(r"-{2,}")
_PREFIX_AND_NUMBER = re.compile(r"^(.*?-\d+)(?=-|$)")


def slugify(text: str) -> str:
    """Lowercase ASCII words joined by ``-`` (may be empty)."""
    folded = unicodedata.normalize("NFKD", text.translate(_SPELLINGS))
    ascii_only = folded.encode("ascii", "ignore").decode("ascii").lower()
    ascii_only = _APOSTROPHES.sub("", ascii_only)
    slug = _NOT_ALLOWED.sub("-", ascii_only)
    return _DASHES.sub("-", slug).strip("-_")


def channel_name(number: int, title: str, *, prefix: str = "inc", max_len: int = MAX_LEN) -> str:
    """``<prefix>-<number>-<title slug>``, valid for Slack and at most ``max_len`` long."""
    base = f"{slugify(prefix) or 'inc'}-{number}"
    if len(base) > max_len:
        # Only an absurd prefix gets here; the number matters more than the prefix.
        base = str(number)[:max_len]
    room = max_len - len(base) - 1
    slug = _fit(slugify(title), room)
    return f"{base}-{slug}" if slug else base


def next_candidate(name: str, attempt: int, max_len: int = MAX_LEN) -> str:
    """The name to try after ``name_taken``: ``<name>-2``, ``-3``, … never over ``max_len``."""
    if attempt < 2:
        return name[:max_len]
    suffix = f"-{attempt}"
    room = max_len - len(suffix)
    if len(name) <= room:
        return f"{name}{suffix}"
    kept = _PREFIX_AND_NUMBER.match(name)
    if kept is None or len(kept.group(1)) > room:
        return f"{name[:room].rstrip('-_')}{suffix}"
    # Never cut into the "inc-42" part; shorten the title words instead.
    base = kept.group(1)
    slug = _fit(name[len(base) + 1 :], room - len(base) - 1)
    return f"{base}-{slug}{suffix}" if slug else f"{base}{suffix}"


def _fit(slug: str, room: int) -> str:
    """Cut ``slug`` to ``room`` characters, at a word boundary when that keeps enough of it."""
    if room <= 0:
        return ""
    if len(slug) <= room:
        return slug
    cut = slug[: room + 1]
    boundary = cut.rfind("-")
    # A boundary that throws away most of the room (one huge word) is worse than a hard cut.
    if boundary > 0 and boundary >= room // 3:
        return cut[:boundary].rstrip("-_")
    return slug[:room].rstrip("-_")
