"""
### Tivoli retrieval

Retrieves archived files of one volume from Tivoli: lists the versions in the Tivoli file log and runs
`dsmc retrieve <archived file> <destination file> -description=<load batch>` for each, checking every file
against its logged SHA-1. As the dissemination tool asks, take only the **latest** version of each file,
or **all** versions Tivoli holds (e.g. `00002.tif` and `00002 (2009_10_10).tif`). Files land in
`<destination>/<BibID>_<VID>/<folder>/<archived name>`; nothing is overwritten, and files already present
with the right checksum are not fetched again.

**Schedule**: none; trigger it by hand with the Params below.

**Connections**: `ocw_archive_db` (the Tivoli file log).

**Variables** (read at run time; defaults and bounds: the README's Variables table, Admin → Variables):
`TIVOLI_DSMC_COMMAND`, `TIVOLI_RETRIEVE_ROOT` (optional: destinations must lie inside it).

**Params**: `bibid` (e.g. `UF12345678`), `vid` (e.g. `00001`), `file_names` (optional list; original or
archived names, `folder/name` allowed; empty for all files), `versions` (`latest` or `all`),
`destination` (absolute folder on the worker).

**Pool**: `tivoli`.
"""

import datetime as dt

from airflow.sdk import Param, dag

from ocw_operators.dag_defaults import START_DATE, task_defaults
from ocw_operators.operators.tivoli import TivoliRetrieveOperator


@dag(
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    doc_md=__doc__,
    tags=["tivoli", "archive", "retrieval"],
    render_template_as_native_obj=True,
    params={
        "bibid": Param(
            "",
            type="string",
            pattern="^[A-Za-z]{2}[0-9]{8}$",
            title="BibID",
            description="The item's bibliographic id: two letters and eight digits, e.g. UF12345678.",
        ),
        "vid": Param(
            "00001",
            type="string",
            pattern="^(VID)?[0-9]{5}$",
            title="VID (volume)",
            description="Five digits, e.g. 00001 (VID00001 is accepted too).",
        ),
        "file_names": Param(
            [],
            type=["null", "array"],
            items={"type": "string"},
            title="Files",
            description="One file per line: its original or archived name, optionally folder/name, e.g. 00002.tif. "
            "Empty: every file of the volume.",
        ),
        "versions": Param(
            "latest",
            type="string",
            enum=["latest", "all"],
            values_display={"latest": "Latest version of each file", "all": "Every archived version"},
            title="Versions",
            description="The newest archived version of each file, or every version Tivoli holds (e.g. 00002.tif "
            "and 00002 (2009_10_10).tif).",
        ),
        "destination": Param(
            "",
            type="string",
            minLength=1,
            title="Destination folder",
            description="Absolute folder on the worker; files land in <destination>/<BibID>_<VID>/. It must lie "
            "inside TIVOLI_RETRIEVE_ROOT when that Variable is set.",
        ),
    },
    default_args=task_defaults(pool="tivoli", retries=1, execution_timeout=dt.timedelta(hours=4)),
)
def tivoli_retrieve():
    TivoliRetrieveOperator(
        task_id="retrieve_from_tivoli",
        bibid="{{ params.bibid }}",
        vid="{{ params.vid }}",
        file_names="{{ params.file_names }}",
        versions="{{ params.versions }}",
        destination="{{ params.destination }}",
    )


tivoli_retrieve()
