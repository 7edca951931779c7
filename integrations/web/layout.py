"""The page shell, stylesheet, script and small HTML helpers shared by every page.

Rendering is pure: functions take values and return HTML strings. Every value that came from a
person or an alert goes through ``esc`` before it reaches the page.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking, for the page header (None on pages shown before login)."""

    name: str
    csrf: str
    admin: bool = False


def esc(value: object) -> str:
    """HTML-escape anything, quotes included (safe in text and attribute values)."""
    return html.escape(str(value), quote=True)


def utc(value: datetime) -> str:
    """``2026-11-23 09:05 UTC``."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def time_tag(value: datetime | None, *, seconds: bool = False) -> str:
    """A ``<time>`` in UTC that the script may annotate with the viewer's local time."""
    if value is None:
        return "—"
    at = value.astimezone(UTC)
    shown = at.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")
    stamp = at.isoformat().replace("+00:00", "Z")
    return f'<time datetime="{esc(stamp)}" data-local>{esc(shown)}</time>'


def relative(value: datetime, now: datetime) -> str:
    """``in 12m`` or ``5m ago``, coarse on purpose: it is read at a glance."""
    delta = value - now
    future = delta >= timedelta(0)
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 1:
        text = "under a minute"
    elif minutes < 120:
        text = f"{minutes}m"
    elif minutes < 48 * 60:
        text = f"{minutes // 60}h {minutes % 60:02d}m"
    else:
        text = f"{minutes // 1440}d"
    return f"in {text}" if future else f"{text} ago"


def multiline(text: str) -> str:
    """Escaped free text whose line breaks survive (CSS ``pre-wrap``)."""
    return f'<p class="pre">{esc(text)}</p>'


def csrf_field(csrf: str) -> str:
    """The hidden input every POST form carries."""
    return f'<input type="hidden" name="csrf" value="{esc(csrf)}">'


def options(choices: Iterable[tuple[str, str]], selected: str = "") -> str:
    """``<option>`` elements from (value, label) pairs."""
    return "".join(
        f'<option value="{esc(v)}"{" selected" if v == selected else ""}>{esc(label)}</option>'
        for v, label in choices
    )


def sev_class(rank: int) -> str:
    """A CSS class by severity rank, so custom severity names still get a colour."""
    return f"sev sev-{min(max(rank, 1), 4)}"


def page(title: str, body: str, viewer: Viewer | None = None) -> str:
    """A complete HTML document."""
    who = ""
    if viewer is not None:
        who = (
            f'<form method="post" action="/logout" class="logout">{csrf_field(viewer.csrf)}'
            f'<span class="who">Signed in as <a href="/me"><strong>{esc(viewer.name)}</strong>'
            "</a></span> "
            '<button type="submit" class="link">Log out</button></form>'
        )
    nav = ""
    if viewer is not None:
        links = (
            '<a href="/incidents">Incidents</a> <a href="/search">Search</a> '
            '<a href="/dashboard">Dashboard</a> '
            '<a href="/me/tokens">Your tokens</a>'
        )
        if viewer.admin:
            links += ' <a href="/admin/tokens">API tokens</a> <a href="/admin/audit">Audit log</a>'
        nav = f'<nav aria-label="Main">{links}</nav>'
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · sitrep</title>"
        f'<link rel="stylesheet" href="/assets/sitrep.css?v={CSS_VERSION}">'
        f'<script src="/assets/sitrep.js?v={JS_VERSION}" defer></script>'
        '</head><body><a class="skip" href="#main">Skip to content</a>'
        f'<header class="top"><a class="brand" href="/incidents">sitrep</a>{nav}{who}</header>'
        f'<main id="main" tabindex="-1">{body}</main></body></html>\n'
    )


def message_page(title: str, message: str, *, viewer: Viewer | None = None, link: str = "") -> str:
    """A page that only explains something (errors, disabled UI)."""
    more = f"<p>{link}</p>" if link else ""
    return page(title, f'<h1>{esc(title)}</h1><p class="lead">{esc(message)}</p>{more}', viewer)


