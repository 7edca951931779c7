"""A stateful fake of the Slack Web API, served over real HTTP on loopback, for tests.

Point ``slack_sdk``'s ``AsyncWebClient(token="xoxb-...", base_url=fake.url)`` at it. It keeps
one workspace's state (users, channels, membership, messages, pins, bookmarks, views), answers
with Slack's own error names, enforces the Block Kit limits Slack enforces, and can be told to
rate-limit, fail or stall. Every call is recorded in ``fake.calls``.

Faults and rate limits are decided before a call touches any state, so a faulted call leaves
the workspace exactly as it was, like a request that never reached Slack.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import itertools
import json
import math
import random
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self
from zoneinfo import ZoneInfo

from aiohttp import web

JsonDict = dict[str, Any]

TEAM_ID = "T0001"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0SITREP"
ALICE = "U01ALICE"
BOB = "U02BOB"
CAROL = "U03CAROL"
GENERAL_ID = "C0GENERAL"
PERMALINK_BASE = "https://fake.slack.com/archives"

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT_CHARS = 40_000
MAX_TOPIC_CHARS = 250
MAX_CHANNEL_NAME_CHARS = 80
TRIGGER_TTL_SECONDS = 3.0

_CHANNEL_NAME = re.compile(r"[a-z0-9_-]+")
_TRIGGER_ID = re.compile(r"\d+\.\d+\.[0-9a-f]+")
_JSON_STRING_ARGS = ("blocks", "attachments", "view", "metadata")


# --------------------------------------------------------------------------- state records


@dataclass
class User:
    """A workspace member as ``users.info`` describes it."""

    id: str
    name: str
    tz: str = "UTC"
    real_name: str = ""
    email: str | None = None
    is_bot: bool = False
    # Slack leaves profile.display_name empty for people who never set one.
    display_name: str | None = None


@dataclass
class Channel:
    """A conversation: public or private channel, DM (``is_im``) or group DM (``is_mpim``)."""

    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    is_archived: bool = False
    is_general: bool = False
    created: int = 0
    creator: str = ""
    members: list[str] = field(default_factory=list)
    topic: str = ""
    topic_creator: str = ""
    topic_last_set: int = 0
    dm_user: str | None = None


@dataclass
class Message:
    """A message as currently stored (after any ``chat.update``)."""

    channel: str
    ts: str
    user: str
    text: str
    blocks: list[JsonDict] | None = None
    attachments: list[JsonDict] | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    edited_ts: str | None = None
    unfurl_links: bool | None = None
    unfurl_media: bool | None = None
    reply_broadcast: bool = False
    metadata: JsonDict | None = None


@dataclass
class Ephemeral:
    """A message only ``user`` can see; Slack never stores these, the fake records them."""

    channel: str
    user: str
    message_ts: str
    text: str
    blocks: list[JsonDict] | None = None
    thread_ts: str | None = None


@dataclass
class Bookmark:
    """A channel bookmark (only ``link`` bookmarks exist, as in Slack)."""

    id: str
    channel_id: str
    title: str
    link: str
    type: str = "link"
    emoji: str | None = None
    date_created: int = 0
    created_by: str = BOT_USER_ID


@dataclass
class View:
    """An opened modal or a published Home tab."""

    id: str
    type: str
    body: JsonDict
    hash: str
    trigger_id: str | None = None
    user_id: str | None = None
    external_id: str | None = None


@dataclass
class Call:
    """One request as the fake saw it; ``fault`` names the injected failure, if any."""

    method: str
    args: JsonDict
    status: int
    response: JsonDict
    fault: str | None = None

    @property
    def ok(self) -> bool:
        """Whether Slack would have reported success."""
        return self.status == 200 and self.response.get("ok") is True


class _ApiError(Exception):
    """An ``{"ok": false}`` answer; ``extra`` is merged into the response body."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class _Outcome:
    status: int
    body: JsonDict
    headers: dict[str, str] = field(default_factory=dict)
    fault: str | None = None


@dataclass
class _Forced:
    status: int
    retry_after: int


@dataclass
class _FaultPlan:
    ratio: float
    kinds: tuple[str, ...]
    rng: random.Random
    slow_seconds: float
    retry_after: int
    methods: frozenset[str] | None


@dataclass
class _PostTarget:
    # A DM to a user with no open DM yet is created only once the whole call has validated.
    channel: Channel | None
    dm_user: str | None = None
    join: bool = False


# --------------------------------------------------------------------------- argument helpers


def _arg_str(args: JsonDict, key: str) -> str | None:
    value = args.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    return value if isinstance(value, str) else None


def _arg_bool(args: JsonDict, key: str, default: bool = False) -> bool:
    value = args.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes")


def _arg_int(args: JsonDict, key: str, default: int) -> int:
    value = _arg_str(args, key)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise _ApiError("invalid_arguments") from exc


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        kind, _, offset = base64.b64decode(cursor, validate=True).decode().partition(":")
        if kind == "offset" and offset.isdigit():
            return int(offset)
    except ValueError:
        pass
    raise _ApiError("invalid_cursor")


# --------------------------------------------------------------------------- Block Kit checks


_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "video",
    }
)
_SELECTS_WITH_OPTIONS = frozenset({"static_select", "multi_static_select", "radio_buttons"})


