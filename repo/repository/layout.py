"""Every path of a repository and of a trial, spelled here and nowhere else.

```
<repository>/                       a git work tree with DVC initialised
  ipd.toml                          SETTINGS            name, remotes per kind, thresholds
  .dvc/                             DVC                 DVC's own (config, .gitignore committed by `ipd init`)
  .dvc/cache/                       DVC_CACHE           the local DVC cache
  .dvcignore                        DVCIGNORE
  .github/workflows/ipd-validate.yml  WORKFLOW          CI: `ipd validate` on every push
  datasets/<trial>/                 .folder             one trial
    dataset.yaml                    .metadata           metadata, key, roles, dictionary, release rules
    source/                         .source             deliveries as received (DVC: source.dvc; restricted)
      vN/FILE                       delivery()          a delivery, as its version record names it
      corrections/FILE              correction_file()   variables the trialists supplied later
      consent/RULE/N/FILE           consent_file()      consent ID lists
    data/                           .data               the current version's Parquet parts (DVC: data.dvc)
    tables/TABLE/                   .table_data()       the parts of its other tables, if any (DVC: tables.dvc)
    corrections.jsonl               .log                the correction log, append-only (git)
    queries.jsonl                   .queries            queries to the trialists, append-only (git)
    staged.jsonl                    .staged             corrections staged for the next version (not in git)
    staged-files/FILE               .staged_files       files supplied with staged corrections (not in git)
    versions/vN.json                .version_record()   a version's record
    releases/vN-TIER.json           .release_record()   a release's record
    releases/vN-TIER/               .release_package()  its package (DVC: vN-TIER.dvc; release remote)
    releases/approvals/vN.json      .approval()         the approval of a version's release plan
    linkage/                        .linkage            original key <-> release ID (DVC: linkage.dvc; restricted)
    .gitignore                      .gitignore          DVC's entries for the tracked folders
    topic.yaml                      .topic              a topic's data dictionary (a topic is a dataset of pooled versions)
    mappings/TRIAL.yaml             .mapping()          how one trial maps onto the topic's dictionary
  expectations/<trial>.json         .suite              the expectation suite (GX's JSON format)
  expectations/<trial>/TABLE.json   .table_suite()      the suite of each of its other tables
  provenance/<trial>/vN.json        .provenance_record()  a version's W3C PROV record (and vN-TIER.json a release's)
  .git/ipd/                         PRIVATE             ipd's own, never committed
    lock                            LOCK                held by every command that writes
    journal.json                    JOURNAL             what an interrupted command must undo ...
    backup/  index.backup           BACKUP INDEX_BACKUP ... and the copies to undo it from
    checks/<digest>.json            CHECK_CACHE         check reports kept for unchanged inputs
  .git/info/exclude                 GIT_EXCLUDE         keeps the staging area out of commits
```

Paths are repository-relative POSIX strings, as git and DVC take them:
``layout.trial("t").metadata`` is ``"datasets/t/dataset.yaml"`` and
``root / layout.trial("t").metadata`` the file itself; ``layout.ALL_TRIALS``
gives glob patterns over every trial. The paths under ``.git`` are relative to
git's directory (``scm.git_dir / layout.LOCK``). Records and logs name a
trial's files relative to the trial's folder (``source/v1/FILE``): the
module-level names and functions give those, ``TrialPaths.file`` the
repository path of one; ``pointer`` names the ``.dvc`` file of a tracked folder.

Not here, on purpose: what a requestor's pulled directory holds
(``ipd-pin.json`` and the data beside it, see ``requestor.pin``) is not part
of a repository; the files inside a DVC-tracked folder (parts, a package's
files, the linkage's) belong to the module that writes them; the ``ipd:``
names of PROV entities (``ipd:TRIAL/corrections.jsonl#vN``) are identifiers
kept in records, which must not change if a file moves; and the DVC backend
(``backends.storage``, and ``backends.storage.known``) sits below the repository and
reads DVC's own files itself.
"""

from __future__ import annotations

from dataclasses import dataclass

# -- the repository ------------------------------------------------------------------------------

SETTINGS = "ipd.toml"
DATASETS = "datasets"
TOPIC, MAPPINGS = "topic.yaml", "mappings"
EXPECTATIONS = "expectations"
PROVENANCE = "provenance"
FOLDERS = (DATASETS, EXPECTATIONS, PROVENANCE)  # created by `ipd init`, kept in git while empty
GITKEEP = ".gitkeep"
DVC = ".dvc"
DVC_CONFIG = f"{DVC}/config"
DVC_GITIGNORE = f"{DVC}/.gitignore"
DVC_CACHE = f"{DVC}/cache"
DVCIGNORE = ".dvcignore"
WORKFLOW = ".github/workflows/ipd-validate.yml"

# -- under git's directory (.git), never committed --------------------------------------------------

