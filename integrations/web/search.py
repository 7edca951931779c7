"""``/search``: the search form and ranked results with highlighted snippets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from bot.domain.model import Status
from bot.domain.policy import Policy
from bot.search.model import SearchPage, SearchResult, Segment
from integrations.web.layout import Viewer, esc, options, page, time_tag
from integrations.web.pages import severity_badge, status_badge


@dataclass(frozen=True, slots=True)
class SearchView:
    """What the search page shows: the form's values and, once searched, a page of results."""

    q: str = ""
    status: str = ""
    severity: str = ""
    since: str = ""
    results: SearchPage | None = None
    error: str = ""


def highlight(segments: Sequence[Segment]) -> str:
    """Snippet HTML: every segment escaped, matched words in ``<mark>``."""
    return "".join(f"<mark>{esc(s.text)}</mark>" if s.hit else esc(s.text) for s in segments)


def search_page(view: SearchView, policy: Policy, viewer: Viewer) -> str:
    """The whole page: form, problem, results, paging."""
    title = f"Search: {view.q}" if view.q else "Search"
    body = f"<h1>Search incidents</h1>{_form(view, policy)}{_problem(view)}{_results(view, policy)}"
    return page(title, body, viewer)


def _form(view: SearchView, policy: Policy) -> str:
    status_choices = [("", "Any status"), ("open", "Open"), *((s.value, s.value) for s in Status)]
    sev_choices = [("", "Any severity"), *((n, n) for n in policy.names)]
    focus = "" if view.q else " autofocus"
    return f"""<form method="get" action="/search" role="search" class="filters no-print"
 aria-label="Search incidents">
<div><label for="q">Words to find</label>
<p class="hint" id="q-hint">Plain words, "an exact phrase", or a prefix like <code>data*</code>.
</p><input type="text" id="q" name="q" value="{esc(view.q)}" maxlength="256"
 inputmode="search" enterkeyhint="search" autocomplete="off" aria-describedby="q-hint"{focus}>
</div>
<div><label for="s-status">Status</label>
<select id="s-status" name="status">{options(status_choices, view.status)}</select></div>
<div><label for="s-severity">Severity</label>
<select id="s-severity" name="severity">{options(sev_choices, view.severity)}</select></div>
<div><label for="s-since">Declared since</label>
<input type="date" id="s-since" name="since" value="{esc(view.since)}"></div>
<div><button type="submit">Search</button></div>
</form>"""


def _problem(view: SearchView) -> str:
    message = view.error or (view.results.problem if view.results else None)
    if not message or (not view.q and not view.error):
        return ""
    return f'<div class="error" role="alert" id="search-error">{esc(message)}</div>'


def _results(view: SearchView, policy: Policy) -> str:
    found = view.results
    if found is None or found.problem:
        return ""
    capped = (
        '<p class="hint">These words are very common: only their most recent matches were '
        "ranked and filtered. More words narrow the search.</p>"
        if found.capped
        else ""
    )
    if not found.results:
        return (
            '<h2 id="results">Results</h2><p class="muted" role="status">'
            f"No incident you can see matches {esc(found.query)}.</p>{capped}"
        )
    first = found.offset + 1
    last = found.offset + len(found.results)
    items = "".join(_item(r, policy) for r in found.results)
    return f"""<h2 id="results">Results</h2>
<p class="muted" role="status">Showing {first} to {last}, best matches first.</p>{capped}
<ol class="updates" start="{first}" aria-labelledby="results">{items}</ol>
{_paging(view)}"""


def _item(result: SearchResult, policy: Policy) -> str:
    i = result.incident
    private = ' <span class="private">Private</span>' if i.private else ""
    snippets = "".join(
        f'<p class="pre"><span class="muted">{esc(s.kind.label)}:</span> '
        f"{highlight(s.segments)}</p>"
        for s in result.snippets
    )
    return f"""<li><a href="/incidents/{i.number}"><strong>{esc(i.ref)}</strong> {esc(i.title)}</a>
<div class="badges">{severity_badge(i.severity, policy)} {status_badge(i.status)}{private}
<span class="muted">declared {time_tag(i.declared_at)}</span></div>{snippets}</li>"""


def _paging(view: SearchView) -> str:
    found = view.results
    assert found is not None
    links = []
    base = {"q": view.q, "status": view.status, "severity": view.severity, "since": view.since}
    params = {k: v for k, v in base.items() if v}
    if found.offset > 0:
        prev = urlencode({**params, "offset": max(found.offset - found.limit, 0)})
        links.append(f'<a href="/search?{esc(prev)}" rel="prev">Previous results</a>')
    if found.more:
        nxt = urlencode({**params, "offset": found.offset + found.limit})
        links.append(f'<a href="/search?{esc(nxt)}" rel="next">More results</a>')
    if not links:
        return ""
    return f'<nav class="quick" aria-label="Result pages">{" ".join(links)}</nav>'
