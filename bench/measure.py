"""Running one measurement in its own process: wall time and that process's peak memory.

Each measured command runs in a process of its own under GNU time
(``/usr/bin/time -f %M``), which reports that process's peak resident set
from ``wait4``. Reaping the command ourselves would not do: Linux records the
memory of the process that forks into the child's ``ru_maxrss`` (exec keeps
the high-water mark of the image it replaces), so every measurement would
read at least this Python's own size; and ``RUSAGE_CHILDREN`` gives the
largest child so far, mixing measurements. GNU time is a small C program, so
its own image costs a couple of MB at most. The peak is that of the largest
process in the command's tree (the command or a helper it waited for, such
as git), not their sum. Without GNU time, ``wait4`` is used and peaks are
upper bounds.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
IPD = str(VENV_BIN / "ipd") if (VENV_BIN / "ipd").exists() else "ipd"
PYCACHE = os.path.join(tempfile.gettempdir(), "ipd-bench-pycache")
GNU_TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else shutil.which("time")


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_bytes: int
    returncode: int
    stdout: str
    stderr: str


class CommandFailed(RuntimeError):
    pass


def run(command: list[str], cwd: Path | None = None, ok: tuple[int, ...] = (0,)) -> Run:
    """Run ``command`` to completion; its output goes to files, so a large output cannot block it."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, \
            tempfile.NamedTemporaryFile("r") as peak:
        wrapped = [GNU_TIME, "-q", "-f", "%M", "-o", peak.name, *command] if GNU_TIME else command
        start = time.perf_counter()
        child = subprocess.Popen(wrapped, cwd=cwd, stdout=out, stderr=err, env=_environment())
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        kib = int(peak.read().split()[-1]) if GNU_TIME else usage.ru_maxrss
        out.seek(0), err.seek(0)
        result = Run(seconds, kib * 1024, child.returncode, out.read(), err.read())
    if result.returncode not in ok:
        tail = (result.stderr.strip() or result.stdout.strip()).splitlines()[-5:]
        raise CommandFailed(f"{' '.join(command)} exited {result.returncode}: " + " | ".join(tail))
    return result


def python(module: str, *args: str) -> list[str]:
    """A bench helper module run by the venv's Python, from the project root."""
    return [sys.executable, "-m", module, *args]


def _environment() -> dict[str, str]:
    """As a user's shell would run them, except that bytecode is cached outside the source tree.

    Without a bytecode cache (PYTHONDONTWRITEBYTECODE is set on some machines, and the source
    tree may have none) every start would compile ipd's modules again, which no installed copy does.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = PYCACHE
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("DVC_NO_ANALYTICS", "1")
    return env


@dataclass
class Series:
    """Repeated runs of one measurement; the median time and the largest peak are reported."""

    name: str
    runs: list[Run] = field(default_factory=list)

    def add(self, result: Run) -> Run:
        self.runs.append(result)
        return result

    @property
    def seconds(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def peak_bytes(self) -> int:
        return max(r.peak_bytes for r in self.runs)

    def to_json(self) -> dict:
        return {"name": self.name, "median_seconds": round(self.seconds, 3),
                "seconds": [round(r.seconds, 3) for r in self.runs],
                "peak_bytes": self.peak_bytes, "peak_mib": round(self.peak_bytes / 2**20, 1),
                "peaks_mib": [round(r.peak_bytes / 2**20, 1) for r in self.runs]}


def du(path: Path) -> int:
    """Bytes stored under ``path`` (allocated blocks, as ``du`` counts; hard links once)."""
    seen, total = set(), 0
    for directory, _, files in os.walk(path):
        for name in files:
            stat = os.lstat(os.path.join(directory, name))
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_blocks * 512
    return total


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"
