"""Slack modals: the declare form, the update form and the status form, plus their readers.

Block and action ids are constants so the view-submission handler can read
``view.state.values`` (``{block_id: {action_id: {...}}}``) without guessing, and so
``response_action: errors`` can point at the right input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.decide import MAX_TEXT, MAX_TITLE
from bot.domain.model import TRANSITIONS, Status
from integrations.slack.blocks import STATUS_LABELS
from integrations.slack.escape import escape_plain, truncate

View = dict[str, Any]

DECLARE_CALLBACK = "sitrep.declare"
UPDATE_CALLBACK = "sitrep.update"
STATUS_CALLBACK = "sitrep.status_form"

TITLE_BLOCK, TITLE_ACTION = "sitrep_title", "title"
SEVERITY_BLOCK, SEVERITY_ACTION = "sitrep_severity", "severity"
SUMMARY_BLOCK, SUMMARY_ACTION = "sitrep_summary", "summary"
COMMANDER_BLOCK, COMMANDER_ACTION = "sitrep_commander", "commander"
PRIVATE_BLOCK, PRIVATE_ACTION = "sitrep_private", "private"
PRIVATE_VALUE = "private"
UPDATE_BLOCK, UPDATE_ACTION = "sitrep_update", "update"
STATUS_BLOCK, STATUS_ACTION = "sitrep_status", "status"
NOTE_BLOCK, NOTE_ACTION = "sitrep_status_note", "note"

# Slack caps plain_text_input at 3000 characters, below the core's own text limit.
INPUT_LIMIT = 3000
TEXT_LIMIT = min(MAX_TEXT, INPUT_LIMIT)
_VIEW_TITLE_LIMIT = 24
_OPTION_LIMIT = 75
_MAX_OPTIONS = 100


def declare_modal(
    *,
    severities: list[str],
    default_severity: str | None,
    title: str = "",
    channel_id: str | None = None,
) -> View:
    """The declare form; ``private_metadata`` is the channel to answer in."""
    title_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": TITLE_ACTION,
        "max_length": MAX_TITLE,
        "placeholder": _plain("What is broken, for whom? e.g. Checkout fails in EU"),
    }
    if title.strip():
        title_input["initial_value"] = title.strip()[:MAX_TITLE]
    blocks: list[dict[str, Any]] = [
        {
            "type": "input",
            "block_id": TITLE_BLOCK,
            "label": _plain("Title"),
            "element": title_input,
        }
    ]
    options = [_option(s, s) for s in severities[:_MAX_OPTIONS] if s]
    if options:
        select: dict[str, Any] = {
            "type": "static_select",
            "action_id": SEVERITY_ACTION,
            "options": options,
        }
        initial = next((o for o in options if o["value"] == default_severity), None)
        if initial is not None:
            select["initial_option"] = initial
        blocks.append(
            {
                "type": "input",
                "block_id": SEVERITY_BLOCK,
                "label": _plain("Severity"),
                "element": select,
                "hint": _plain("Unsure? Pick the higher one; lowering it later is cheap."),
            }
        )
    blocks += [
        {
            "type": "input",
            "block_id": SUMMARY_BLOCK,
            "optional": True,
            "label": _plain("What do we know so far?"),
            "element": {
                "type": "plain_text_input",
                "action_id": SUMMARY_ACTION,
                "multiline": True,
                "max_length": TEXT_LIMIT,
            },
        },
        {
            "type": "input",
            "block_id": COMMANDER_BLOCK,
            "optional": True,
            "label": _plain("Commander"),
            "element": {"type": "users_select", "action_id": COMMANDER_ACTION},
            "hint": _plain("Who runs the response. Can be changed later."),
        },
        {
            "type": "input",
            "block_id": PRIVATE_BLOCK,
            "optional": True,
            "label": _plain("Visibility"),
            "element": {
                "type": "checkboxes",
                "action_id": PRIVATE_ACTION,
                "options": [
                    {
                        "text": _plain("Private incident"),
                        "value": PRIVATE_VALUE,
                        "description": _plain("Private channel, no stakeholder broadcast."),
                    }
                ],
            },
        },
    ]
    return {
        "type": "modal",
        "callback_id": DECLARE_CALLBACK,
        "title": _plain("Declare an incident", _VIEW_TITLE_LIMIT),
        "submit": _plain("Declare", _VIEW_TITLE_LIMIT),
        "close": _plain("Cancel", _VIEW_TITLE_LIMIT),
        "private_metadata": channel_id or "",
        "blocks": blocks,
    }


def update_modal(*, workspace: str, number: int, prefill: str) -> View:
    """The stakeholder-update form, prefilled with the last update to edit from."""
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": UPDATE_ACTION,
        "multiline": True,
        "max_length": TEXT_LIMIT,
        "focus_on_load": True,
    }
    if prefill.strip():
        element["initial_value"] = prefill[:TEXT_LIMIT]
    return {
        "type": "modal",
        "callback_id": UPDATE_CALLBACK,
        "title": _plain(f"Update INC-{number}", _VIEW_TITLE_LIMIT),
        "submit": _plain("Post update", _VIEW_TITLE_LIMIT),
        "close": _plain("Cancel", _VIEW_TITLE_LIMIT),
        "private_metadata": f"{workspace}:{number}",
        "blocks": [
            {
                "type": "input",
                "block_id": UPDATE_BLOCK,
                "label": _plain("Stakeholder update"),
                "element": element,
                "hint": _plain(
                    "What is affected, what we are doing, and when the next update comes."
                ),
            }
        ],
    }


def status_modal(*, workspace: str, number: int, current: str) -> View:
    """A form to change status with an optional note (the lifecycle decides the choices)."""
    try:
        allowed = [s for s in Status if s in TRANSITIONS[Status(current)]]
    except ValueError:
        allowed = list(Status)
    options = [_option(STATUS_LABELS[s.value], s.value) for s in allowed]
    return {
        "type": "modal",
        "callback_id": STATUS_CALLBACK,
        "title": _plain(f"Status of INC-{number}", _VIEW_TITLE_LIMIT),
        "submit": _plain("Change", _VIEW_TITLE_LIMIT),
        "close": _plain("Cancel", _VIEW_TITLE_LIMIT),
        "private_metadata": f"{workspace}:{number}",
        "blocks": [
            {
                "type": "input",
                "block_id": STATUS_BLOCK,
                "label": _plain("New status"),
                "element": {
                    "type": "radio_buttons",
                    "action_id": STATUS_ACTION,
                    "options": options,
                },
            },
            {
                "type": "input",
                "block_id": NOTE_BLOCK,
                "optional": True,
                "label": _plain("Why? (goes on the timeline)"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": NOTE_ACTION,
                    "multiline": True,
                    "max_length": TEXT_LIMIT,
                },
            },
        ],
    }


def read_declare_submission(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Fields (title, severity, summary, commander, private) and ``{block_id: error}``."""
    title = " ".join(_text(values, TITLE_BLOCK, TITLE_ACTION).split())
    summary = _text(values, SUMMARY_BLOCK, SUMMARY_ACTION).strip()
    fields: dict[str, Any] = {
        "title": title,
        "severity": _selected(values, SEVERITY_BLOCK, SEVERITY_ACTION),
        "summary": summary,
        "commander": _user(values, COMMANDER_BLOCK, COMMANDER_ACTION),
        "private": PRIVATE_VALUE in _checked(values, PRIVATE_BLOCK, PRIVATE_ACTION),
    }
    errors: dict[str, str] = {}
    if not title:
        errors[TITLE_BLOCK] = "Give the incident a title."
    elif len(title) > MAX_TITLE:
        errors[TITLE_BLOCK] = f"Keep the title under {MAX_TITLE} characters (it is {len(title)})."
    if len(summary) > MAX_TEXT:
        errors[SUMMARY_BLOCK] = f"Keep this under {MAX_TEXT} characters."
    return fields, errors


