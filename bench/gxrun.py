"""Optional context for the check benchmark: GX's own pandas engine on the first N rows.

``python -m bench.gxrun DELIVERY N``: the six expectations through
``repo.checks.gxsuite`` (GX 1.x, pandas engine) on the delivery's first N rows,
importing GX included; prints the unexpected counts and the times as JSON.
Issue 3 measured GX at 43.6 s and 5.2 GB for ten million rows, so the bench
runs it on a sample only, and only when asked (``--gx-rows N``).
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> None:
    start = time.perf_counter()
    import pyarrow as pa
    import pyarrow.parquet as pq

    from repo.checks import gxsuite

    from .workspace import KEY, SUITE

    path, rows = argv[0], int(argv[1])
    batches, count = [], 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=min(rows, 1 << 20)):
        batches.append(batch.slice(0, rows - count))
        count += batches[-1].num_rows
        if count >= rows:
            break
    frame = pa.Table.from_batches(batches).to_pandas()
    loaded = time.perf_counter()
    gxsuite.context()  # importing GX and making its context: about 2 s, paid once
    ready = time.perf_counter()
    results = gxsuite.run(frame, KEY, SUITE, "bench")
    done = time.perf_counter()
    print(json.dumps({"rows": len(frame), "unexpected": [r.unexpected_count for r in results],
                      "load_seconds": loaded - start, "import_seconds": ready - loaded,
                      "validate_seconds": done - ready}))


if __name__ == "__main__":
    main(sys.argv[1:])