PRIVATE = "ipd"
LOCK = f"{PRIVATE}/lock"
JOURNAL = f"{PRIVATE}/journal.json"
BACKUP = f"{PRIVATE}/backup"
INDEX_BACKUP = f"{PRIVATE}/index.backup"
CHECK_CACHE = f"{PRIVATE}/checks"
GIT_EXCLUDE = "info/exclude"

# -- a trial's files, relative to its folder (as records and logs name them) -------------------------

METADATA = "dataset.yaml"
SOURCE = "source"
DATA = "data"
TABLES = "tables"
LOG = "corrections.jsonl"
QUERIES = "queries.jsonl"
STAGED = "staged.jsonl"
STAGED_FILES = "staged-files"
VERSIONS = "versions"
RELEASES = "releases"
APPROVALS = f"{RELEASES}/approvals"
LINKAGE = "linkage"
GITIGNORE = ".gitignore"
CORRECTION_FILES = f"{SOURCE}/corrections"
CONSENT_FILES = f"{SOURCE}/consent"


def delivery(version: str, name: str) -> str:
    """A delivery's file: ``source/vN/FILE``."""
    return f"{SOURCE}/{version}/{name}"


def correction_file(name: str) -> str:
    """A file of values the trialists supplied, once a version applied it: ``source/corrections/FILE``."""
    return f"{CORRECTION_FILES}/{name}"


def staged_file(name: str) -> str:
    """The same file while its correction is staged: ``staged-files/FILE``."""
    return f"{STAGED_FILES}/{name}"


def consent_file(rule: str, number: int, name: str) -> str:
    """A consent list: ``source/consent/RULE/N/FILE``, a numbered folder so no list overwrites another."""
    return f"{CONSENT_FILES}/{rule}/{number}/{name}"


def pointer(tracked: str) -> str:
    """The ``.dvc`` file git keeps for a DVC-tracked folder."""
    return f"{tracked}.dvc"


# -- a trial, repository-relative --------------------------------------------------------------------

@dataclass(frozen=True)
class TrialPaths:
    """The paths of one trial (``"*"`` gives glob patterns over every trial)."""

    trial: str

    @property
    def folder(self) -> str:
        return f"{DATASETS}/{self.trial}"

    def file(self, relative: str) -> str:
        """A file of the trial, from its path relative to the trial's folder (as records name them)."""
        return f"{self.folder}/{relative}"

    @property
    def metadata(self) -> str:
        return self.file(METADATA)

    @property
    def source(self) -> str:
        return self.file(SOURCE)

    @property
    def data(self) -> str:
        return self.file(DATA)

    @property
    def tables(self) -> str:
        """The DVC-tracked folder of the parts of a trial's other tables, one folder a table."""
        return self.file(TABLES)

    def table_data(self, name: str) -> str:
        return f"{self.tables}/{name}"

    @property
    def log(self) -> str:
        return self.file(LOG)

    @property
    def queries(self) -> str:
        return self.file(QUERIES)

    @property
    def staged(self) -> str:
        return self.file(STAGED)

    @property
    def staged_files(self) -> str:
        return self.file(STAGED_FILES)

    @property
    def versions(self) -> str:
        return self.file(VERSIONS)

    def version_record(self, version: str) -> str:
        return f"{self.versions}/{version}.json"

    @property
    def releases(self) -> str:
        return self.file(RELEASES)

    def release_package(self, name: str) -> str:
        """The DVC-tracked folder holding the package of release ``name`` (``vN-TIER``)."""
        return f"{self.releases}/{name}"

    def release_record(self, name: str) -> str:
        return f"{self.release_package(name)}.json"

    @property
    def approvals(self) -> str:
        return self.file(APPROVALS)

    def approval(self, version: str) -> str:
        return f"{self.approvals}/{version}.json"

    @property
    def linkage(self) -> str:
        return self.file(LINKAGE)

    @property
    def gitignore(self) -> str:
        return self.file(GITIGNORE)

    @property
    def suite(self) -> str:
        return f"{EXPECTATIONS}/{self.trial}.json"

    @property
    def table_suites(self) -> str:
        return f"{EXPECTATIONS}/{self.trial}"

    def table_suite(self, table: str) -> str:
        """The expectation suite of one of the trial's other tables."""
        return f"{self.table_suites}/{table}.json"

    @property
    def topic(self) -> str:
        """A topic's data dictionary (a topic is kept as a dataset of pooled versions)."""
        return self.file(TOPIC)

    @property
    def mappings(self) -> str:
        return self.file(MAPPINGS)

    def mapping(self, trial: str) -> str:
        """How trial ``trial`` maps onto the topic's dictionary."""
        return f"{self.mappings}/{trial}.yaml"

    @property
    def provenance(self) -> str:
        return f"{PROVENANCE}/{self.trial}"

    def provenance_record(self, name: str) -> str:
        """The PROV record of a version (``vN``) or a release (``vN-TIER``)."""
        return f"{self.provenance}/{name}.json"


def trial(name: str) -> TrialPaths:
    return TrialPaths(name)


ALL_TRIALS = TrialPaths("*")
