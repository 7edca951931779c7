"""The login page and the incident list, with its "Declare incident" form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from bot.domain.model import Incident, Status
from bot.domain.policy import Policy, UnknownSeverity
from integrations.web.layout import (
    Viewer,
    csrf_field,
    esc,
    options,
    page,
    sev_class,
    time_tag,
)


def login_page(
    *,
    error: str = "",
    next_path: str = "/incidents",
    name: str = "",
    token_form: bool = True,
    oidc: bool = False,
) -> str:
    """The sign-in page: the identity provider's button and/or the shared API-token form."""
    alert = f'<div class="error" role="alert" id="login-error">{esc(error)}</div>' if error else ""
    described = ' aria-describedby="login-error" aria-invalid="true"' if error else ""
    sso = ""
    if oidc:
        href = f"/login/oidc?next={quote(next_path, safe='')}"
        sso = (
            f'<p class="card"><a class="button" id="sso" href="{esc(href)}">'
            "Sign in with your organisation account</a></p>"
        )
    if not token_form:
        return page("Sign in", f'<div class="narrow"><h1>Sign in to sitrep</h1>{alert}{sso}</div>')
    body = f"""<div class="narrow"><h1>Sign in to sitrep</h1>{alert}{sso}
<form method="post" action="/login" class="card">
<input type="hidden" name="next" value="{esc(next_path)}">
<label for="token">API token</label>
<p class="hint" id="token-hint">The value of <code>SITREP_API_TOKEN</code>.</p>
<input type="password" id="token" name="token" required autocomplete="current-password"
 aria-describedby="token-hint"{described} autofocus>
<label for="name">Your name <span class="muted">(optional)</span></label>
<p class="hint" id="name-hint">Shown on the timeline next to what you do.</p>
<input type="text" id="name" name="name" maxlength="64" autocomplete="name"
 aria-describedby="name-hint" value="{esc(name)}">
<button type="submit">Sign in</button>
</form></div>"""
    return page("Sign in", body)


@dataclass(frozen=True, slots=True)
class ListView:
    """What the incident list shows: either open + recent, or one filtered list."""

    open: Sequence[Incident] = ()
    recent: Sequence[Incident] = ()
    filtered: Sequence[Incident] | None = None
    status: str = ""
    severity: str = ""
    error: str = ""
    filter_error: str = ""
    values: Mapping[str, str] = field(default_factory=dict)
    # Display names of the commanders listed (bot.people).
    names: Mapping[str, str] = field(default_factory=dict)


def list_page(view: ListView, policy: Policy, viewer: Viewer, now: datetime) -> str:
    """``/incidents``: filters, the lists, and the declare form."""
    status_choices = [("", "Any status"), ("open", "Open"), *((s.value, s.value) for s in Status)]
    sev_choices = [("", "Any severity"), *((n, n) for n in policy.names)]
    filters = f"""<form method="get" action="/incidents" class="filters no-print">
<div><label for="f-status">Status</label>
<select id="f-status" name="status">{options(status_choices, view.status)}</select></div>
<div><label for="f-severity">Severity</label>
<select id="f-severity" name="severity">{options(sev_choices, view.severity)}</select></div>
<div><button type="submit" class="secondary">Filter</button></div>
{'<div><a href="/incidents">Clear filters</a></div>' if view.status or view.severity else ""}
</form>"""
    if view.filtered is not None:
        lists = _table("Matching incidents", "matching", view.filtered, policy, view.names)
    else:
        lists = _table("Open incidents", "open", view.open, policy, view.names) + _table(
            "Recently resolved", "recent", view.recent, policy, view.names
        )
    problem = ""
    if view.filter_error:
        problem = f'<div class="error" role="alert">{esc(view.filter_error)}</div>'
    body = f"""<h1>Incidents</h1>
{problem}{_declare_error(view.error)}
<div class="cols"><div>{filters}{lists}</div>
<aside aria-label="Declare an incident">{_declare_form(policy, viewer.csrf, view)}</aside></div>"""
    return page("Incidents", body, viewer)


def _declare_error(error: str) -> str:
    if not error:
        return ""
    return (
        f'<div class="error" role="alert">Could not declare the incident: {esc(error)} '
        '<a href="#declare">Back to the form</a></div>'
    )


def _table(
    heading: str,
    key: str,
    incidents: Sequence[Incident],
    policy: Policy,
    names: Mapping[str, str],
) -> str:
    if not incidents:
        return f'<h2 id="{key}">{esc(heading)}</h2><p class="muted">None.</p>'
    rows = "".join(_row(i, policy, names) for i in incidents)
    return f"""<h2 id="{key}">{esc(heading)}</h2>
<table aria-labelledby="{key}"><thead><tr><th scope="col">Incident</th><th scope="col">Severity</th>
<th scope="col">Status</th><th scope="col">Declared</th><th scope="col">Commander</th></tr></thead>
<tbody>{rows}</tbody></table>"""


def _row(i: Incident, policy: Policy, names: Mapping[str, str]) -> str:
    private = ' <span class="private">Private</span>' if i.private else ""
    return (
        f'<tr><td class="title"><a href="/incidents/{i.number}"><strong>{esc(i.ref)}</strong> '
        f"{esc(i.title)}</a>{private}</td>"
        f"<td>{severity_badge(i.severity, policy)}</td><td>{status_badge(i.status)}</td>"
        f'<td class="when">{time_tag(i.declared_at)}</td>'
        f"<td>{_holder(i.commander, names)}</td></tr>"
    )


def _holder(who: str | None, names: Mapping[str, str]) -> str:
    return esc(names.get(who, who)) if who else '<span class="muted">unassigned</span>'


def severity_badge(name: str, policy: Policy) -> str:
    """A coloured severity label (the colour is decoration; the text carries the meaning)."""
    try:
        rank = policy.severity(name).rank
    except UnknownSeverity:  # a severity removed from config after the incident was declared
        rank = len(policy.severities)
    return f'<span class="{sev_class(rank)}">{esc(name)}</span>'


def status_badge(status: Status) -> str:
    """A status label."""
    return f'<span class="status st-{esc(status.value)}">{esc(status.value)}</span>'


def _declare_form(policy: Policy, csrf: str, view: ListView) -> str:
    v = view.values
    sev = v.get("severity") or policy.default.name
    sev_opts = options(
        [
            (s.name, f"{s.name} — {s.description}" if s.description else s.name)
            for s in policy.severities
        ],
        sev,
    )
    invalid = ' aria-invalid="true"' if view.error else ""
    checked = " checked" if v.get("private") else ""
    return f"""<form method="post" action="/incidents" id="declare"
 class="card{" has-error" if view.error else ""}">{csrf_field(csrf)}
<h2>Declare incident</h2>
<label for="d-title">Title</label>
<input type="text" id="d-title" name="title" required maxlength="200"
 value="{esc(v.get("title", ""))}"{invalid}>
<label for="d-severity">Severity</label>
<select id="d-severity" name="severity">{sev_opts}</select>
<label for="d-summary">Summary <span class="muted">(optional)</span></label>
<textarea id="d-summary" name="summary" maxlength="4000">{esc(v.get("summary", ""))}</textarea>
<label class="inline"><input type="checkbox" name="private" value="1"{checked}>
Private: private room, not announced in the broadcast channel</label>
<button type="submit">Declare incident</button>
</form>"""
