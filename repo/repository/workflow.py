"""The CI workflow ``ipd init`` gives a data repository: validate on every push and pull request."""

from __future__ import annotations

from pathlib import Path

from . import layout

WORKFLOW = """\
# Written by `ipd init`: fails when a dataset breaks its expectation suite,
# its integrity checks or its recorded fingerprints.
name: ipd validate
on: [push, pull_request]
jobs:
  validate:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0          # every version's commit, for the fingerprint checks
      - run: git fetch --tags --force
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: pip install ipd-repo
      # The DVC remote must be reachable from CI: give its credentials as secrets
      # (e.g. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY for an s3:// remote).
      - run: ipd validate --junit ipd-validate.xml
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: ipd-validate
          path: ipd-validate.xml
"""


def write(root: Path) -> bool:
    """Write the workflow unless the repository already has one; True if written."""
    path = root / layout.WORKFLOW
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(WORKFLOW)
    return True
