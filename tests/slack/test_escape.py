"""Escaping untrusted text for Slack, and the few pings sitrep makes on purpose."""

from __future__ import annotations

import pytest

from integrations.slack.escape import (
    WORD_JOINER,
    channel_link,
    escape_mrkdwn,
    escape_plain,
    group_mention,
    link,
    mention,
    truncate,
    truncate_escaped,
    unescape_slack,
)

ATTACKS = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!here|here>",
    "<!subteam^S0123ABCD>",
    "<!subteam^S0123ABCD|@oncall>",
    "<@U0123ABCD>",
    "<@U0123ABCD|alice>",
    "<#C0123ABCD>",
    "<http://evil.example|click here>",
    "<https://evil.example>",
    "<!date^1392734382^{date}|x>",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_control_sequences_become_visible_text(attack: str) -> None:
    out = escape_mrkdwn(f"before {attack} after")
    assert "<" not in out and ">" not in out
    assert out.startswith("before &lt;") and out.endswith("&gt; after")


def test_ampersand_is_escaped_first_so_entities_cannot_be_forged() -> None:
    assert escape_mrkdwn("&lt;!channel&gt;") == "&amp;lt;!channel&amp;gt;"
    assert escape_mrkdwn("a & b") == "a &amp; b"


@pytest.mark.parametrize("word", ["channel", "here", "everyone", "Channel", "HERE"])
def test_at_keywords_get_a_word_joiner(word: str) -> None:
    for escape in (escape_mrkdwn, escape_plain):
        out = escape(f"hey @{word} look")
        assert out == f"hey @{WORD_JOINER}{word} look"
        assert f"@{word}" not in out


def test_at_keywords_are_neutralized_even_mid_word_and_full_width() -> None:
    assert escape_mrkdwn("x@here") == f"x@{WORD_JOINER}here"
    assert escape_mrkdwn("@@channel") == f"@@{WORD_JOINER}channel"
    assert escape_plain("\uff20everyone") == f"\uff20{WORD_JOINER}everyone"


def test_other_at_words_are_neutralized_but_emails_are_not() -> None:
    assert escape_mrkdwn("ask @oncall-db") == f"ask @{WORD_JOINER}oncall-db"
    assert escape_mrkdwn("mail ops@example.com") == "mail ops@example.com"


def test_escaping_is_stable_when_applied_twice_to_mentions() -> None:
    once = escape_plain("@here")
    assert escape_plain(once) == once


def test_plain_text_shows_brackets_but_breaks_control_sequences() -> None:
    # plain_text never parses <...>; the joiner keeps it inert if reused as mrkdwn anyway.
    assert escape_plain("a <b> & c") == f"a <{WORD_JOINER}b> & c"
    for attack in ATTACKS:
        assert attack not in escape_plain(attack)


def test_truncate() -> None:
    assert truncate("short", 10) == "short"
    assert truncate("exactly10!", 10) == "exactly10!"
    assert truncate("this is too long", 8) == "this is…"
    assert len(truncate("x" * 5000, 3000)) == 3000
    assert truncate("abc", 1) == "…"
    assert truncate("abc", 0) == ""


def test_truncate_escaped_never_leaves_half_an_entity() -> None:
    text = escape_mrkdwn("ab & cd")  # "ab &amp; cd"
    for limit in range(4, len(text)):
        cut = truncate_escaped(text, limit)
        assert len(cut) <= limit
        assert "&" not in cut or "&amp;" in cut
    assert escape_mrkdwn("<" * 100, limit=10) == "&lt;" * 2 + "…"


@pytest.mark.parametrize("user_id", ["U0123ABCD", "W0123ABCD", "U12"])
def test_mention_of_a_valid_id_is_a_ping(user_id: str) -> None:
    assert mention(user_id) == f"<@{user_id}>"


@pytest.mark.parametrize(
    ("user_id", "expected"),
    [
        ("alice", "alice"),
        ("u0123abcd", "u0123abcd"),
        ("U1", "U1"),
        ("C0123ABCD", "C0123ABCD"),
        ("U123> <!channel", "U123&gt; &lt;!channel"),
        ("<!here>", "&lt;!here&gt;"),
        ("@here", f"@{WORD_JOINER}here"),
        ("29:1abc-teams", "29:1abc-teams"),
        ("", ""),
    ],
)
def test_mention_of_anything_else_is_escaped_text(user_id: str, expected: str) -> None:
    assert mention(user_id) == expected
    assert mention(None) == ""


def test_group_mention() -> None:
    assert group_mention("S0SRE") == "<!subteam^S0SRE>"
    assert group_mention("<!subteam^S0SRE|@sre>") == "<!subteam^S0SRE>"
    assert group_mention("U02BOB") == "<@U02BOB>"
    assert group_mention("@sre-leads") == f"@{WORD_JOINER}sre-leads"
    assert group_mention("<!channel>") == "&lt;!channel&gt;"
    assert group_mention(None) == ""


def test_channel_link() -> None:
    assert channel_link("C0123ABC") == "<#C0123ABC>"
    assert channel_link("G0123ABC") == "<#G0123ABC>"
    assert channel_link("general") == ""
    assert channel_link("C1> <!here") == ""


def test_link_only_for_http_urls_and_escapes_inside() -> None:
    assert link("https://x.example/a?b=1&c=2", "Runbook") == (
        "<https://x.example/a?b=1&amp;c=2|Runbook>"
    )
    assert link("https://x.example/a|b", "x") == "<https://x.example/a%7Cb|x>"
    assert link("javascript:alert(1)", "click") == "click"
    assert link("https://x.example/ <!channel>", "a") == "a"
    assert link("https://x.example", "<!here> @here") == (
        f"<https://x.example|&lt;!here&gt; @{WORD_JOINER}here>"
    )
    assert link(None, "label") == "label"


def test_unescape_slack_round_trips_what_was_typed() -> None:
    typed = "a & b <c> &amp; <!here>"
    assert unescape_slack(escape_mrkdwn(typed).replace(WORD_JOINER, "")) == typed
    assert unescape_slack("DB &amp; cache &lt;3") == "DB & cache <3"
    assert unescape_slack("&amp;lt;") == "&lt;"
