"""The Tivoli Preparation Tool: move finished resources from the dropbox into the Tivoli staging area.

The steps are the seed's, in its order:

1. remove every empty folder from the destination (staging) area;
2. loop over the top-level dropbox folders: a flat ``UF12345678_00001`` folder is processed; a bare BibID
   folder is descended into its ``00001``/``VID00001`` volume folders; anything else is skipped and reported;

   a. skip a resource folder written to within the quiet period (any file or folder inside it);
   b. the destination folder comes from the BibID: ``UF12345678_00001`` -> ``UF/12/34/56/78/00001``;
   c. load the files already archived for the volume from the Tivoli file log;
   d. recurse through the folder: a file archived before with the same folder, name, size and last write
      date is deleted (never archived twice); a file whose name was archived before with another size or
      date is renamed with the current date (``00001.tif`` -> ``00001 (2009_10_29).tif``); new files keep
      their names;
   e. move everything into the staging area, whole directories by rename where possible, else file by file;
   f. save every file's information in the Tivoli file log;
   g. delete the now-empty source folder.

Crash safety: step f is split around step e. Each file's log row is first written as a durable *intent*
(state ``pending``, with its source and staging paths) before anything on disk changes; after the moves are
fsynced the rows become ``staged`` in one statement. A rerun first resolves leftover intents by looking at
the disk: a file found complete in staging is marked staged, a file still in the dropbox has its intent
dropped and is planned again. So a crash at any point loses no file and logs no file twice. Identical files
are deleted only after the intents commit, and only because a staged or archived row already holds them.

Isolation: a volume whose folder cannot be read or moved (EPERM/EACCES, a full staging area, EIO) is *held*
(:mod:`.held`): its intents are settled exactly as a rerun after a crash would settle them, it is recorded with
its reason, and the run goes on with the other volumes; the next run tries it again. Step g also removes empty
BibID and volume folders once they are past the quiet period, such as those a crashed run leaves.

The modules follow the run: :mod:`.plan` (step 2 and a-d), :mod:`.intents` (step f, the file log),
:mod:`.moves` (steps e and g), :mod:`.recovery` (a crashed run's intents), :mod:`.held` (volumes held back)
and :mod:`.run` (the whole run).
"""

from ocw_operators.tivoli.prep.context import (
    DEFAULT_BULK_FILES,
    DEFAULT_QUIET_PERIOD,
    MAX_REPORTED_ITEMS,
    PrepConfig,
    PrepConfigError,
    PrepReport,
    Skipped,
    last_write_date,
)
from ocw_operators.tivoli.prep.intents import record_staged_volumes
from ocw_operators.tivoli.prep.plan import Candidate, discover_volumes, plan_volume
from ocw_operators.tivoli.prep.recovery import recover_intents
from ocw_operators.tivoli.prep.run import prepare_dropbox, prepare_with_lease

__all__ = [
    "DEFAULT_BULK_FILES",
    "DEFAULT_QUIET_PERIOD",
    "MAX_REPORTED_ITEMS",
    "Candidate",
    "PrepConfig",
    "PrepConfigError",
    "PrepReport",
    "Skipped",
    "discover_volumes",
    "last_write_date",
    "plan_volume",
    "prepare_dropbox",
    "prepare_with_lease",
    "record_staged_volumes",
    "recover_intents",
]
