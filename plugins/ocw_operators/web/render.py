"""HTML of the Archive pages: one layout (Airflow's look, light and dark), tables, filters, pager, a trend chart.

Everything that comes from the database goes through :func:`esc`; links are built here, so a page module only
says what to show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from html import escape
from urllib.parse import quote, urlencode, urlsplit

from ocw_operators.web.tables import Column, Page, Row, Table, plain

NAV = (
    ("links", "Link health"),
    ("retirements", "Retirements"),
    ("oai", "OAI-PMH"),
    ("tivoli", "Tivoli"),
)

# Colours of Airflow 3's UI (Chakra): the same neutral greys, blue links and state colours in both schemes.
CSS = """
:root { color-scheme: light dark; --bg:#ffffff; --fg:#1a202c; --muted:#4a5568; --line:#e2e8f0; --head:#f7fafc;
  --link:#2b6cb0; --ok:#2f855a; --bad:#c53030; --warn:#b7791f; --info:#2b6cb0; --chip:#edf2f7; }
@media (prefers-color-scheme: dark) { :root { --bg:#1a202c; --fg:#e2e8f0; --muted:#a0aec0; --line:#2d3748;
  --head:#171923; --link:#63b3ed; --ok:#68d391; --bad:#fc8181; --warn:#f6e05e; --info:#90cdf4; --chip:#2d3748; } }
* { box-sizing: border-box; }
body { margin:0; padding:16px 24px; background:var(--bg); color:var(--fg);
  font:14px/1.45 Inter, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
a { color:var(--link); text-decoration:none; } a:hover { text-decoration:underline; }
nav.tabs { display:flex; gap:4px; border-bottom:1px solid var(--line); margin-bottom:16px; flex-wrap:wrap; }
nav.tabs a { padding:8px 12px; border-bottom:2px solid transparent; color:var(--muted); font-weight:500; }
nav.tabs a.active { color:var(--fg); border-bottom-color:var(--link); }
h1 { font-size:20px; margin:0 0 12px; font-weight:600; } h2 { font-size:16px; margin:24px 0 8px; font-weight:600; }
p.note { color:var(--muted); margin:4px 0 8px; }
table { border-collapse:collapse; width:100%; margin:4px 0; font-size:13px; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:var(--head); font-weight:600; white-space:nowrap; position:sticky; top:0; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
td.url { word-break:break-all; max-width:40em; } td.when { white-space:nowrap; } td.wide { min-width:18em; }
td .path { word-break:break-all; font-size:12px; } code { font-size:12px; }
.badge { display:inline-block; padding:0 8px; border-radius:9999px; font-size:12px; font-weight:600;
  background:var(--chip); white-space:nowrap; }
.s-valid,.s-success,.s-complete,.s-archived,.s-done,.s-retrieved,.s-succeeded,.s-archived_to_tivoli { color:var(--ok); }
.s-broken,.s-error,.s-failed,.s-withdrawn,.s-expunged,.s-missing,.s-partial { color:var(--bad); }
.s-check_failed,.s-pending,.s-running,.s-depositing,.s-held,.s-unchecked { color:var(--warn); }
form.filters { display:flex; gap:8px; align-items:end; flex-wrap:wrap; margin:8px 0; }
form.filters label { display:flex; flex-direction:column; font-size:12px; color:var(--muted); gap:2px; }
input, select, button { font:inherit; padding:4px 8px; border:1px solid var(--line); border-radius:6px;
  background:var(--bg); color:var(--fg); }
button { cursor:pointer; background:var(--chip); font-weight:500; }
.bar { display:flex; justify-content:space-between; align-items:center; gap:8px; margin:4px 0; flex-wrap:wrap; }
.pager a, .pager span { margin-left:8px; } .muted { color:var(--muted); }
.cards { display:flex; gap:12px; flex-wrap:wrap; margin:8px 0; }
.card { border:1px solid var(--line); border-radius:8px; padding:8px 12px; min-width:9em; }
.card b { display:block; font-size:20px; }
svg.trend { width:100%; max-width:720px; height:160px; }
svg.trend .line { stroke:var(--bad); fill:none; stroke-width:2; }
svg.trend text { fill:var(--muted); font-size:11px; } svg.trend .axis { stroke:var(--line); }
svg.trend circle { fill:var(--bad); }
"""


def esc(value: object) -> str:
    return escape(plain(value), quote=True)


def link(href: str, text: object, *, external: bool = False, top: bool = False) -> str:
    """``external`` opens another site in a new tab; ``top`` replaces the Airflow UI page this one is embedded in."""
    if external and urlsplit(href.strip()).scheme.lower() not in ("http", "https"):
        return esc(text)  # a javascript: or data: URL stored in the archive never becomes a link
    target = ' target="_blank" rel="noopener noreferrer"' if external else (' target="_top"' if top else "")
    return f'<a href="{escape(href, quote=True)}"{target}>{esc(text)}</a>'


def badge(status: object) -> str:
    text = plain(status) or "none"
    return f'<span class="badge s-{escape(text, quote=True)}">{escape(text.replace("_", " "))}</span>'


def page(base: str, title: str, active: str, body: str) -> str:
    tabs = "".join(
        f'<a href="{base}/{key}" class="{"active" if key == active else ""}">{label}</a>' for key, label in NAV
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Archive</title><style>{CSS}</style></head>"
        f'<body><nav class="tabs">{tabs}</nav><h1>{escape(title)}</h1>{body}</body></html>'
    )


def airflow_run_link(ui_base: str, dag_id: str, run_id: str, text: str | None = None) -> str:
    if not run_id:
        return ""
    return link(f"{ui_base}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}", text or run_id, top=True)


def archive_run_link(base: str, dag_id: str, run_id: str, text: str | None = None) -> str:
    if not run_id:
        return ""
    return link(f"{base}/runs/{quote(dag_id, safe='')}/{quote(run_id, safe='')}", text or run_id)


def query_string(params: Mapping[str, str], **changes: str | None) -> str:
    merged = {key: value for key, value in params.items() if value}
    for name, value in changes.items():
        key = name.replace("__", ".")
        if value:
            merged[key] = value
        else:
            merged.pop(key, None)
    return "?" + urlencode(merged) if merged else "?"


def filter_form(
    params: Mapping[str, str], fields: Sequence[tuple[str, str, Sequence[str] | None]], keep: Sequence[str] = ()
) -> str:
    """A GET form: ``(name, label, choices)``; no choices means a text box."""
    parts = []
    for name, label, choices in fields:
        current = params.get(name, "")
        if choices is None:
            control = f'<input name="{name}" value="{esc(current)}" size="18">'
        else:
            options = "".join(
                f'<option value="{esc(choice)}"{" selected" if choice == current else ""}>'
                f"{esc(choice or 'all')}</option>"
                for choice in ("", *choices)
            )
            control = f'<select name="{name}">{options}</select>'
        parts.append(f"<label>{escape(label)}{control}</label>")
    hidden = "".join(f'<input type="hidden" name="{k}" value="{esc(params[k])}">' for k in keep if params.get(k))
    return f'<form class="filters" method="get">{"".join(parts)}{hidden}<button type="submit">Filter</button></form>'


def table_html(table: Table, result: Page, params: Mapping[str, str]) -> str:
    name = table.name
    columns = [column for column in table.columns if not column.csv_only]
    head = []
    for column in columns:
        cls = ' class="num"' if column.numeric else ""
        if column.sort is None:
            head.append(f"<th{cls}>{escape(column.label)}</th>")
            continue
        is_current = column.key == result.sort
        next_sort = column.key if is_current and result.descending else f"-{column.key}"
        if not is_current:
            next_sort = f"-{column.key}" if column.numeric else column.key
        arrow = (" ▼" if result.descending else " ▲") if is_current else ""
        href = query_string(params, **{f"{name}__sort": next_sort, f"{name}__page": None})
        head.append(f'<th{cls}><a href="{escape(href, quote=True)}">{escape(column.label)}{arrow}</a></th>')
    body = []
    for row in result.rows:
        cells = []
        for column in columns:
            value = row.get(column.key)
            css = column.css or (
                "num"
                if column.numeric
                else "url"
                if column.key.endswith("url")
                else "when"
                if isinstance(value, dt.datetime)
                else ""
            )
            cls = f' class="{css}"' if css else ""
            cells.append(f"<td{cls}>{column.html(row) if column.html else esc(row.get(column.key))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(columns)}" class="muted">{escape(table.empty)}</td></tr>')
    start = result.number * table.page_size
    shown = f"rows {start + 1} to {start + len(result.rows)}" if result.rows else "no rows"
    pager = [f'<span class="muted">{shown}</span>']
    if result.number > 0:
        prev = query_string(params, **{f"{name}__page": str(result.number - 1) if result.number > 1 else None})
        pager.append(f'<a href="{escape(prev, quote=True)}">← previous</a>')
    if result.has_next:
        nxt = query_string(params, **{f"{name}__page": str(result.number + 1)})
        pager.append(f'<a href="{escape(nxt, quote=True)}" rel="next">next →</a>')
    csv_href = query_string(params, format="csv", table=name, **{f"{name}__page": None})
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return (
        f'<section id="{name}"><h2>{escape(table.title)}</h2>{note}'
        f'<div class="bar"><a href="{escape(csv_href, quote=True)}" download>Download CSV</a>'
        f'<span class="pager">{"".join(pager)}</span></div>'
        f"<table><thead><tr>{''.join(head)}</tr></thead><tbody>{''.join(body)}</tbody></table></section>"
    )


def cards(items: Sequence[tuple[str, object]]) -> str:
    return (
        '<div class="cards">' + "".join(f'<div class="card"><b>{esc(v)}</b>{esc(k)}</div>' for k, v in items) + "</div>"
    )


def trend_svg(points: Sequence[tuple[str, int]], title: str) -> str:
    """A small line chart of ``(label, value)`` points, oldest first (no script)."""
    if not points:
        return '<p class="muted">No link-check run recorded yet.</p>'
    width, height, left, bottom, top = 720, 160, 40, 24, 12
    peak = max(value for _, value in points) or 1
    step = (width - left - 10) / max(len(points) - 1, 1)

    def xy(index: int, value: int) -> tuple[float, float]:
        return left + index * step, top + (height - top - bottom) * (1 - value / peak)

    coords = [xy(index, value) for index, (_, value) in enumerate(points)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{esc(label)}: {value}</title></circle>'
        for (x, y), (label, value) in zip(coords, points, strict=True)
    )
    first, last = points[0][0], points[-1][0]
    return (
        f'<svg class="trend" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title, quote=True)}">'
        f'<line class="axis" x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}"/>'
        f'<text x="0" y="{top + 4}">{peak}</text><text x="0" y="{height - bottom}">0</text>'
        f'<polyline class="line" points="{path}"/>{dots}'
        f'<text x="{left}" y="{height - 6}">{esc(first)}</text>'
        f'<text x="{width - 4}" y="{height - 6}" text-anchor="end">{esc(last)}</text></svg>'
    )


def cell_link(href_of, text_key: str):
    """A column renderer linking the cell's text to ``href_of(row)`` (no link when it returns "")."""

    def render(row: Row) -> str:
        href = href_of(row)
        return link(href, row.get(text_key)) if href else esc(row.get(text_key))

    return render


def status_cell(key: str):
    def render(row: Row) -> str:
        return badge(row.get(key))

    return render


def columns_csv(columns: Sequence[Column]) -> list[str]:
    return [column.label for column in columns]
