"""
### External resources from course markdown

ocw-studio's `markdown_cleanup` conversion over course sites on disk, in the layout ocw-studio publishes (one
checkout per course: `data/course.json`, `content/pages`, `content/resources`, `content/external-resources`,
`config/_default/menus.yaml`). The rule `link_to_external_resource` turns markdown links `[text](url)` (inline,
reference-style, autolinks) into `{{% resource_link "<uuid>" "text" %}}` in page bodies, in the front matter fields
`description`, `optional_text`, `related_resources_text`, `image_metadata.caption` and `image_metadata.credit`, and
in `course_description` of `data/course.json` (only the changed values are rewritten);
`nav_item_to_external_resource` turns external navigation menu items into resource references. Each URL of a course
becomes one external resource of that course in the archive DB (as in ocw-studio: the same URL in two courses is two
resources; a UUID derived from course and URL, filename from the title and UUID, license-warning flag) or reuses the
course's existing one; every referencing page or menu is recorded. The external-resource pages a course already has
(made in ocw-studio) are its resources: they are loaded into the archive DB and reused. New resources get their page
as ocw-studio writes it (`title`, `external_url`, `license`, `has_external_license_warning`, `status`, `wayback_url`).
Internal links, images and anything in code, comments or shortcodes are left alone. Only course sites
(folders with `data/course.json`) are touched; the others are skipped and reported. A course that is a git checkout
gets one commit for the files the run wrote.

**Schedule**: none; trigger manually with the Params form. One run at a time.

**Connections**: `ocw_archive_db` (archive state DB).

**Variables** (read at run time; defaults and bounds: the README's Variables table, Admin → Variables):
`OCW_SITES_DIR` (sites folder on the workers, used when the `sites_dir` Param is empty), `OCW_SITEMAP_DOMAIN` (host
without license warning), `OCW_DATA_DIR` (where reports are kept), `OCW_SITES_GIT_AUTHOR` (author of the commits in
course checkouts), `OCW_SITES_GIT_PUSH_REMOTE` (push them to this remote of each checkout; empty: no push).

**Report**: every run writes one CSV row per link or menu item considered, to `out_csv` or else to
`<OCW_DATA_DIR>/reports/external_resource_import/<run id>.csv`; the task log gives the counts and the path.
Triggering with the form's defaults is a dry run: it only writes that report.

**Params**: `rules` (one or both rule names); `commit` (default off: dry run); `out_csv` (report path on the
worker instead of the default); `published_only`; `add_external_license_warning` /
`no_external_license_warning` (mutually exclusive); `sites_dir`; `site_names` (empty: all sites).

**Tasks**: `import_external_resources`, then `announce_new_resources` (teardown: runs even if the import failed
part-way) which emits the Asset `ocw://external-resources/created` with `extra={"resource_ids": [...]}` for the
resources this run created; the `wayback_submit` DAG is scheduled on it. Reruns are safe: existing resources are
reused and already converted pages have nothing left to convert.
"""

import datetime as dt

from airflow.sdk import DAG, Param

from ocw_operators.dag_defaults import START_DATE, task_defaults
from ocw_operators.external_resources.options import Rule
from ocw_operators.operators.external_resource_import import (
    ExternalResourceImportOperator,
    ExternalResourcesAnnounceOperator,
)

RULES = [rule.value for rule in Rule]
RULE_NAMES = {
    Rule.LINK_TO_EXTERNAL_RESOURCE.value: "Markdown links in pages",
    Rule.NAV_ITEM_TO_EXTERNAL_RESOURCE.value: "External items in navigation menus",
}

with DAG(
    dag_id="external_resource_import",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,  # two runs would rewrite the same pages
    doc_md=__doc__,
    tags=["ocw", "external-resources", "manual"],
    default_args=task_defaults(retries=2, execution_timeout=dt.timedelta(hours=2)),
    render_template_as_native_obj=True,
    params={
        "rules": Param(
            RULES,
            type="array",
            items={"type": "string", "enum": RULES},
            minItems=1,
            examples=RULES,
            values_display=RULE_NAMES,
            title="What to convert",
            description="Markdown links in pages, external items in navigation menus, or both.",
        ),
        "commit": Param(
            False,
            type=["null", "boolean"],
            title="Commit: save the resources and rewrite the pages",
            description="On: create the external resources in the archive DB and rewrite the site files. "
            "Off (default): a dry run that changes nothing and only writes the report.",
        ),
        "out_csv": Param(
            None,
            type=["null", "string"],
            title="Report file",
            description="Absolute path on the worker for the CSV report (one row per link or menu item). Empty: "
            "<OCW_DATA_DIR>/reports/external_resource_import/<run id>.csv; the task log names it.",
        ),
        "published_only": Param(
            False,
            type=["null", "boolean"],
            title="Only published sites",
            description="On: only the sites named in published.txt in the sites folder (one folder name or short "
            "id per line). Off (default): every course site.",
        ),
        "add_external_license_warning": Param(
            False,
            type=["null", "boolean"],
            title="License warning on every new resource",
            description="On: every new resource carries the external-license warning, whatever its domain. "
            "Off (default): every one except links to OCW_SITEMAP_DOMAIN. Not together with the next option.",
        ),
        "no_external_license_warning": Param(
            False,
            type=["null", "boolean"],
            title="No license warning on any new resource",
            description="On: no new resource carries the external-license warning. Off (default): as the option "
            "above says. Not together with it.",
        ),
        "sites_dir": Param(
            None,
            type=["null", "string"],
            title="Sites folder",
            description="Absolute folder on the worker with one course checkout per folder. Empty: the "
            "OCW_SITES_DIR Variable.",
        ),
        "site_names": Param(
            [],
            type=["null", "array"],
            items={"type": "string"},
            title="Sites",
            description="One site folder name per line, e.g. 18.06-spring-2010. Empty: every site in the folder.",
        ),
    },
):
    import_resources = ExternalResourceImportOperator(
        task_id="import_external_resources",
        sites_dir="{{ params.sites_dir }}",
        rules="{{ params.rules }}",
        commit="{{ params.commit }}",
        out_csv="{{ params.out_csv }}",
        published_only="{{ params.published_only }}",
        add_external_license_warning="{{ params.add_external_license_warning }}",
        no_external_license_warning="{{ params.no_external_license_warning }}",
        site_names="{{ params.site_names }}",
        pool="site_files",  # one writer of the course sites at a time
    )
    announce = ExternalResourcesAnnounceOperator(
        task_id="announce_new_resources", execution_timeout=dt.timedelta(minutes=10)
    ).as_teardown()

    import_resources >> announce
