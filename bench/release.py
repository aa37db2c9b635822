"""Issue 5's release target: ``ipd release TRIAL@v1 --tier noncommercial`` of a 1M-row trial in under 60 s.

The trial is ``bench/releasedata.py``'s (identifiers, race and sex, rare
categories, dates, verbatim text), in a scratch directory of its own
(``$TMPDIR/ipd-bench/release``), so the 10M-row workspace of the other
benchmarks is never touched. Set-up, not timed: ``ipd init`` with a restricted
and a release remote, ``ipd ingest``, consent (nobody refused sharing or
commercial use, with a reason), ``ipd release plan --save`` (the proposed
rules) and ``ipd release approve``. The repository and both remotes are then
copied aside, approved but unreleased.

Two series, each after a warm-up, alternating: a new release (every run
restored to the approved state first, so each builds the package, gives every
participant a release ID and pushes both remotes), and the rebuild of the
existing release (the same command again, from the released state: it
rebuilds every file and checks it is identical). The target is judged on the
new release.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import releasedata
from .measure import IPD, Run, Series, du, mib, run
from .report import save, table, verdict

DEFAULT_ROWS = 1_000_000
SECONDS = 60.0
TRIAL = "trial"
TIER = "noncommercial"
REASON = "benchmark: a synthetic trial, nobody refused"
STATES = ("approved", "released")


@dataclass
class ReleaseWorkspace:
    scratch: Path  # the benchmark's own directory, under the bench's scratch
    rows: int
    seed: int = releasedata.SEED
    setup: dict[str, float] = field(default_factory=dict)  # seconds spent preparing, by step

    @property
    def delivery(self) -> Path:
        return self.scratch / f"release-trial-{self.rows}-{self.seed}-v{releasedata.VERSION}.parquet"

    @property
    def places(self) -> dict[str, Path]:
        """What a release changes: the repository (git, DVC cache, linkage) and both remotes."""
        return {name: self.scratch / name for name in ("repository", "remote", "release-remote")}

    @property
    def root(self) -> Path:
        return self.places["repository"]

    @property
    def package(self) -> Path:
        return self.root / "datasets" / TRIAL / "releases" / f"v1-{TIER}"

    def ipd(self, *args: str) -> Run:
        return run([IPD, *args, "-C", str(self.root)])

    def prepare(self) -> None:
        """An approved, unreleased trial@v1, copied aside as the ``approved`` state."""
        if not self.delivery.exists():
            start = time.perf_counter()
            releasedata.write(self.delivery, self.rows, self.seed)
            self.setup["generate delivery"] = time.perf_counter() - start
        for path in (*self.places.values(), self.scratch / "states"):
            shutil.rmtree(path, ignore_errors=True)
        places = self.places
        run([IPD, "init", str(self.root), "--remote", str(places["remote"]),
             "--release-remote", str(places["release-remote"])])
        steps = {
            "ipd ingest": ("ingest", TRIAL, str(self.delivery), "--key", releasedata.KEY, "--arm", releasedata.ARM,
                           "--randomised", releasedata.RANDOMISED, "-m", f"synthetic trial, {self.rows} rows"),
            "ipd release consent (sharing)": ("release", "consent", TRIAL, "--refused", "sharing", "--none",
                                              "--reason", REASON),
            "ipd release consent (commercial)": ("release", "consent", TRIAL, "--refused", "commercial", "--none",
                                                 "--reason", REASON),
            "ipd release plan --save": ("release", "plan", f"{TRIAL}@v1", "--save"),
            "ipd release approve": ("release", "approve", f"{TRIAL}@v1", "--by", "bench",
                                    "--note", "benchmark approval"),
        }
        for name, args in steps.items():
            self.setup[name] = self.ipd(*args).seconds
        self.save("approved")

    def save(self, state: str) -> None:
        for name, path in self.places.items():
            _copy(path, self.scratch / "states" / state / name)

    def restore(self, state: str) -> None:
        for name, path in self.places.items():
            _copy(self.scratch / "states" / state / name, path)

    def plan(self) -> dict:
        return json.loads(self.ipd("release", "plan", f"{TRIAL}@v1", "--json").stdout)


def _copy(source: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)


def main(scratch: Path, rows: int | None = None, runs: int = 3, **_: object) -> dict:
    ws = ReleaseWorkspace(scratch / "release", rows or DEFAULT_ROWS)
    print(f"release: preparing {ws.rows:,} rows in {ws.scratch} …", flush=True)
    ws.prepare()
    print("set-up: " + ", ".join(f"{k} {v:.1f} s" for k, v in ws.setup.items()), flush=True)
    command = [IPD, "release", f"{TRIAL}@v1", "--tier", TIER, "--json", "-C", str(ws.root)]
    new, rebuild = Series(f"ipd release {TRIAL}@v1 --tier {TIER} (new)"), Series("the same again (rebuild)")
    outputs: dict[str, dict] = {}

    def measure(series: Series | None, state: str, built: bool) -> None:
        ws.restore(state)
        result = run(command)
        out = json.loads(result.stdout)
        if out["built"] is not built:
            raise RuntimeError(f"ipd release from the {state} state gave built={out['built']}, not {built}")
        outputs[state] = out
        if series is not None:
            series.add(result)

    measure(None, "approved", True)  # warm-up: page cache, bytecode
    ws.save("released")
    measure(None, "released", False)
    for _ in range(runs):
        measure(new, "approved", True)
        measure(rebuild, "released", False)

    released = outputs["approved"]
    package_bytes = du(ws.package)
    plan = ws.plan()
    figures = {
        "rows": ws.rows, "runs": runs, "tier": TIER, "delivery_bytes": ws.delivery.stat().st_size,
        "setup_seconds": {k: round(v, 3) for k, v in ws.setup.items()},
        "measurements": [s.to_json() for s in (new, rebuild)],
        "release": {"rows": released["rows"], "columns": released["columns"], "new_ids": released["new_ids"],
                    "excluded": released.get("excluded"), "files": sorted(released["files"]),
                    "package_bytes": package_bytes, "fingerprint": released["fingerprint"]},
        "modifications": _modifications(plan),
        "targets": {"seconds_at_most": SECONDS, "time_met": new.seconds <= SECONDS},
    }
    path = save("release", figures)
    rows = [[s.name, f"{s.seconds:.2f}", " ".join(f"{r.seconds:.2f}" for r in s.runs), mib(s.peak_bytes)]
            for s in (new, rebuild)]
    print(table(f"release: {TRIAL}@v1 of {ws.rows:,} rows × {len(releasedata.SCHEMA)} columns, tier {TIER}, "
                f"median of {runs}", ["measurement", "median s", "runs s", "peak RSS"], rows))
    print(f"released {released['rows']:,} participants × {len(released['columns'])} variables "
          f"({', '.join(released['columns'])}); {released['new_ids']:,} new release IDs; package {mib(package_bytes)}")
    print("modifications: " + "; ".join(f"{action} {', '.join(names)}"
                                        for action, names in figures["modifications"].items()))
    print(f"new release {new.seconds:.1f} s (target < {SECONDS:.0f} s): {verdict(figures['targets']['time_met'])}; "
          f"rebuild {rebuild.seconds:.1f} s; peak {mib(max(new.peak_bytes, rebuild.peak_bytes))}")
    print(f"figures written to {path}")
    return figures


def _modifications(plan: dict) -> dict[str, list[str]]:
    """Variables by what the approved plan does to them in the tier (from ``ipd release plan --json``)."""
    out: dict[str, list[str]] = {}
    for item in plan["tiers"][TIER]["modifications"]:
        out.setdefault(item["action"], []).append(item["variable"])
    return out
