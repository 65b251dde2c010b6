"""A small archive: a few sites' links (one broken, referenced and captured), retirements (one flagged), a harvest,
Tivoli volumes with a load batch, a held volume and a retrieval; each row names the Airflow run that wrote it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import (
    CourseRetirement,
    ExternalResource,
    ExternalResourceReference,
    LinkCheckRun,
    OaiHarvestedItem,
    OaiHarvestRun,
    OaiHarvestState,
    TivoliFileLog,
    TivoliHeldVolume,
    TivoliLoadBatch,
    TivoliRetrieval,
    TivoliVolumeStatus,
)

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
CHECK_RUN = "scheduled__2026-11-29T00:00:00+00:00"
RETIRE_RUN = "manual__2026-11-28T10:00:00+00:00"
HARVEST_RUN = "scheduled__2026-11-30T06:00:00+00:00"
PREP_RUN = "scheduled__2026-11-30T01:00:00+00:00"
LOAD_RUN = "scheduled__2026-11-30T03:00:00+00:00"
BROKEN_URL = "http://127.0.0.1:9/gone/lecture-notes.pdf"
HANDLE = "1721.1/424242"
FLAGGED_COURSE = "physics/8-01-classical-mechanics-fall-2016"


def seed(engine: Engine, extra_broken: int = 0) -> None:
    with session_scope(engine) as session:
        broken = ExternalResource(
            content_uuid="00000000-0000-0000-0000-000000000001",
            site_name="8-01-fall-2016",
            url=BROKEN_URL,
            status="broken",
            external_url_response_code=404,
            check_error="",
            last_checked=NOW,
            first_broken_at=NOW - dt.timedelta(days=7),
            last_check_run=CHECK_RUN,
            wayback_status="success",
            wayback_url="http://web.archive.org/web/2026/" + BROKEN_URL,
            wayback_last_successful_submission=NOW,
        )
        valid = ExternalResource(
            content_uuid="00000000-0000-0000-0000-000000000002",
            site_name="8-01-fall-2016",
            url="http://127.0.0.1:9/ok",
            status="valid",
            last_checked=NOW,
            last_check_run=CHECK_RUN,
        )
        session.add_all([broken, valid])
        session.flush()
        session.add(
            ExternalResourceReference(
                resource_id=broken.id,
                site_name="8-01-fall-2016",
                source_path="content/pages/syllabus.md",
                source_kind="page",
            )
        )
        for number in range(extra_broken):
            session.add(
                ExternalResource(
                    content_uuid=f"10000000-0000-0000-0000-{number:012d}",
                    site_name=f"site-{number % 3}",
                    url=f"http://127.0.0.1:9/missing/{number:03d}",
                    status="broken",
                    external_url_response_code=410,
                    last_checked=NOW - dt.timedelta(minutes=number),
                    first_broken_at=NOW,
                    last_check_run=CHECK_RUN,
                )
            )
        session.add(
            LinkCheckRun(
                dag_id="external_resource_check",
                run_id=CHECK_RUN,
                finished_at=NOW,
                checked=2,
                valid=1,
                broken=1,
                check_failed=0,
                broken_total=1 + extra_broken,
            )
        )
        session.add_all(
            [
                CourseRetirement(
                    course_id=FLAGGED_COURSE,
                    state="done",
                    title="Classical Mechanics",
                    dspace_handle=HANDLE,
                    deposited_at=NOW,
                    zip_path="/retired/physics/8-01.zip",
                    zip_size=123456,
                    zip_md5="0123456789abcdef0123456789abcdef",
                    cms_confirmed=True,
                    dspace_flag="withdrawn",
                    dspace_flagged_at=NOW,
                    dspace_flag_reason=f"DSpace withdrew item {HANDLE}",
                    retirement_run_id=RETIRE_RUN,
                    dspace_flag_run_id=HARVEST_RUN,
                    deposit_receipt="<receipt>never shown</receipt>",
                ),
                CourseRetirement(
                    course_id="math/18-01-calculus-fall-2006",
                    state="packaged",
                    retirement_run_id=RETIRE_RUN,
                    last_error="fetch: the CMS answered 503",
                ),
            ]
        )
        harvest = OaiHarvestRun(
            endpoint="http://127.0.0.1:9/oai/request",
            set_spec="col_1721.1_33971",
            metadata_prefix="oai_dc",
            verb="ListRecords",
            mode="incremental",
            status="complete",
            pages=1,
            records=2,
            deleted_records=1,
            airflow_run_id=HARVEST_RUN,
            finished_on=NOW,
        )
        session.add(harvest)
        session.flush()
        session.add(
            OaiHarvestState(
                endpoint=harvest.endpoint,
                set_spec=harvest.set_spec,
                metadata_prefix="oai_dc",
                watermark=NOW - dt.timedelta(hours=1),
                granularity="YYYY-MM-DDThh:mm:ssZ",
                last_complete_run_id=harvest.id,
            )
        )
        session.add(
            OaiHarvestedItem(
                handle=HANDLE,
                oai_identifier=f"oai:dspace:{HANDLE}",
                datestamp=NOW,
                set_specs=" col_1721.1_33971 ",
                deleted=True,
                title="Classical Mechanics",
                last_harvest_run_id=harvest.id,
                last_harvested_on=NOW,
            )
        )
        batch = TivoliLoadBatch(
            run_key=f"tivoli_nightly_load/{LOAD_RUN}",
            description="nightly",
            staging_root="/staging",
            status="succeeded",
            files_reported=1,
            files_archived=1,
            bytes_archived=2048,
            started_at=NOW,
        )
        session.add(batch)
        session.flush()
        session.add(
            TivoliFileLog(
                bibid="UF00012345",
                vid="00001",
                folder="",
                file_name="00001.tif",
                original_name="00001.tif",
                size=2048,
                last_write_date=NOW,
                archive_date=NOW,
                sha1="a" * 40,
                state="archived",
                source_path="UF00012345_00001/00001.tif",
                staging_path="UF00012345/00001/00001.tif",
                prep_run=f"tivoli_dropbox_prep/{PREP_RUN}/prep/try-1",
                prep_run_id=PREP_RUN,
                load_batch_id=batch.id,
            )
        )
        session.add(
            TivoliVolumeStatus(
                bibid="UF00012345",
                vid="00001",
                status="archived_to_tivoli",
                files_staged=1,
                files_archived=1,
                bytes_archived=2048,
                last_archived_at=NOW,
            )
        )
        session.add(
            TivoliHeldVolume(
                bibid="UF00099999",
                vid="00002",
                folder="UF00099999_00002",
                reason="the staging area is full",
                error_code="ENOSPC",
                first_seen_at=NOW,
                last_seen_at=NOW,
                last_run=f"tivoli_dropbox_prep/{PREP_RUN}/prep/try-1",
            )
        )
        session.add(
            TivoliRetrieval(
                airflow_run_id="manual__2026-11-30T09:00:00+00:00",
                bibid="UF00012345",
                vid="00001",
                file_path="00001.tif",
                outcome="retrieved",
                destination="/retrieved/UF00012345_00001",
                retrieved_at=NOW,
            )
        )