CSS = """\
:root{--fg:#111;--muted:#4a4a4a;--bg:#fff;--panel:#f5f6f8;--line:#c9ced6;--link:#0b4fc4;
--focus:#1a66ff;--err-bg:#fdecec;--err-fg:#8a1111;--ok-bg:#e6f4ea;--ok-fg:#14532d;
color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--fg:#eceff3;--muted:#b8bec8;--bg:#14171c;
--panel:#1e232b;--line:#3b4350;--link:#8ab4ff;--focus:#8ab4ff;--err-bg:#3a1517;--err-fg:#ffc9c9;
--ok-bg:#11301d;--ok-fg:#b9f0c8}}
*{box-sizing:border-box}
body{margin:0;font:17px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}
a{color:var(--link)}
/* Form fields show focus however it got there; a date field's parts (and its calendar
button) hold focus inside the input, hence :focus-within. */
:focus-visible,input:focus-within,select:focus,textarea:focus{outline:3px solid var(--focus);
outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:var(--bg);padding:.5rem 1rem;z-index:9}
.skip:focus{left:.5rem}
.top{display:flex;gap:1.5rem;align-items:center;flex-wrap:wrap;padding:.6rem 1.25rem;
border-bottom:1px solid var(--line);background:var(--panel)}
.brand{font-weight:800;font-size:1.15rem;text-decoration:none;color:var(--fg)}
.logout{margin-left:auto;display:flex;gap:.5rem;align-items:center}
main{max-width:78rem;margin:0 auto;padding:1rem 1.25rem 3rem}
main:focus{outline:none}
h1{font-size:1.7rem;line-height:1.25;margin:.5rem 0 .75rem;overflow-wrap:anywhere}
h2{font-size:1.25rem;margin:1.75rem 0 .6rem;padding-bottom:.25rem;
border-bottom:1px solid var(--line)}
h3{font-size:1.05rem;margin:0 0 .5rem}
.lead{font-size:1.1rem}
.muted{color:var(--muted)}
.pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:.25rem 0}
.badges{display:flex;gap:.5rem;flex-wrap:wrap;align-items:center;margin:.25rem 0 .5rem}
.badges>span{font-size:1.05rem;padding:.15rem .7rem}
.sev,.status,.private{display:inline-block;padding:.1rem .55rem;border-radius:.35rem;
font-weight:700;font-size:.9rem;border:2px solid transparent;white-space:nowrap}
.sev-1{background:#a50e1e;color:#fff}.sev-2{background:#9a3412;color:#fff}
.sev-3{background:#6b4f00;color:#fff}.sev-4{background:#374151;color:#fff}
.status{background:var(--bg);color:var(--fg);border-color:currentColor}
.st-investigating{color:#a50e1e}.st-identified{color:#8a4b00}.st-monitoring{color:#0b4fc4}
.st-resolved{color:#1b6b34}.st-closed{color:var(--muted)}
@media (prefers-color-scheme:dark){.st-investigating{color:#ff9b9b}.st-identified{color:#ffc46b}
.st-monitoring{color:#8ab4ff}.st-resolved{color:#8be0a4}}
.private{background:#2d1b69;color:#fff}
.notice,.error{padding:.6rem .9rem;border-radius:.4rem;margin:.75rem 0;font-weight:600}
.notice{background:var(--ok-bg);color:var(--ok-fg)}
.error{background:var(--err-bg);color:var(--err-fg);border-left:5px solid currentColor}
.quick{display:flex;gap:1rem;flex-wrap:wrap;margin:.25rem 0 .5rem}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));gap:.4rem 1.25rem;
margin:.75rem 0;padding:.75rem 1rem;background:var(--panel);border-radius:.5rem}
.facts div{min-width:0}.facts dt{font-size:.85rem;color:var(--muted)}
.facts dd{margin:0;font-weight:600;overflow-wrap:anywhere}
.facts .desc{display:block;font-weight:400;font-size:.9rem;color:var(--muted)}
.overdue{color:var(--err-fg);background:var(--err-bg);padding:0 .3rem;border-radius:.25rem}
.cols{display:grid;grid-template-columns:minmax(0,1fr) 22rem;gap:2rem;align-items:start}
@media (max-width:62rem){.cols{grid-template-columns:minmax(0,1fr)}}
aside h2{margin-top:1rem}
form.card h2{margin-top:0}
form.card,section.card{background:var(--panel);border:1px solid var(--line);border-radius:.5rem;
padding:.75rem 1rem;margin:0 0 1rem}
form.card.has-error{border:2px solid var(--err-fg)}
fieldset{border:0;padding:0;margin:0 0 .5rem}
legend{font-weight:700;padding:0;margin-bottom:.35rem}
label{display:block;font-weight:600;margin:.5rem 0 .2rem}
label.inline{display:flex;gap:.5rem;align-items:center;font-weight:400;margin:.25rem 0}
.hint{font-size:.9rem;color:var(--muted);margin:.1rem 0 .3rem}
input[type=text],input[type=password],input[type=date],select,textarea{width:100%;font:inherit;
padding:.4rem .5rem;border:2px solid var(--line);border-radius:.35rem;background:var(--bg);
color:var(--fg)}
input[type=radio],input[type=checkbox]{width:1.15rem;height:1.15rem;margin:0}
textarea{min-height:5.5rem;resize:vertical}
button{font:inherit;font-weight:700;padding:.45rem 1rem;border-radius:.35rem;cursor:pointer;
border:2px solid #0b4fc4;background:#0b4fc4;color:#fff;margin-top:.6rem}
button.secondary{background:var(--bg);color:var(--link);border-color:var(--link)}
button.small{padding:.15rem .6rem;margin:0;font-size:.9rem}
button.link{background:none;border:0;color:var(--link);text-decoration:underline;padding:0;
margin:0;font-weight:600}
table{border-collapse:collapse;width:100%;margin:.25rem 0 1rem}
th,td{text-align:left;vertical-align:top;padding:.4rem .5rem;border-bottom:1px solid var(--line)}
th{font-size:.9rem;color:var(--muted);font-weight:700}
td{overflow-wrap:anywhere}td.when{white-space:nowrap;font-variant-numeric:tabular-nums}
@media (max-width:40rem){table,tbody,tr,td{display:block}tr{padding:.4rem 0;
border-bottom:1px solid var(--line)}td{border:0;padding:.1rem 0}td.when{white-space:normal}
thead{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}
td[data-label]::before{content:attr(data-label) ": ";font-weight:600;color:var(--muted)}}
td.title{overflow-wrap:anywhere}
.local{display:block;font-size:.85rem;font-weight:400;color:var(--muted)}
.filters{display:flex;gap:1rem;flex-wrap:wrap;align-items:flex-end;margin:.5rem 0 1rem}
.filters label{margin:0 0 .2rem}.filters select{width:auto;min-width:10rem}
.filters button{margin:0}
.updates{list-style:none;padding:0;margin:0}
.updates li{border-left:4px solid var(--line);padding:.25rem 0 .25rem .8rem;margin:0 0 .9rem}
.items{list-style:none;padding:0;margin:0}
.items li{display:flex;gap:.75rem;align-items:flex-start;padding:.4rem 0;
border-bottom:1px solid var(--line)}
.items li .text{flex:1;min-width:0;overflow-wrap:anywhere}.items li.done .text{color:var(--muted)}
.items form{margin:0}
.exports{display:flex;gap:1rem;flex-wrap:wrap}
.narrow{max-width:28rem}
.picture{margin:0 0 1rem}.scroll-x{overflow-x:auto}
.picture svg{display:block;width:100%;min-width:40rem;height:auto}.card>h2{margin-top:0}
.pm summary{cursor:pointer;font-weight:700;color:var(--link);margin:.5rem 0}
.pm-buttons{display:flex;gap:.75rem;flex-wrap:wrap}.md{overflow-wrap:anywhere}
.pm-preview,.conflict{border:2px dashed var(--line);border-radius:.4rem;padding:.5rem .8rem;
margin:.75rem 0}.conflict{border:2px solid var(--err-fg);background:var(--err-bg)}
.filters>div{min-width:0;max-width:100%}.filters select{max-width:100%}
.chart-card figure{margin:0}
svg.chart{display:block;width:100%;height:auto;max-width:48rem}
svg.chart text{font-size:12px;fill:var(--muted)}
@media (max-width:40rem){svg.chart text{font-size:18px}svg.chart .minor{display:none}}
.chart-card th[scope=row]{white-space:nowrap}
svg.chart .axis{stroke:var(--fg);stroke-width:1}
svg.chart .grid{stroke:var(--line);stroke-width:1}
svg.chart .line{fill:none;stroke-width:2.5}
svg.chart .s0{fill:#0b4fc4;stroke:#0b4fc4}svg.chart .s1{fill:#b45309;stroke:#b45309}
svg.chart .s2{fill:#15803d;stroke:#15803d}svg.chart .s3{fill:#a50e1e;stroke:#a50e1e}
svg.chart .s4{fill:#6d28d9;stroke:#6d28d9}svg.chart .s5{fill:#0e7490;stroke:#0e7490}
svg.chart .s6{fill:#6b4f00;stroke:#6b4f00}svg.chart .s7{fill:#4a4a4a;stroke:#4a4a4a}
svg.chart .line.s0,svg.chart .line.s1,svg.chart .line.s2,svg.chart .line.s3,svg.chart .line.s4,
svg.chart .line.s5,svg.chart .line.s6,svg.chart .line.s7{fill:none}
.legend{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;padding:0;margin:.25rem 0}
.swatch{display:inline-block;width:.9rem;height:.9rem;margin-right:.35rem;
vertical-align:-.1rem;border-radius:.15rem}
.swatch.s0{background:#0b4fc4}.swatch.s1{background:#b45309}.swatch.s2{background:#15803d}
.swatch.s3{background:#a50e1e}.swatch.s4{background:#6d28d9}.swatch.s5{background:#0e7490}
.swatch.s6{background:#6b4f00}.swatch.s7{background:#4a4a4a}
@media (prefers-color-scheme:dark){svg.chart .s0{fill:#8ab4ff;stroke:#8ab4ff}
svg.chart .s3{fill:#ff9b9b;stroke:#ff9b9b}.swatch.s0{background:#8ab4ff}
.swatch.s3{background:#ff9b9b}}
.scroll{overflow-x:auto;max-width:100%}
caption{text-align:left;font-weight:700;padding:.25rem 0}
details summary{cursor:pointer;font-weight:600;margin:.25rem 0}
@page{margin:1.5cm}
@media print{.top,.skip,aside,form,.quick,.notice,.no-print{display:none!important}
body{font-size:11pt;color:#000;background:#fff}main{max-width:none;padding:0}
.cols{display:block}.facts{background:none;border:1px solid #999}
a{color:#000}h2{break-after:avoid}tr,li{break-inside:avoid}
.sev,.private{border:1px solid #000;color:#000!important;background:none!important}
.status{color:#000!important}.local{display:none}}
"""