def read_update_submission(values: Mapping[str, Any]) -> str:
    """The update text, trimmed ("" when empty)."""
    return _text(values, UPDATE_BLOCK, UPDATE_ACTION).strip()


def read_status_submission(values: Mapping[str, Any]) -> tuple[str | None, str]:
    """(chosen status or None, note) from the status form."""
    return _selected(values, STATUS_BLOCK, STATUS_ACTION), _text(
        values, NOTE_BLOCK, NOTE_ACTION
    ).strip()


def example_submission(
    *,
    title: str,
    severity: str | None = None,
    summary: str = "",
    commander: str | None = None,
    private: bool = False,
) -> dict[str, Any]:
    """``view.state.values`` as Slack sends it for the declare form (for tests and fakes)."""
    return {
        TITLE_BLOCK: {TITLE_ACTION: {"type": "plain_text_input", "value": title or None}},
        SEVERITY_BLOCK: {
            SEVERITY_ACTION: {
                "type": "static_select",
                "selected_option": _option(severity, severity) if severity else None,
            }
        },
        SUMMARY_BLOCK: {SUMMARY_ACTION: {"type": "plain_text_input", "value": summary or None}},
        COMMANDER_BLOCK: {COMMANDER_ACTION: {"type": "users_select", "selected_user": commander}},
        PRIVATE_BLOCK: {
            PRIVATE_ACTION: {
                "type": "checkboxes",
                "selected_options": [_option("Private incident", PRIVATE_VALUE)] if private else [],
            }
        },
    }


def example_update_submission(text: str) -> dict[str, Any]:
    """``view.state.values`` as Slack sends it for the update form (for tests and fakes)."""
    return {UPDATE_BLOCK: {UPDATE_ACTION: {"type": "plain_text_input", "value": text or None}}}


# -- helpers -----------------------------------------------------------------------------------


def _plain(text: str, limit: int = 150) -> dict[str, Any]:
    return {"type": "plain_text", "text": escape_plain(text, limit), "emoji": True}


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(truncate(text, _OPTION_LIMIT), _OPTION_LIMIT), "value": value[:150]}


def _state(values: Mapping[str, Any], block: str, action: str) -> Mapping[str, Any]:
    inner = values.get(block)
    state = inner.get(action) if isinstance(inner, Mapping) else None
    return state if isinstance(state, Mapping) else {}


def _text(values: Mapping[str, Any], block: str, action: str) -> str:
    value = _state(values, block, action).get("value")
    return value if isinstance(value, str) else ""


def _user(values: Mapping[str, Any], block: str, action: str) -> str | None:
    value = _state(values, block, action).get("selected_user")
    return value if isinstance(value, str) and value else None


def _selected(values: Mapping[str, Any], block: str, action: str) -> str | None:
    option = _state(values, block, action).get("selected_option")
    value = option.get("value") if isinstance(option, Mapping) else None
    return value if isinstance(value, str) and value else None


def _checked(values: Mapping[str, Any], block: str, action: str) -> set[str]:
    options = _state(values, block, action).get("selected_options")
    if not isinstance(options, list):
        return set()
    return {str(o.get("value")) for o in options if isinstance(o, Mapping)}
