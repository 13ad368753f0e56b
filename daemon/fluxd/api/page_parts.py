"""The HTML of the status page, piece by piece; every value passes ``_e`` (escape)."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence

from fluxd.views import CommitView, StatusView, SyncResult, WorkloadView

__all__ = ["login_page", "status_page"]

_DOCS = "/api/flux/docs"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "unknown"
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    iso = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f'<time datetime="{iso}">{moment.strftime("%Y-%m-%d %H:%M:%S UTC")}</time>'


def _document(title: str, body: str, *, refresh: int = 0) -> str:
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"{meta}\n<title>{_e(title)}</title>\n"
        '<link rel="stylesheet" href="/status.css">\n</head>\n'
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _table(caption: str, head: Sequence[str], rows: Iterable[Sequence[str]], css: str = "") -> str:
    """A table; ``rows`` hold HTML already escaped."""
    cells = "".join(f'<th scope="col">{_e(h)}</th>' for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>\n" for row in rows)
    klass = f' class="{css}"' if css else ""
    return (
        f"<table{klass}><caption>{_e(caption)}</caption>\n"
        f"<thead><tr>{cells}</tr></thead>\n<tbody>\n{body}</tbody></table>"
    )


def _facts(pairs: Iterable[tuple[str, str]]) -> str:
    """A description list; values are HTML already escaped."""
    items = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>\n" for k, v in pairs)
    return f"<dl>\n{items}</dl>"


def _section(ident: str, title: str, content: str) -> str:
    return (
        f'<section aria-labelledby="{ident}">\n<h2 id="{ident}">{_e(title)}</h2>\n'
        f"{content}\n</section>"
    )


def _verdict(view: StatusView) -> tuple[str, str]:
    """The one-line summary, and its class (ok, warn, bad)."""
    if view.git_status != "ready":
        return f"Git repository not ready ({view.git_status})", "bad"
    if not view.passes:
        return "Waiting for the first sync", "warn"
    last = view.passes[0]
    if last.failures:
        return f"Last sync of {last.revision[:7]}: {len(last.failures)} failed", "bad"
    if last.gc_hold is not None:
        return f"Synced {last.revision[:7]}; deletions held back", "warn"
    return f"In sync with {last.revision[:7]}", "ok"


def status_page(view: StatusView, *, refresh: int) -> str:
    verdict, mood = _verdict(view)
    body = (
        f'<header>\n<h1>fluxd status</h1>\n<p class="verdict {mood}" role="status">'
        f"{_e(verdict)}</p>\n</header>\n<main>\n"
        + "\n".join(
            (
                _section("git", "Git repository", _git(view)),
                _section("last-sync", "Last synced revision", _commit(view.last_synced)),
                _section("passes", "Recent sync passes", _passes(view.passes)),
                _section("guard", "Garbage collection and deletion guard", _guard(view)),
                _section("workloads", "Workloads", _workloads(view)),
            )
        )
        + "\n</main>\n"
        + _footer(view, refresh)
    )
    return _document(f"fluxd: {verdict}", body, refresh=refresh)


def _footer(view: StatusView, refresh: int) -> str:
    now = dt.datetime.now(dt.UTC).timestamp()
    return (
        '<footer>\n<nav aria-label="More">\n<ul>\n'
        '<li><a href="/metrics">Prometheus metrics</a></li>\n'
        f'<li><a href="{_DOCS}">API documentation</a></li>\n</ul>\n</nav>\n'
        f"<p>fluxd {_e(view.version)}. Page made {_when(now)}; "
        f"it reloads every {refresh} seconds.</p>\n</footer>"
    )


def _git(view: StatusView) -> str:
    state_class = "ok" if view.git_status == "ready" else "bad"
    pairs = [
        ("Repository", f"<code>{_e(view.remote.url or '(none)')}</code>"),
        ("Branch", f"<code>{_e(view.remote.branch)}</code>"),
        ("Paths", _e(", ".join(view.remote.paths) or "(the whole repository)")),
        ("State", f'<span class="badge {state_class}">{_e(view.git_status)}</span>'),
    ]
    if view.git_error:
        pairs.append(("Error", f'<span class="error">{_e(view.git_error)}</span>'))
    if view.git_help:
        pairs.append(("What to do", _e(view.git_help)))
    return _facts(pairs)


def _commit(commit: CommitView | None) -> str:
    if commit is None:
        return "<p>No sync pass has run yet.</p>"
    return _facts(
        [
            ("Revision", f"<code>{_e(commit.revision)}</code>"),
            ("Author", _e(commit.author or "unknown")),
            ("Committed", _when(commit.time)),
            ("Subject", _e(commit.subject or "")),
        ]
    )


def _passes(passes: Sequence[SyncResult]) -> str:
    if not passes:
        return "<p>No sync pass has run yet.</p>"
    head = ["Revision", "Finished", "Applied", "Unchanged", "Drifted", "Deleted", "Failed", "Took"]
    rows = [
        [
            f"<code>{_e(p.revision[:7])}</code>",
            _when(p.started_at + p.duration),
            _e(p.applied),
            _e(p.unchanged),
            _e(p.drifted),
            _e(len(p.deleted)),
            f'<span class="{"bad" if p.failures else "ok"}">{len(p.failures)}</span>',
            _e(f"{p.duration:.2f} s"),
        ]
        for p in passes
    ]
    table = _table("The last pass of each recent revision, newest first", head, rows)
    return table + _failures(passes[0])


def _failures(last: SyncResult) -> str:
    if not last.failures:
        return f"<p>Every object of {_e(last.revision[:7])} applied.</p>"
    rows = [
        [
            f"<code>{_e(f.source or '-')}</code>",
            _e(f.line if f.line is not None else "-"),
            _e(f.id or "(file)"),
            f'<span class="error">{_e(f.error)}</span>',
        ]
        for f in last.failures
    ]
    heading = f'<h3 id="failures">Failures of {_e(last.revision[:7])}</h3>\n'
    caption = "What failed in the last pass: file, line, object, cause"
    return heading + _table(caption, ["File", "Line", "Object", "Cause"], rows, "failures")


def _guard(view: StatusView) -> str:
    mode = "off"
    if view.garbage_collection:
        mode = "dry run (logs only)" if view.garbage_collection_dry else "on"
    pairs = [("Garbage collection", _e(mode))]
    last = view.passes[0] if view.passes else None
    hold = last.gc_hold if last is not None else None
    if hold is None:
        pairs.append(("Deletion guard", '<span class="badge ok">nothing held back</span>'))
    else:
        held = "".join(f"<li><code>{_e(i)}</code></li>" for i in hold.deletions)
        pairs += [
            ("Deletion guard", f'<span class="badge warn">holding {len(hold.deletions)}</span>'),
            ("Why", _e(hold.reason)),
            ("Held deletions", f"<ul>{held}</ul>"),
            ("What to do", _e(hold.help)),
        ]
    if last is not None and last.gc_skipped:
        pairs.append(("Skipped last pass", _e(last.gc_skipped)))
    return _facts(pairs)


def _workloads(view: StatusView) -> str:
    if view.workloads_error:
        return f'<p class="error">The workloads could not be listed: {_e(view.workloads_error)}</p>'
    if not view.workloads:
        return "<p>No workloads in the namespaces fluxd may see.</p>"
    head = ["Workload", "Status", "Rollout", "Images", "Sync error"]
    return _table("Workloads and their rollout", head, (_workload(w) for w in view.workloads))


def _workload(w: WorkloadView) -> list[str]:
    r = w.rollout
    mood = {"ready": "ok", "updating": "warn", "error": "bad"}.get(w.status, "")
    rollout = f"{r.ready}/{r.desired} ready, {r.updated} up to date"
    if r.outdated:
        rollout += f", {r.outdated} outdated"
    images = "<br>".join(f"<code>{_e(c.image)}</code>" for c in w.containers)
    return [
        f"<code>{_e(w.id)}</code>",
        f'<span class="badge {mood}">{_e(w.status or "unknown")}</span>',
        _e(rollout) + "".join(f"<br>{_e(m)}" for m in r.messages),
        images,
        f'<span class="error">{_e(w.sync_error)}</span>' if w.sync_error else "",
    ]


def login_page(problem: str) -> str:
    note = f'<p class="error" role="alert">{_e(problem)}</p>\n' if problem else ""
    body = (
        "<header><h1>fluxd status</h1></header>\n<main>\n"
        '<section aria-labelledby="login"><h2 id="login">API token needed</h2>\n'
        "<p>fluxd was started with <code>--api-token</code>. Enter it to see the status.</p>\n"
        f'{note}<form method="post" action="/login">\n'
        '<label for="token">API token</label>\n'
        '<input id="token" name="token" type="password" autocomplete="current-password" required>\n'
        '<button type="submit">Show the status</button>\n</form>\n</section>\n</main>'
    )
    return _document("fluxd: API token needed", body)
