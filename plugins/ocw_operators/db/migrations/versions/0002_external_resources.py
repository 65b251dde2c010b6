"""external_resources: one resource per (site, URL), as in ocw-studio; content UUIDs unique within a site

Revision ID: resources_0002
Revises: resources_0001
Create Date: 2026-12-01

Before this revision the CSV/JSON import keyed resources by ``uuid5(site + url)`` and the markdown import by
``uuid5(url)``, reusing the oldest row with the URL whatever its site, and ``url`` was not unique. So a database
may hold (a) several rows for one (site, URL), from both importers, and (b) one row that pages of several sites
reference (``external_resource_reference.site_name`` differs from the resource's ``site_name``).

Upgrade, for every URL involved, makes one row per site that has the URL or references it:

* The row keeps the ``content_uuid`` that this site's pages reference (their ``resource_link`` shortcodes, menu
  identifiers and ``content/external-resources`` page carry it, and a migration cannot rewrite site files), with
  that row's title, license flag and file name, which is what the site's resource page says. A site without
  references keeps its oldest row's. A row shared by several sites is thereby split, each site's copy keeping the
  shared UUID: UUIDs are unique within a site, as ocw-studio's ``text_id`` is unique per website, so every course's
  pages still resolve to that course's own resource.
* History is merged over the rows the site had or referenced: the most recent link check; the best Wayback state
  (success over pending over error), with its job id, submission time, status and capture URL; the latest
  successful submission; the earliest ``created_on``. ``site_short_id`` comes from the site's own rows, else from
  any other row of the site, else it is the site name (as the importer does when ``short_id`` is missing).
* The row id of the site's own row is kept (its oldest, or the one its pages reference); a site that only
  referenced another site's row gets a new row. References are re-pointed to the site's row (two references of one
  file become one) and the site's other rows are deleted; nothing else references ``external_resource``. Ids in
  Airflow state (asset event extras, XComs of a run in flight) that named a deleted duplicate are no longer found
  and are skipped the way a deleted resource is.

Then ``url_sha256`` (SHA-256 of the URL: a 4,096-character URL does not fit a PostgreSQL btree entry) and the
unique constraints (site_name, url_sha256) and (site_name, content_uuid) replace the unique ``content_uuid``.

Downgrade restores the old schema: rows sharing a ``content_uuid`` (the per-site copies) are folded back into the
oldest one, as the markdown import used to share them (merged history as above, references re-pointed), and a row
of another URL that happened to share the UUID gets the old CSV rule's ``uuid5(site + url)``. Duplicates merged by
the upgrade stay merged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from alembic import op

revision: str = "resources_0002"
down_revision: str | None = "resources_0001"
branch_labels: str | Sequence[str] | None = None
# Not ``depends_on`` the resource_import branch (references, file name, creating run), although it uses them when
# they are there: that branch depends on this one's first revision, and Alembic cannot then downgrade this revision
# alone ("overlaps"). Without that branch there are no references and no markdown rows; the merge works on what is.
depends_on: str | Sequence[str] | None = None

CHUNK = 500
WAYBACK_RANK = {"success": 3, "pending": 2, "error": 1}
CHECK_COLUMNS = ("status", "external_url_response_code", "check_error", "last_checked")
WAYBACK_COLUMNS = (
    "wayback_job_id",
    "wayback_status",
    "wayback_status_ext",
    "wayback_url",
    "wayback_http_status",
    "wayback_submitted_at",
)
DESCRIPTIVE_COLUMNS = ("content_uuid", "title", "has_external_license_warning", "filename", "created_by_run")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# This revision's view of the tables (frozen here: later model changes must not change what it does).
tz = sa.DateTime(timezone=True)
resource = sa.table(
    "external_resource",
    sa.column("id", sa.Integer),
    sa.column("content_uuid", sa.String),
    sa.column("site_name", sa.String),
    sa.column("site_short_id", sa.String),
    sa.column("title", sa.Text),
    sa.column("url", sa.Text),
    sa.column("url_sha256", sa.String),
    sa.column("has_external_license_warning", sa.Boolean),
    sa.column("status", sa.String),
    sa.column("external_url_response_code", sa.Integer),
    sa.column("check_error", sa.String),
    sa.column("last_checked", tz),
    sa.column("wayback_job_id", sa.String),
    sa.column("wayback_status", sa.String),
    sa.column("wayback_status_ext", sa.String),
    sa.column("wayback_url", sa.String),
    sa.column("wayback_http_status", sa.Integer),
    sa.column("wayback_submitted_at", tz),
    sa.column("wayback_last_successful_submission", tz),
    sa.column("filename", sa.String),
    sa.column("created_by_run", sa.String),
    sa.column("created_on", tz),
    sa.column("updated_on", tz),
)
reference = sa.table(
    "external_resource_reference",
    sa.column("id", sa.Integer),
    sa.column("resource_id", sa.Integer),
    sa.column("site_name", sa.String),
    sa.column("source_path", sa.String),
)
Row = dict[str, Any]


class Schema(NamedTuple):
    """The columns of ``external_resource`` present now, and whether the reference table exists."""

    columns: tuple[str, ...]
    has_references: bool

    @classmethod
    def of(cls, bind: sa.Connection) -> Schema:
        inspector = sa.inspect(bind)
        present = {column["name"] for column in inspector.get_columns("external_resource")} | {"url_sha256"}
        return cls(
            columns=tuple(column.name for column in resource.columns if column.name in present),
            has_references="external_resource_reference" in inspector.get_table_names(),
        )


def upgrade() -> None:
    bind = op.get_bind()
    schema = Schema.of(bind)
    with op.batch_alter_table("external_resource") as batch:
        batch.add_column(sa.Column("url_sha256", sa.String(64), nullable=True))
        batch.drop_constraint("uq_external_resource_content_uuid", type_="unique")
    _fill_url_digests(bind)
    _merge_per_site_and_url(bind, schema)
    with op.batch_alter_table("external_resource") as batch:
        batch.alter_column("url_sha256", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint("uq_external_resource_site_url", ["site_name", "url_sha256"])
        batch.create_unique_constraint("uq_external_resource_site_content_uuid", ["site_name", "content_uuid"])


def downgrade() -> None:
    bind = op.get_bind()
    _fold_shared_uuids(bind, Schema.of(bind))
    with op.batch_alter_table("external_resource") as batch:
        batch.drop_constraint("uq_external_resource_site_content_uuid", type_="unique")
        batch.drop_constraint("uq_external_resource_site_url", type_="unique")
        batch.drop_column("url_sha256")
        batch.create_unique_constraint("uq_external_resource_content_uuid", ["content_uuid"])


# --- upgrade ------------------------------------------------------------------------------------------------


def _fill_url_digests(bind: sa.Connection) -> None:
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(resource.c.id, resource.c.url).where(resource.c.id > last_id).order_by(resource.c.id).limit(CHUNK)
        ).all()
        if not rows:
            return
        bind.execute(
            resource.update().where(resource.c.id == sa.bindparam("row_id")).values(url_sha256=sa.bindparam("digest")),
            [{"row_id": row.id, "digest": hashlib.sha256(row.url.encode("utf-8")).hexdigest()} for row in rows],
        )
        last_id = rows[-1].id


def _merge_per_site_and_url(bind: sa.Connection, schema: Schema) -> None:
    duplicated = sa.select(resource.c.url_sha256).group_by(resource.c.url_sha256).having(sa.func.count() > 1)
    digests = set(bind.execute(duplicated).scalars())
    if schema.has_references:
        shared = (
            sa.select(resource.c.url_sha256)
            .join(reference, reference.c.resource_id == resource.c.id)
            .where(reference.c.site_name != resource.c.site_name)
        )
        digests |= set(bind.execute(shared).scalars())
    digests = sorted(digests)
    if not digests:
        return
    short_ids = dict(
        bind.execute(
            sa.select(resource.c.site_name, sa.func.min(resource.c.site_short_id))
            .where(resource.c.site_short_id != "")
            .group_by(resource.c.site_name)
        ).all()
    )
    now = dt.datetime.now(dt.UTC)
    for group, references in _groups(bind, schema, "url_sha256", digests):
        _split_group(bind, group, references, short_ids, now)


def _groups(
    bind: sa.Connection, schema: Schema, key: str, values: Sequence[str]
) -> Iterator[tuple[list[Row], list[Row]]]:
    """The rows with each of ``values`` in column ``key`` (ordered by id), with the references to them."""
    for start in range(0, len(values), CHUNK):
        rows = _rows_where(bind, schema, resource.c[key], values[start : start + CHUNK])
        references = _references_of(bind, schema, [row["id"] for row in rows])
        groups: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            groups[row[key]].append(row)
        for group in groups.values():
            ids = {row["id"] for row in group}
            yield group, [ref for ref in references if ref["resource_id"] in ids]


def _rows_where(bind: sa.Connection, schema: Schema, column: sa.ColumnElement, values: Sequence[Any]) -> list[Row]:
    columns = [resource.c[name] for name in schema.columns]
    statement = sa.select(*columns).where(column.in_(list(values))).order_by(resource.c.id)
    return [dict(row._mapping) for row in bind.execute(statement)]


def _references_of(bind: sa.Connection, schema: Schema, resource_ids: Sequence[int]) -> list[Row]:
    found: list[Row] = []
    if not schema.has_references:
        return found
    for start in range(0, len(resource_ids), CHUNK):
        chunk = list(resource_ids[start : start + CHUNK])
        statement = sa.select(reference).where(reference.c.resource_id.in_(chunk)).order_by(reference.c.id)
        found.extend(dict(row._mapping) for row in bind.execute(statement))
    return found


def _split_group(
    bind: sa.Connection, rows: list[Row], references: list[Row], short_ids: dict[str, str], now: dt.datetime
) -> None:
    """All rows of one URL, and the references to them: one row per site, references re-pointed, the rest gone."""
    by_id = {row["id"]: row for row in rows}
    sites = sorted({row["site_name"] for row in rows} | {ref["site_name"] for ref in references})
    plans = []
    for site in sites:
        own = [row for row in rows if row["site_name"] == site]  # ordered by id
        referenced = Counter(ref["resource_id"] for ref in references if ref["site_name"] == site)
        # The row this site's pages name (most references, then the oldest), else the site's oldest row.
        primary = by_id[max(referenced, key=lambda row_id: (referenced[row_id], -row_id))] if referenced else own[0]
        survivor = primary if primary["site_name"] == site else (own[0] if own else None)
        members = own + [by_id[row_id] for row_id in sorted(referenced) if by_id[row_id]["site_name"] != site]
        values = _merged(primary, members)
        values["site_name"] = site
        values["site_short_id"] = next(
            (row["site_short_id"] for row in ([survivor] if survivor else []) + own if row["site_short_id"]),
            short_ids.get(site) or site,
        )
        values["updated_on"] = now
        losers = [row["id"] for row in own if survivor is None or row["id"] != survivor["id"]]
        plans.append((site, survivor, values, losers))
    # Every plan was computed from the rows as they were; now write.
    for site, survivor, values, losers in plans:
        if survivor is None:
            insert_values = {**values, "url": rows[0]["url"], "url_sha256": rows[0]["url_sha256"]}
            survivor_id = bind.execute(resource.insert().values(**insert_values).returning(resource.c.id)).scalar_one()
        else:
            survivor_id = survivor["id"]
            bind.execute(resource.update().where(resource.c.id == survivor_id).values(**values))
        _repoint(bind, [ref for ref in references if ref["site_name"] == site], survivor_id)
        if losers:
            bind.execute(resource.delete().where(resource.c.id.in_(losers)))


def _merged(primary: Row, members: Iterable[Row]) -> Row:
    """Descriptive columns of ``primary``; the newest check, the best Wayback state and the dates over ``members``."""
    members = list(members)
    values = {name: primary[name] for name in DESCRIPTIVE_COLUMNS if name in primary}
    checked = max(members, key=lambda row: (_moment(row["last_checked"]), row is primary, -row["id"]))
    values.update({name: checked[name] for name in CHECK_COLUMNS})
    wayback = max(
        members,
        key=lambda row: (
            WAYBACK_RANK.get(row["wayback_status"], 0),
            _moment(row["wayback_submitted_at"]),
            _moment(row["wayback_last_successful_submission"]),
            -row["id"],
        ),
    )
    values.update({name: wayback[name] for name in WAYBACK_COLUMNS})
    successes = [row["wayback_last_successful_submission"] for row in members]
    values["wayback_last_successful_submission"] = max(
        (moment for moment in successes if moment is not None), key=_moment, default=None
    )
    values["created_on"] = min((row["created_on"] for row in members), key=_moment)
    return values


def _moment(value: dt.datetime | None) -> dt.datetime:
    # SQLite hands back naive UTC values, PostgreSQL aware ones; compare them all as aware UTC.
    if value is None:
        return _EPOCH
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _repoint(bind: sa.Connection, references: list[Row], resource_id: int) -> None:
    """Point ``references`` (one site's) at ``resource_id``; of two references of one file only one stays."""
    kept: set[str] = set()
    doomed: list[int] = []
    moved: list[int] = []
    for ref in sorted(references, key=lambda ref: (ref["resource_id"] != resource_id, ref["id"])):
        if ref["source_path"] in kept:
            doomed.append(ref["id"])
            continue
        kept.add(ref["source_path"])
        if ref["resource_id"] != resource_id:
            moved.append(ref["id"])
    if doomed:
        bind.execute(reference.delete().where(reference.c.id.in_(doomed)))
    if moved:
        bind.execute(reference.update().where(reference.c.id.in_(moved)).values(resource_id=resource_id))


# --- downgrade ----------------------------------------------------------------------------------------------


def _fold_shared_uuids(bind: sa.Connection, schema: Schema) -> None:
    shared = sa.select(resource.c.content_uuid).group_by(resource.c.content_uuid).having(sa.func.count() > 1)
    for group, references in _groups(bind, schema, "content_uuid", sorted(bind.execute(shared).scalars())):
        keeper = group[0]
        copies = [row for row in group[1:] if row["url"] == keeper["url"]]
        for other in (row for row in group[1:] if row["url"] != keeper["url"]):
            fresh = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{other['site_name']}\n{other['url']}"))
            bind.execute(resource.update().where(resource.c.id == other["id"]).values(content_uuid=fresh))
        if not copies:
            continue
        values = _merged(keeper, [keeper, *copies])
        bind.execute(resource.update().where(resource.c.id == keeper["id"]).values(**values))
        ids = {keeper["id"]} | {row["id"] for row in copies}
        group_references = [ref for ref in references if ref["resource_id"] in ids]
        for site in sorted({ref["site_name"] for ref in group_references}):
            _repoint(bind, [ref for ref in group_references if ref["site_name"] == site], keeper["id"])
        bind.execute(resource.delete().where(resource.c.id.in_([row["id"] for row in copies])))