JS = """\
// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  var fmt;
  try {
    fmt = new Intl.DateTimeFormat(undefined, {year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", timeZoneName: "short"});
  } catch (e) { return; }
  document.querySelectorAll("time[data-local]").forEach(function (el) {
    var at = new Date(el.getAttribute("datetime"));
    if (isNaN(at)) { return; }
    var local = document.createElement("span");
    local.className = "local";
    local.textContent = fmt.format(at) + " (your time)";
    el.after(local);
  });
  // Postmortem editor: Preview renders in place (the server renders; without this the
  // button posts the form and the page comes back with the preview).
  document.querySelectorAll("form[data-preview]").forEach(function (form) {
    var out = document.getElementById(form.dataset.preview);
    var button = form.querySelector("button[value=preview]");
    if (!out || !button || !window.fetch) { return; }
    button.addEventListener("click", function (ev) {
      ev.preventDefault();
      fetch(form.dataset.previewUrl, {method: "POST", credentials: "same-origin",
        body: new URLSearchParams(new FormData(form))})
        .then(function (r) { if (!r.ok) { throw r; } return r.text(); })
        .then(function (html) {
          out.innerHTML = "<h3>Preview</h3>" + html; out.hidden = false;
        })
        .catch(function () { out.textContent = "Preview failed; try Save or reload."; });
    });
  });
  // A double-clicked "Post update" must not post the update twice.
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (form.dataset.sent) { ev.preventDefault(); return; }
      form.dataset.sent = "1";
    });
  });
})();
"""

CSS_VERSION = hashlib.sha256(CSS.encode()).hexdigest()[:10]
JS_VERSION = hashlib.sha256(JS.encode()).hexdigest()[:10]