class _BlockChecker:
    """Collects Slack-style ``... [json-pointer:/blocks/0/...]`` complaints about blocks."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._action_ids: set[str] = set()
        self._block_ids: set[str] = set()

    def fail(self, pointer: str, problem: str) -> None:
        self.errors.append(f"{problem} [json-pointer:{pointer}]")

    def blocks(self, blocks: object, limit: int, pointer: str = "/blocks") -> None:
        if not isinstance(blocks, list):
            self.fail(pointer, "must be an array")
            return
        if len(blocks) > limit:
            self.fail(pointer, f"must contain no more than {limit} items")
        for i, block in enumerate(blocks):
            self.block(block, f"{pointer}/{i}")

    def block(self, block: object, ptr: str) -> None:
        if not isinstance(block, dict):
            self.fail(ptr, "must be an object")
            return
        kind = block.get("type")
        if kind not in _BLOCK_TYPES:
            self.fail(f"{ptr}/type", f"unsupported block type {kind!r}")
            return
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not 1 <= len(block_id) <= 255:
                self.fail(f"{ptr}/block_id", "must be a string of 1 to 255 characters")
            elif block_id in self._block_ids:
                self.fail(f"{ptr}/block_id", f"duplicate block_id {block_id!r}")
            else:
                self._block_ids.add(block_id)
        if kind == "section":
            self._section(block, ptr)
        elif kind == "header":
            self.text(block.get("text"), f"{ptr}/text", 150, plain_only=True)
        elif kind == "actions":
            self._elements(block.get("elements"), f"{ptr}/elements", 25)
        elif kind == "context":
            self._context(block.get("elements"), f"{ptr}/elements")
        elif kind == "image":
            self._image(block, ptr)
        elif kind == "markdown":
            self._string(block.get("text"), f"{ptr}/text", 12_000)
        elif kind == "input":
            self.text(block.get("label"), f"{ptr}/label", 2000, plain_only=True)
            if "element" not in block:
                self.fail(f"{ptr}/element", "is required")
            else:
                self.element(block["element"], f"{ptr}/element")

    def _section(self, block: JsonDict, ptr: str) -> None:
        text, fields = block.get("text"), block.get("fields")
        if text is None and fields is None:
            self.fail(ptr, "must have text or fields")
        if text is not None:
            self.text(text, f"{ptr}/text", 3000)
        if fields is not None:
            if not isinstance(fields, list) or not fields:
                self.fail(f"{ptr}/fields", "must be a non-empty array")
            else:
                if len(fields) > 10:
                    self.fail(f"{ptr}/fields", "must contain no more than 10 items")
                for i, item in enumerate(fields):
                    self.text(item, f"{ptr}/fields/{i}", 2000)
        if "accessory" in block:
            self.element(block["accessory"], f"{ptr}/accessory")

    def _elements(self, elements: object, ptr: str, limit: int) -> None:
        if not isinstance(elements, list) or not elements:
            self.fail(ptr, "must be a non-empty array")
            return
        if len(elements) > limit:
            self.fail(ptr, f"must contain no more than {limit} items")
        for i, element in enumerate(elements):
            self.element(element, f"{ptr}/{i}")

    def _context(self, elements: object, ptr: str) -> None:
        if not isinstance(elements, list) or not elements:
            self.fail(ptr, "must be a non-empty array")
            return
        if len(elements) > 10:
            self.fail(ptr, "must contain no more than 10 items")
        for i, element in enumerate(elements):
            if isinstance(element, dict) and element.get("type") == "image":
                self._image(element, f"{ptr}/{i}")
            else:
                self.text(element, f"{ptr}/{i}", 3000)

    def _image(self, image: JsonDict, ptr: str) -> None:
        if "slack_file" not in image:
            self._string(image.get("image_url"), f"{ptr}/image_url", 3000)
        self._string(image.get("alt_text"), f"{ptr}/alt_text", 2000)

    def _string(self, value: object, ptr: str, limit: int) -> None:
        if not isinstance(value, str) or not value:
            self.fail(ptr, "must be a non-empty string")
        elif len(value) > limit:
            self.fail(ptr, f"must be no longer than {limit} characters")

    def text(self, obj: object, ptr: str, limit: int, *, plain_only: bool = False) -> None:
        if not isinstance(obj, dict):
            self.fail(ptr, "must be a text object")
            return
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if obj.get("type") not in allowed:
            self.fail(f"{ptr}/type", f"must be one of {', '.join(allowed)}")
        self._string(obj.get("text"), f"{ptr}/text", limit)

    def element(self, element: object, ptr: str) -> None:
        if not isinstance(element, dict):
            self.fail(ptr, "must be an object")
            return
        kind = element.get("type")
        if not isinstance(kind, str):
            self.fail(f"{ptr}/type", "is required")
            return
        action_id = element.get("action_id")
        if action_id is not None:
            if not isinstance(action_id, str) or not 1 <= len(action_id) <= 255:
                self.fail(f"{ptr}/action_id", "must be a string of 1 to 255 characters")
            elif action_id in self._action_ids:
                # Interaction payloads are routed by action_id, so Slack refuses duplicates.
                self.fail(f"{ptr}/action_id", f"duplicate action_id {action_id!r}")
            else:
                self._action_ids.add(action_id)
        if "placeholder" in element:
            self.text(element["placeholder"], f"{ptr}/placeholder", 150, plain_only=True)
        if kind == "button":
            self.text(element.get("text"), f"{ptr}/text", 75, plain_only=True)
            if "value" in element:
                self._string(element["value"], f"{ptr}/value", 2000)
            if "url" in element:
                self._string(element["url"], f"{ptr}/url", 3000)
            if element.get("style", "primary") not in ("primary", "danger"):
                self.fail(f"{ptr}/style", "must be one of primary, danger")
        elif kind == "image":
            self._image(element, ptr)
        elif kind in _SELECTS_WITH_OPTIONS and "options" in element:
            self._options(element["options"], f"{ptr}/options", 100)
        elif kind == "overflow":
            self._options(element.get("options"), f"{ptr}/options", 5)

    def _options(self, options: object, ptr: str, limit: int) -> None:
        if not isinstance(options, list) or not options:
            self.fail(ptr, "must be a non-empty array")
            return
        if len(options) > limit:
            self.fail(ptr, f"must contain no more than {limit} items")
        for i, option in enumerate(options):
            if not isinstance(option, dict):
                self.fail(f"{ptr}/{i}", "must be an object")
                continue
            self.text(option.get("text"), f"{ptr}/{i}/text", 75)
            self._string(option.get("value"), f"{ptr}/{i}/value", 150)


def validate_blocks(blocks: object, *, max_blocks: int = MAX_MESSAGE_BLOCKS) -> list[str]:
    """Return Slack-style complaints about ``blocks``; an empty list means Slack accepts them."""
    checker = _BlockChecker()
    checker.blocks(blocks, max_blocks)
    return checker.errors


def validate_view(view: object, *, kinds: tuple[str, ...] = ("modal",)) -> list[str]:
    """Return Slack-style complaints about a modal or Home tab view payload."""
    checker = _BlockChecker()
    if not isinstance(view, dict):
        checker.fail("/view", "must be an object")
        return checker.errors
    kind = view.get("type")
    if kind not in kinds:
        checker.fail("/view/type", f"must be one of {', '.join(kinds)}")
    if kind == "modal":
        checker.text(view.get("title"), "/view/title", 24, plain_only=True)
        for key in ("submit", "close"):
            if key in view:
                checker.text(view[key], f"/view/{key}", 24, plain_only=True)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and "submit" not in view:
            checker.fail("/view/submit", "is required when the view has input blocks")
    checker.blocks(view.get("blocks"), MAX_VIEW_BLOCKS, "/view/blocks")
    for key, limit in (("private_metadata", 3000), ("callback_id", 255), ("external_id", 255)):
        value = view.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            checker.fail(f"/view/{key}", f"must be a string of at most {limit} characters")
    return checker.errors


def _invalid_blocks(errors: list[str]) -> _ApiError:
    return _ApiError(
        "invalid_blocks",
        errors=errors,
        response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
    )


# --------------------------------------------------------------------------- the fake


class FakeSlackApi:
    """A loopback HTTP server that behaves like the slice of the Slack Web API sitrep uses."""

    def __init__(
        self,
        *,
        team_id: str = TEAM_ID,
        valid_tokens: Iterable[str] | None = None,
        auto_join_public: bool = True,
        clock: Callable[[], float] = time.monotonic,
        seed: bool = True,
        first_ts: int = 1_700_000_000,
    ) -> None:
        self.team_id = team_id
        self.team_name = "Fake Workspace"
        self.valid_tokens = None if valid_tokens is None else frozenset(valid_tokens)
        self.auto_join_public = auto_join_public
        self.calls: list[Call] = []
        self._clock = clock
        self._first_ts = first_ts
        self._ts_seq = itertools.count(1)
        self._time_seq = itertools.count(1)
        self._id_seq = itertools.count(1)
        # Seeded so trigger ids and view hashes are the same on every run.
        self._rng = random.Random(0)
        self._users: dict[str, User] = {}
        self._channels: dict[str, Channel] = {}
        self._messages: dict[str, list[Message]] = {}
        self._pins: dict[str, list[str]] = {}
        self._bookmarks: dict[str, list[Bookmark]] = {}
        self._ephemerals: list[Ephemeral] = []
        self._views: dict[str, View] = {}
        self._home_views: dict[str, str] = {}
        self._minted_triggers: dict[str, float] = {}
        self._used_triggers: set[str] = set()
        self._forced: dict[str, deque[_Forced]] = {}
        self._limits: dict[str, int] = {}
        self._windows: dict[str, deque[float]] = {}
        # Per (method, channel): (calls, seconds) and each channel's recent calls.
        self._channel_limits: dict[str, tuple[int, float]] = {}
        self._channel_windows: dict[tuple[str, str], deque[float]] = {}
        self._fault_plan: _FaultPlan | None = None
        self._delay_seconds = 0.0
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._handlers: dict[str, Callable[[JsonDict], JsonDict]] = {
            "auth.test": self._auth_test,
            "bookmarks.add": self._bookmarks_add,
            "bookmarks.list": self._bookmarks_list,
            "chat.getPermalink": self._chat_get_permalink,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "conversations.create": self._conversations_create,
            "conversations.history": self._conversations_history,
            "conversations.info": self._conversations_info,
            "conversations.invite": self._conversations_invite,
            "conversations.join": self._conversations_join,
            "conversations.list": self._conversations_list,
            "conversations.members": self._conversations_members,
            "conversations.open": self._conversations_open,
            "conversations.replies": self._conversations_replies,
            "conversations.setTopic": self._conversations_set_topic,
            "pins.add": self._pins_add,
            "pins.list": self._pins_list,
            "users.info": self._users_info,
            "views.open": self._views_open,
            "views.publish": self._views_publish,
            "views.update": self._views_update,
        }
        self.add_user(BOT_USER_ID, "sitrep", real_name="sitrep", is_bot=True)
        if seed:
            self.add_user(ALICE, "alice", tz="Europe/London", real_name="Alice Archer")
            self.add_user(BOB, "bob", tz="America/New_York", real_name="Bob Baker")
            self.add_user(CAROL, "carol", tz="Asia/Tokyo", real_name="Carol Chen")
            self._channels[GENERAL_ID] = Channel(
                id=GENERAL_ID,
                name="general",
                is_general=True,
                created=first_ts,
                creator=ALICE,
                members=[ALICE, BOB, CAROL],
            )

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start serving on an ephemeral loopback port."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        # A short shutdown timeout: a test ending mid-``delay`` should not hang teardown.
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._url = f"http://{host}:{port}/api/"

    async def stop(self) -> None:
        """Stop serving; state and the call record stay readable."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """The ``base_url`` to give ``AsyncWebClient``; ends with ``/api/``."""
        if self._url is None:
            raise RuntimeError("FakeSlackApi is not started")
        return self._url

    # ------------------------------------------------------------------ seeding

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        tz: str = "UTC",
        real_name: str = "",
        email: str | None = None,
        is_bot: bool = False,
        display_name: str | None = None,
    ) -> str:
        """Add a workspace member and return its id (``display_name`` defaults to ``name``)."""
        self._users[user_id] = User(
            user_id, name, tz, real_name or name, email, is_bot, display_name
        )
        return user_id

    def add_channel(
        self,
        name: str,
        *,
        is_private: bool = False,
        members: Iterable[str] = (),
        is_archived: bool = False,
    ) -> str:
        """Add a channel with exactly ``members`` (include ``BOT_USER_ID`` to make the bot one)."""
        channel = self._new_channel(
            name, is_private=is_private, creator=ALICE, members=list(dict.fromkeys(members))
        )
        channel.is_archived = is_archived
        return channel.id

    def add_message(
        self, channel_id: str, text: str, *, user: str = ALICE, thread_ts: str | None = None
    ) -> str:
        """Store a message as if ``user`` had posted it, and return its ts."""
        message = Message(channel_id, self._next_ts(), user, text, thread_ts=thread_ts)
        self._messages.setdefault(channel_id, []).append(message)
        return message.ts

    def mint_trigger_id(self) -> str:
        """Return a fresh trigger_id, valid for 3 seconds of the fake's clock, as Slack's are."""
        trigger_id = f"{next(self._id_seq)}.{self._first_ts}.{self._rng.getrandbits(48):012x}"
        self._minted_triggers[trigger_id] = self._clock()
        return trigger_id

    # ------------------------------------------------------------------ failure controls

    def fail_next(
        self, method: str | None, count: int = 1, *, status: int = 500, retry_after: int = 1
    ) -> None:
        """Make the next ``count`` calls to ``method`` (any method if None) fail with ``status``."""
        queue = self._forced.setdefault(method or "*", deque())
        queue.extend(_Forced(status, retry_after) for _ in range(count))

    def rate_limit_next(self, method: str | None, count: int = 1, *, retry_after: int = 1) -> None:
        """Make the next ``count`` calls to ``method`` answer 429 with ``Retry-After``."""
        self.fail_next(method, count, status=429, retry_after=retry_after)

    def set_rate_limit(self, method: str, *, per_minute: int | None) -> None:
        """Allow ``per_minute`` calls to ``method`` in any sliding minute; None lifts the limit."""
        if per_minute is None:
            self._limits.pop(method, None)
            self._windows.pop(method, None)
        else:
            self._limits[method] = per_minute

    def set_channel_rate_limit(
        self, method: str, *, calls: int | None, seconds: float = 1.0
    ) -> None:
        """Allow ``calls`` calls to ``method`` per channel in any ``seconds``; None lifts it.

        Slack lets chat.postMessage post about one message per second per channel, with
        short bursts: ``calls=3, seconds=3`` is that shape.
        """
        if calls is None:
            self._channel_limits.pop(method, None)
        else:
            self._channel_limits[method] = (calls, seconds)

    def faults(
        self,
        ratio: float,
        kinds: Iterable[str] = ("500", "429", "slow"),
        *,
        seed: int = 0,
        slow_seconds: float = 1.0,
        retry_after: int = 1,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Fail a seeded-random ``ratio`` of calls with one of ``kinds``.

        Kinds are an HTTP 5xx status as a string ("500", "503"), "429" (rate limited), or
        "slow" (stall ``slow_seconds``, then answer 503 without doing the work).
        """
        chosen = tuple(kinds)
        for kind in chosen:
            if kind not in ("429", "slow") and not (kind.isdigit() and kind.startswith("5")):
                raise ValueError(f"unknown fault kind {kind!r}")
        if not chosen or not 0.0 <= ratio <= 1.0:
            raise ValueError("faults need at least one kind and a ratio in [0, 1]")
        self._fault_plan = _FaultPlan(
            ratio=ratio,
            kinds=chosen,
            rng=random.Random(seed),
            slow_seconds=slow_seconds,
            retry_after=retry_after,
            methods=None if methods is None else frozenset(methods),
        )

    def clear_faults(self) -> None:
        """Drop every queued failure, random fault plan, rate limit and delay."""
        self._forced.clear()
        self._fault_plan = None
        self._limits.clear()
        self._windows.clear()
        self._channel_limits.clear()
        self._channel_windows.clear()
        self._delay_seconds = 0.0

    def delay(self, seconds: float) -> None:
        """Pause before answering every call; the call still takes effect after the pause."""
        self._delay_seconds = seconds

    # ------------------------------------------------------------------ call record

    def calls_to(self, method: str) -> list[Call]:
        """Every recorded call to ``method``, oldest first."""
        return [c for c in self.calls if c.method == method]

    def called(self, method: str) -> bool:
        """Whether ``method`` was called at all."""
        return any(c.method == method for c in self.calls)

    # ------------------------------------------------------------------ state accessors

    def channel(self, channel_id: str) -> Channel | None:
        """A copy of the channel with this id, if any."""
        found = self._channels.get(channel_id)
        return copy.deepcopy(found) if found else None

    def channel_by_name(self, name: str) -> Channel | None:
        """A copy of the channel called ``name`` (a leading ``#`` is ignored), if any."""
        wanted = name.removeprefix("#")
        for channel in self._channels.values():
            if channel.name == wanted and not (channel.is_im or channel.is_mpim):
                return copy.deepcopy(channel)
        return None

    def channels(self) -> list[Channel]:
        """Copies of every conversation, in creation order."""
        return [copy.deepcopy(c) for c in self._channels.values()]

    def user(self, user_id: str) -> User | None:
        """A copy of the user with this id, if any."""
        found = self._users.get(user_id)
        return copy.deepcopy(found) if found else None

    def dm_channel(self, user_id: str) -> str | None:
        """The id of the bot's open DM with ``user_id``, if one was opened."""
        for channel in self._channels.values():
            if channel.is_im and channel.dm_user == user_id:
                return channel.id
        return None

    def messages(self, channel_id: str) -> list[Message]:
        """Copies of every message in the channel (thread replies included), oldest first."""
        return copy.deepcopy(self._messages.get(channel_id, []))

    def message(self, channel_id: str, ts: str) -> Message | None:
        """A copy of one message, as last updated."""
        found = self._find_message(channel_id, ts)
        return copy.deepcopy(found) if found else None

    def thread(self, channel_id: str, thread_ts: str) -> list[Message]:
        """Copies of the replies in the thread rooted at ``thread_ts``, oldest first."""
        return [m for m in self.messages(channel_id) if m.thread_ts == thread_ts]

    def ephemerals(self, channel_id: str | None = None) -> list[Ephemeral]:
        """Copies of the ephemeral messages sent (to ``channel_id`` only, if given)."""
        return [
            copy.deepcopy(e)
            for e in self._ephemerals
            if channel_id is None or e.channel == channel_id
        ]

    def pins(self, channel_id: str) -> list[str]:
        """The ts of every pinned message in the channel, in pinning order."""
        return list(self._pins.get(channel_id, []))

    def bookmarks(self, channel_id: str) -> list[Bookmark]:
        """Copies of the channel's bookmarks, in creation order."""
        return copy.deepcopy(self._bookmarks.get(channel_id, []))

    def members(self, channel_id: str) -> list[str]:
        """The channel's member ids, in joining order."""
        found = self._channels.get(channel_id)
        return list(found.members) if found else []

    def topic(self, channel_id: str) -> str:
        """The channel's current topic ("" if unset)."""
        found = self._channels.get(channel_id)
        return found.topic if found else ""

    def views(self) -> list[View]:
        """Copies of every opened modal and published Home tab, in creation order."""
        return copy.deepcopy(list(self._views.values()))

    def home_view(self, user_id: str) -> View | None:
        """A copy of the Home tab last published for ``user_id``, if any."""
        view_id = self._home_views.get(user_id)
        return copy.deepcopy(self._views[view_id]) if view_id else None

    # ------------------------------------------------------------------ HTTP plumbing

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args, token, body_error = await self._read_args(request)
        if self._delay_seconds:
            await asyncio.sleep(self._delay_seconds)
        outcome = await self._dispatch(method, args, token, body_error)
        self.calls.append(Call(method, args, outcome.status, outcome.body, outcome.fault))
        return web.json_response(outcome.body, status=outcome.status, headers=outcome.headers)

    async def _read_args(self, request: web.Request) -> tuple[JsonDict, str | None, str | None]:
        # slack_sdk puts arguments in the query string for some methods, a form body or a JSON
        # body for others, so all three are merged, as Slack itself does.
        args: JsonDict = dict(request.query)
        body_error: str | None = None
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    body = None
                if isinstance(body, dict):
                    args.update(body)
                else:
                    body_error = "invalid_json"
            else:
                form = await request.post()
                args.update({k: v for k, v in form.items() if isinstance(v, str)})
        for key in _JSON_STRING_ARGS:
            value = args.get(key)
            if isinstance(value, str):
                # Undecodable JSON stays a string so the method reports it the way Slack does.
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(value)
        token: str | None = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            token = header.removeprefix("Bearer ").strip() or None
        body_token = args.pop("token", None)
        if token is None and isinstance(body_token, str) and body_token:
            token = body_token
        return args, token, body_error

    async def _dispatch(
        self, method: str, args: JsonDict, token: str | None, body_error: str | None
    ) -> _Outcome:
        injected = await self._injected_fault(method)
        if injected is not None:
            return injected
        handler = self._handlers.get(method)
        if handler is None:
            return _Outcome(200, {"ok": False, "error": "unknown_method", "req_method": method})
        if body_error is not None:
            return _Outcome(200, {"ok": False, "error": body_error})
        auth_error = self._auth_error(token)
        if auth_error is not None:
            return _Outcome(200, {"ok": False, "error": auth_error})
        retry_after = self._consume_rate_limit(method) or self._consume_channel_limit(method, args)
        if retry_after is not None:
            return self._ratelimited(retry_after, "rate_limit")
        try:
            result = handler(args)
        except _ApiError as exc:
            return _Outcome(200, {"ok": False, "error": exc.error, **exc.extra})
        return _Outcome(200, {"ok": True, **result})

    async def _injected_fault(self, method: str) -> _Outcome | None:
        for key in (method, "*"):
            queue = self._forced.get(key)
            if queue:
                forced = queue.popleft()
                if forced.status == 429:
                    return self._ratelimited(forced.retry_after, "fail_next")
                return self._server_error(forced.status, "fail_next")
        plan = self._fault_plan
        if plan is None or (plan.methods is not None and method not in plan.methods):
            return None
        if plan.rng.random() >= plan.ratio:
            return None
        kind = plan.rng.choice(plan.kinds)
        if kind == "429":
            return self._ratelimited(plan.retry_after, "429")
        if kind == "slow":
            await asyncio.sleep(plan.slow_seconds)
            return self._server_error(503, "slow")
        return self._server_error(int(kind), kind)

    @staticmethod
    def _ratelimited(retry_after: int, fault: str) -> _Outcome:
        return _Outcome(
            429,
            {"ok": False, "error": "ratelimited"},
            {"Retry-After": str(retry_after)},
            fault,
        )

    @staticmethod
    def _server_error(status: int, fault: str) -> _Outcome:
        error = "service_unavailable" if status == 503 else "internal_error"
        return _Outcome(status, {"ok": False, "error": error}, fault=fault)

    def _auth_error(self, token: str | None) -> str | None:
        if token is None:
            return "not_authed"
        if self.valid_tokens is None:
            return None if token.startswith("xoxb-") else "invalid_auth"
        return None if token in self.valid_tokens else "invalid_auth"

    def _consume_rate_limit(self, method: str) -> int | None:
        limit = self._limits.get(method)
        if limit is None:
            return None
        now = self._clock()
        window = self._windows.setdefault(method, deque())
        while window and now - window[0] >= 60.0:
            window.popleft()
        if len(window) >= limit:
            return max(1, math.ceil(60.0 - (now - window[0])))
        window.append(now)
        return None

    def _consume_channel_limit(self, method: str, args: JsonDict) -> int | None:
        limit = self._channel_limits.get(method)
        channel = args.get("channel")
        if limit is None or not isinstance(channel, str):
            return None
        calls, seconds = limit
        now = self._clock()
        window = self._channel_windows.setdefault((method, channel), deque())
        while window and now - window[0] >= seconds:
            window.popleft()
        if len(window) >= calls:
            return max(1, math.ceil(seconds - (now - window[0])))
        window.append(now)
        return None

    # ------------------------------------------------------------------ internal state helpers

    def _next_ts(self) -> str:
        micros = self._first_ts * 1_000_000 + next(self._ts_seq) * 100
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _now(self) -> int:
        return self._first_ts + next(self._time_seq)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._id_seq):08X}"

    def _new_channel(
        self, name: str, *, is_private: bool, creator: str, members: list[str]
    ) -> Channel:
        channel = Channel(
            id=self._new_id("C"),
            name=name,
            is_private=is_private,
            created=self._now(),
            creator=creator,
            members=members,
        )
        self._channels[channel.id] = channel
        return channel

    def _visible(self, channel: Channel) -> bool:
        # Slack hides private conversations from non-members: they look like they do not exist.
        hidden = channel.is_private or channel.is_im or channel.is_mpim
        return not hidden or BOT_USER_ID in channel.members

    def _visible_channel(self, ref: str | None) -> Channel:
        channel = self._channels.get(ref) if ref else None
        if channel is None or not self._visible(channel):
            raise _ApiError("channel_not_found")
        return channel

    def _find_message(self, channel_id: str, ts: str | None) -> Message | None:
        for message in self._messages.get(channel_id, []):
            if message.ts == ts:
                return message
        return None

    def _channel_api(self, channel: Channel) -> JsonDict:
        if channel.is_im:
            return {
                "id": channel.id,
                "created": channel.created,
                "is_im": True,
                "is_org_shared": False,
                "user": channel.dm_user,
                "is_user_deleted": False,
            }
        return {
            "id": channel.id,
            "name": channel.name,
            "name_normalized": channel.name,
            "created": channel.created,
            "creator": channel.creator,
            "is_channel": not channel.is_mpim,
            "is_group": False,
            "is_im": False,
            "is_mpim": channel.is_mpim,
            "is_private": channel.is_private or channel.is_mpim,
            "is_archived": channel.is_archived,
            "is_general": channel.is_general,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": BOT_USER_ID in channel.members,
            "context_team_id": self.team_id,
            "topic": {
                "value": channel.topic,
                "creator": channel.topic_creator,
                "last_set": channel.topic_last_set,
            },
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }

    def _message_api(self, message: Message, *, metadata: bool = True) -> JsonDict:
        data: JsonDict = {
            "type": "message",
            "user": message.user,
            "text": message.text,
            "ts": message.ts,
            "team": self.team_id,
        }
        if message.bot_id:
            data["bot_id"] = message.bot_id
            data["app_id"] = APP_ID
        if message.blocks is not None:
            data["blocks"] = message.blocks
        if message.attachments is not None:
            data["attachments"] = message.attachments
        if message.metadata is not None and metadata:
            data["metadata"] = message.metadata
        if message.edited_ts:
            data["edited"] = {"user": message.user, "ts": message.edited_ts}
        if message.thread_ts:
            data["thread_ts"] = message.thread_ts
            data["parent_user_id"] = self._parent_user(message)
        else:
            replies = self._replies(message)
            if replies:
                data["thread_ts"] = message.ts
                data["reply_count"] = len(replies)
                data["latest_reply"] = replies[-1].ts
        return data

    def _parent_user(self, reply: Message) -> str | None:
        parent = self._find_message(reply.channel, reply.thread_ts)
        return parent.user if parent else None

    def _replies(self, parent: Message) -> list[Message]:
        return [m for m in self._messages.get(parent.channel, []) if m.thread_ts == parent.ts]

    def _permalink(self, message: Message) -> str:
        base = f"{PERMALINK_BASE}/{message.channel}/p{message.ts.replace('.', '')}"
        if message.thread_ts:
            return f"{base}?thread_ts={message.thread_ts}&cid={message.channel}"
        return base

    def _user_api(self, user: User) -> JsonDict:
        offset = datetime.now(UTC).astimezone(ZoneInfo(user.tz)).utcoffset()
        return {
            "id": user.id,
            "team_id": self.team_id,
            "name": user.name,
            "real_name": user.real_name,
            "deleted": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "tz": user.tz,
            "tz_offset": int(offset.total_seconds()) if offset else 0,
            "profile": {
                "real_name": user.real_name,
                "display_name": user.name if user.display_name is None else user.display_name,
                "email": user.email,
                "team": self.team_id,
            },
        }

    def _view_api(self, view: View) -> JsonDict:
        return {
            "id": view.id,
            "team_id": self.team_id,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "state": {"values": {}},
            "private_metadata": "",
            "callback_id": "",
            "external_id": view.external_id or "",
            "clear_on_close": False,
            "notify_on_close": False,
            "root_view_id": view.id,
            "previous_view_id": None,
            **view.body,
            "hash": view.hash,
        }

    def _message_content(
        self, args: JsonDict
    ) -> tuple[str | None, list[JsonDict] | None, list[JsonDict] | None]:
        text = _arg_str(args, "text")
        blocks = args.get("blocks")
        attachments = args.get("attachments")
        if blocks is not None and not isinstance(blocks, list):
            raise _ApiError("invalid_blocks_format")
        if attachments is not None and not isinstance(attachments, list):
            raise _ApiError("invalid_attachments")
        if not text and not blocks and not attachments:
            raise _ApiError("no_text")
        if text is not None and len(text) > MAX_TEXT_CHARS:
            raise _ApiError("msg_too_long")
        if blocks is not None:
            errors = validate_blocks(blocks)
            if errors:
                raise _invalid_blocks(errors)
        return text, blocks, attachments

    def _post_target(self, ref: str | None) -> _PostTarget:
        if not ref:
            raise _ApiError("channel_not_found")
        if ref in self._users and ref not in self._channels:
            # Posting to a user id lands in the bot's DM with them, opening one if needed.
            if ref == BOT_USER_ID:
                raise _ApiError("channel_not_found")
            existing = self.dm_channel(ref)
            if existing is None:
                return _PostTarget(None, dm_user=ref)
            return _PostTarget(self._channels[existing])
        channel = self._channels.get(ref)
        if channel is None:
            wanted = ref.removeprefix("#")
            channel = next(
                (
                    c
                    for c in self._channels.values()
                    if c.name == wanted and not (c.is_private or c.is_im or c.is_mpim)
                ),
                None,
            )
        if channel is None or not self._visible(channel):
            raise _ApiError("channel_not_found")
        if channel.is_archived:
            raise _ApiError("is_archived")
        if BOT_USER_ID in channel.members:
            return _PostTarget(channel)
        if channel.is_private or not self.auto_join_public:
            raise _ApiError("not_in_channel")
        return _PostTarget(channel, join=True)

    def _commit_target(self, target: _PostTarget) -> Channel:
        if target.channel is None:
            assert target.dm_user is not None
            return self._open_dm(target.dm_user)
        if target.join:
            target.channel.members.append(BOT_USER_ID)
        return target.channel

    def _open_dm(self, user_id: str) -> Channel:
        existing = self.dm_channel(user_id)
        if existing is not None:
            return self._channels[existing]
        channel = Channel(
            id=self._new_id("D"),
            name=user_id,
            is_im=True,
            created=self._now(),
            creator=BOT_USER_ID,
            members=[BOT_USER_ID, user_id],
            dm_user=user_id,
        )
        self._channels[channel.id] = channel
        return channel

    def _thread_root(self, channel: Channel | None, thread_ts: str | None) -> str | None:
        if thread_ts is None:
            return None
        parent = self._find_message(channel.id, thread_ts) if channel else None
        if parent is None:
            raise _ApiError("thread_not_found")
        # Replying to a reply lands in the parent's thread, as in Slack.
        return parent.thread_ts or parent.ts

    def _check_channel_name(self, name: str) -> None:
        if not name:
            raise _ApiError("invalid_name_required")
        if len(name) > MAX_CHANNEL_NAME_CHARS:
            raise _ApiError("invalid_name_maxlength")
        if not _CHANNEL_NAME.fullmatch(name):
            raise _ApiError("invalid_name_specials")
        if not name.strip("-_"):
            raise _ApiError("invalid_name_punctuation")
        for channel in self._channels.values():
            # Archived and private channels keep their names reserved.
            if channel.name == name and not (channel.is_im or channel.is_mpim):
                raise _ApiError("name_taken")

    def _check_trigger(self, trigger_id: str | None) -> str:
        if trigger_id is None or not _TRIGGER_ID.fullmatch(trigger_id):
            raise _ApiError("invalid_trigger_id")
        if trigger_id in self._used_triggers:
            raise _ApiError("exchanged_trigger_id")
        minted = self._minted_triggers.get(trigger_id)
        if minted is not None and self._clock() - minted > TRIGGER_TTL_SECONDS:
            raise _ApiError("expired_trigger_id")
        return trigger_id

    def _view_payload(self, args: JsonDict, kinds: tuple[str, ...]) -> JsonDict:
        view = args.get("view")
        if view is None:
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["view missing"]})
        errors = validate_view(view, kinds=kinds)
        if errors:
            raise _ApiError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        assert isinstance(view, dict)
        return copy.deepcopy(view)

    def _check_external_id(self, body: JsonDict, own_view_id: str | None) -> str | None:
        external_id = body.get("external_id") or None
        if external_id is None:
            return None
        for view in self._views.values():
            if view.external_id == external_id and view.id != own_view_id:
                raise _ApiError("duplicate_external_id")
        return str(external_id)

    def _new_hash(self) -> str:
        return f"{self._now()}.{self._rng.getrandbits(32):08x}"

    # ------------------------------------------------------------------ method handlers

    def _auth_test(self, args: JsonDict) -> JsonDict:
        return {
            "url": "https://fake.slack.com/",
            "team": self.team_name,
            "user": self._users[BOT_USER_ID].name,
            "team_id": self.team_id,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _conversations_create(self, args: JsonDict) -> JsonDict:
        name = _arg_str(args, "name") or ""
        self._check_channel_name(name)
        channel = self._new_channel(
            name,
            is_private=_arg_bool(args, "is_private"),
            creator=BOT_USER_ID,
            members=[BOT_USER_ID],
        )
        return {"channel": self._channel_api(channel)}

    def _conversations_invite(self, args: JsonDict) -> JsonDict:
        channel = self._visible_channel(_arg_str(args, "channel"))
        if channel.is_im or channel.is_mpim:
            raise _ApiError("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise _ApiError("is_archived")
        if BOT_USER_ID not in channel.members:
            raise _ApiError("not_in_channel")
        requested = [u.strip() for u in (_arg_str(args, "users") or "").split(",") if u.strip()]
        if not requested:
            raise _ApiError("no_user")
        failures: list[JsonDict] = []
        to_add: list[str] = []
        for user_id in dict.fromkeys(requested):
            if user_id == BOT_USER_ID:
                error = "cant_invite_self"
            elif user_id not in self._users:
                error = "user_not_found"
            elif user_id in channel.members:
                error = "already_in_channel"
            else:
                to_add.append(user_id)
                continue
            failures.append({"user": user_id, "ok": False, "error": error})
        multi = len(requested) > 1
        # One bad user fails the whole call and invites nobody, unless force=true.
        if failures and (not _arg_bool(args, "force") or not to_add):
            extra = {"errors": failures} if multi else {}
            raise _ApiError(str(failures[0]["error"]), **extra)
        channel.members.extend(to_add)
        result: JsonDict = {"channel": self._channel_api(channel)}
        if failures:
            result["errors"] = failures
        return result

    def _conversations_join(self, args: JsonDict) -> JsonDict:
        channel = self._visible_channel(_arg_str(args, "channel"))
        if channel.is_archived:
            raise _ApiError("is_archived")
        if BOT_USER_ID in channel.members:
            return {
                "channel": self._channel_api(channel),
                "warning": "already_in_channel",
                "response_metadata": {"warnings": ["already_in_channel"]},
            }
        if channel.is_private or channel.is_im or channel.is_mpim:
            raise _ApiError("method_not_supported_for_channel_type")
        channel.members.append(BOT_USER_ID)
        return {"channel": self._channel_api(channel)}

    def _conversations_set_topic(self, args: JsonDict) -> JsonDict:
        channel = self._visible_channel(_arg_str(args, "channel"))
        if channel.is_archived:
            raise _ApiError("is_archived")
        if BOT_USER_ID not in channel.members:
            raise _ApiError("not_in_channel")
        topic = _arg_str(args, "topic") or ""
        if len(topic) > MAX_TOPIC_CHARS:
            raise _ApiError("too_long")
        channel.topic = topic
        channel.topic_creator = BOT_USER_ID
        channel.topic_last_set = self._now()
        return {"channel": self._channel_api(channel)}

    def _conversations_info(self, args: JsonDict) -> JsonDict:
        channel = self._visible_channel(_arg_str(args, "channel"))
        data = self._channel_api(channel)
        if _arg_bool(args, "include_num_members"):
            data["num_members"] = len(channel.members)
        return {"channel": data}

    def _conversations_list(self, args: JsonDict) -> JsonDict:
        types = set((_arg_str(args, "types") or "public_channel").split(","))
        unknown = types - {"public_channel", "private_channel", "mpim", "im"}
        if unknown:
            raise _ApiError("invalid_types")
        exclude_archived = _arg_bool(args, "exclude_archived")
        limit = min(max(_arg_int(args, "limit", 100), 1), 1000)
        offset = _decode_cursor(_arg_str(args, "cursor"))
        matching = []
        for channel in self._channels.values():
            if channel.is_im:
                kind = "im"
            elif channel.is_mpim:
                kind = "mpim"
            else:
                kind = "private_channel" if channel.is_private else "public_channel"
            if kind not in types or not self._visible(channel):
                continue
            if exclude_archived and channel.is_archived:
                continue
            matching.append(channel)
        page = matching[offset : offset + limit]
        more = offset + limit < len(matching)
        return {
            "channels": [self._channel_api(c) for c in page],
            "response_metadata": {"next_cursor": _encode_cursor(offset + limit) if more else ""},
        }

    def _conversations_members(self, args: JsonDict) -> JsonDict:
        channel = self._visible_channel(_arg_str(args, "channel"))
        return {"members": list(channel.members), "response_metadata": {"next_cursor": ""}}

    def _conversations_history(self, args: JsonDict) -> JsonDict:
        channel = self._visible_channel(_arg_str(args, "channel"))
        limit = min(max(_arg_int(args, "limit", 100), 1), 999)
        top_level = [m for m in self._messages.get(channel.id, []) if m.thread_ts is None]
        newest_first = list(reversed(top_level))
        # As in Slack, metadata comes back only when asked for.
        metadata = _arg_bool(args, "include_all_metadata")
        return {
            "messages": [self._message_api(m, metadata=metadata) for m in newest_first[:limit]],
            "has_more": len(newest_first) > limit,
            "pin_count": len(self._pins.get(channel.id, [])),
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_replies(self, args: JsonDict) -> JsonDict:
        channel = self._visible_channel(_arg_str(args, "channel"))
        parent = self._find_message(channel.id, _arg_str(args, "ts"))
        if parent is None:
            raise _ApiError("thread_not_found")
        limit = min(max(_arg_int(args, "limit", 1000), 1), 1000)
        metadata = _arg_bool(args, "include_all_metadata")
        # Slack answers with the parent first, then its replies oldest first.
        thread = [parent, *self._replies(parent)] if parent.thread_ts is None else [parent]
        return {
            "messages": [self._message_api(m, metadata=metadata) for m in thread[:limit]],
            "has_more": len(thread) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_open(self, args: JsonDict) -> JsonDict:
        channel_ref = _arg_str(args, "channel")
        if channel_ref is not None:
            channel = self._visible_channel(channel_ref)
            return {"channel": {"id": channel.id}, "no_op": True, "already_open": True}
        users = [u.strip() for u in (_arg_str(args, "users") or "").split(",") if u.strip()]
        if not users:
            raise _ApiError("users_list_not_supplied")
        others = [u for u in dict.fromkeys(users) if u != BOT_USER_ID]
        for user_id in others:
            if user_id not in self._users:
                raise _ApiError("user_not_found")
        if len(others) > 8:
            raise _ApiError("too_many_users")
        if not others:
            raise _ApiError("cannot_dm_bot")
        if len(others) == 1:
            already = self.dm_channel(others[0]) is not None
            dm = self._open_dm(others[0])
            return {"channel": {"id": dm.id}, "no_op": already, "already_open": already}
        members = [BOT_USER_ID, *others]
        for channel in self._channels.values():
            if channel.is_mpim and set(channel.members) == set(members):
                return {"channel": {"id": channel.id}, "no_op": True, "already_open": True}
        names = "--".join(self._users[u].name for u in members)
        mpim = Channel(
            id=self._new_id("G"),
            name=f"mpdm-{names}-1",
            is_mpim=True,
            created=self._now(),
            creator=BOT_USER_ID,
            members=members,
        )
        self._channels[mpim.id] = mpim
        return {"channel": {"id": mpim.id}, "no_op": False, "already_open": False}

    def _chat_post_message(self, args: JsonDict) -> JsonDict:
        target = self._post_target(_arg_str(args, "channel"))
        text, blocks, attachments = self._message_content(args)
        thread_ts = self._thread_root(target.channel, _arg_str(args, "thread_ts"))
        metadata = args.get("metadata")
        channel = self._commit_target(target)
        message = Message(
            channel=channel.id,
            ts=self._next_ts(),
            user=BOT_USER_ID,
            text=text or "",
            blocks=copy.deepcopy(blocks),
            attachments=copy.deepcopy(attachments),
            thread_ts=thread_ts,
            bot_id=BOT_ID,
            unfurl_links=_arg_bool(args, "unfurl_links") if "unfurl_links" in args else None,
            unfurl_media=_arg_bool(args, "unfurl_media") if "unfurl_media" in args else None,
            reply_broadcast=_arg_bool(args, "reply_broadcast"),
            metadata=copy.deepcopy(metadata) if isinstance(metadata, dict) else None,
        )
        self._messages.setdefault(channel.id, []).append(message)
        return {"channel": channel.id, "ts": message.ts, "message": self._message_api(message)}

    def _chat_update(self, args: JsonDict) -> JsonDict:
        channel = self._visible_channel(_arg_str(args, "channel"))
        message = self._find_message(channel.id, _arg_str(args, "ts"))
        if message is None:
            raise _ApiError("message_not_found")
        if message.user != BOT_USER_ID:
            raise _ApiError("cant_update_message")
        text, blocks, attachments = self._message_content(args)
        # Like Slack, fields left out keep their old value: a text-only update of a message
        # with blocks leaves the blocks (and so what people see) unchanged.
        if text is not None:
            message.text = text
        if blocks is not None:
            message.blocks = copy.deepcopy(blocks) or None
        if attachments is not None:
            message.attachments = copy.deepcopy(attachments) or None
        message.edited_ts = self._next_ts()
        return {
            "channel": channel.id,
            "ts": message.ts,
            "text": message.text,
            "message": self._message_api(message),
        }

    def _chat_post_ephemeral(self, args: JsonDict) -> JsonDict:
        target = self._post_target(_arg_str(args, "channel"))
        user_id = _arg_str(args, "user")
        if user_id is None or user_id not in self._users:
            raise _ApiError("user_not_found")
        members = target.channel.members if target.channel else [BOT_USER_ID, target.dm_user]
        if user_id not in members:
            raise _ApiError("user_not_in_channel")
        text, blocks, _ = self._message_content(args)
        thread_ts = self._thread_root(target.channel, _arg_str(args, "thread_ts"))
        channel = self._commit_target(target)
        ephemeral = Ephemeral(
            channel.id, user_id, self._next_ts(), text or "", copy.deepcopy(blocks), thread_ts
        )
        self._ephemerals.append(ephemeral)
        return {"message_ts": ephemeral.message_ts}

    def _chat_get_permalink(self, args: JsonDict) -> JsonDict:
        channel = self._visible_channel(_arg_str(args, "channel"))
        message = self._find_message(channel.id, _arg_str(args, "message_ts"))
        if message is None:
            raise _ApiError("message_not_found")
        return {"channel": channel.id, "permalink": self._permalink(message)}

    def _pins_add(self, args: JsonDict) -> JsonDict:
        channel = self._visible_channel(_arg_str(args, "channel"))
        ts = _arg_str(args, "timestamp")
        if ts is None:
            raise _ApiError("no_item_specified")
        if self._find_message(channel.id, ts) is None:
            raise _ApiError("message_not_found")
        pinned = self._pins.setdefault(channel.id, [])
        if ts in pinned:
            raise _ApiError("already_pinned")
        pinned.append(ts)
        return {}

    def _pins_list(self, args: JsonDict) -> JsonDict:
        channel = self._visible_channel(_arg_str(args, "channel"))
        items = []
        for ts in self._pins.get(channel.id, []):
            message = self._find_message(channel.id, ts)
            if message is not None:
                items.append(
                    {
                        "type": "message",
                        "channel": channel.id,
                        "message": self._message_api(message),
                    }
                )
        return {"items": items}

    def _bookmarks_add(self, args: JsonDict) -> JsonDict:
        channel = self._visible_channel(_arg_str(args, "channel_id"))
        title = _arg_str(args, "title")
        kind = _arg_str(args, "type")
        link = _arg_str(args, "link")
        if title is None or kind is None:
            raise _ApiError("invalid_arguments")
        if kind != "link":
            raise _ApiError("invalid_bookmark_type")
        if link is None or not link.startswith(("http://", "https://")):
            raise _ApiError("invalid_link")
        bookmark = Bookmark(
            id=self._new_id("Bk"),
            channel_id=channel.id,
            title=title,
            link=link,
            emoji=_arg_str(args, "emoji"),
            date_created=self._now(),
        )
        self._bookmarks.setdefault(channel.id, []).append(bookmark)
        return {"bookmark": self._bookmark_api(bookmark)}

    def _bookmarks_list(self, args: JsonDict) -> JsonDict:
        channel = self._visible_channel(_arg_str(args, "channel_id"))
        return {"bookmarks": [self._bookmark_api(b) for b in self._bookmarks.get(channel.id, [])]}

    @staticmethod
    def _bookmark_api(bookmark: Bookmark) -> JsonDict:
        return {
            "id": bookmark.id,
            "channel_id": bookmark.channel_id,
            "title": bookmark.title,
            "link": bookmark.link,
            "emoji": bookmark.emoji,
            "type": bookmark.type,
            "date_created": bookmark.date_created,
            "date_updated": 0,
            "created_by": bookmark.created_by,
        }

    def _users_info(self, args: JsonDict) -> JsonDict:
        user = self._users.get(_arg_str(args, "user") or "")
        if user is None:
            raise _ApiError("user_not_found")
        return {"user": self._user_api(user)}

    def _views_open(self, args: JsonDict) -> JsonDict:
        trigger_id = self._check_trigger(_arg_str(args, "trigger_id"))
        body = self._view_payload(args, ("modal",))
        external_id = self._check_external_id(body, None)
        view = View(
            id=self._new_id("V"),
            type=str(body["type"]),
            body=body,
            hash=self._new_hash(),
            trigger_id=trigger_id,
            external_id=external_id,
        )
        self._used_triggers.add(trigger_id)
        self._views[view.id] = view
        return {"view": self._view_api(view)}

    def _views_update(self, args: JsonDict) -> JsonDict:
        view_id = _arg_str(args, "view_id")
        external_id = _arg_str(args, "external_id")
        if view_id is None and external_id is None:
            raise _ApiError("invalid_arguments")
        view = self._views.get(view_id) if view_id else None
        if view is None and external_id is not None:
            view = next((v for v in self._views.values() if v.external_id == external_id), None)
        if view is None:
            raise _ApiError("not_found")
        expected_hash = _arg_str(args, "hash")
        if expected_hash is not None and expected_hash != view.hash:
            raise _ApiError("hash_conflict")
        body = self._view_payload(args, (view.type,))
        new_external_id = self._check_external_id(body, view.id) or view.external_id
        view.body = body
        view.external_id = new_external_id
        view.hash = self._new_hash()
        return {"view": self._view_api(view)}

    def _views_publish(self, args: JsonDict) -> JsonDict:
        user_id = _arg_str(args, "user_id")
        if user_id is None:
            raise _ApiError("invalid_arguments")
        if user_id not in self._users:
            raise _ApiError("user_not_found")
        existing_id = self._home_views.get(user_id)
        existing = self._views.get(existing_id) if existing_id else None
        expected_hash = _arg_str(args, "hash")
        if existing is not None and expected_hash is not None and expected_hash != existing.hash:
            raise _ApiError("hash_conflict")
        body = self._view_payload(args, ("home",))
        external_id = self._check_external_id(body, existing_id)
        if existing is None:
            existing = View(self._new_id("V"), "home", body, "", user_id=user_id)
            self._views[existing.id] = existing
            self._home_views[user_id] = existing.id
        existing.body = body
        existing.external_id = external_id
        existing.hash = self._new_hash()
        return {"view": self._view_api(existing)}
