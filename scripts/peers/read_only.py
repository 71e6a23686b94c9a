#!/usr/bin/env python3
"""The read limit: polars reading the whole events file into memory and doing nothing else.

    python3 read_only.py polars events.parquet        # pl.read_parquet, every column
    python3 read_only.py polars events.csv            # pl.read_csv defaults (timestamp stays text)
    python3 read_only.py polars-typed events.csv      # timestamp parsed with its format (UTC)
Prints 'READ {json}' with the in-process seconds (imports excluded). Adapted from
../../../shared/bench-peers/read_only.py (the polars modes only)."""
import json
import sys
import time

TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.3fZ"


def main(mode, path):
    t_import = time.perf_counter()
    import polars as pl
    t0 = time.perf_counter()
    if path.endswith(".parquet"):
        df = pl.read_parquet(path)
    elif mode == "polars-typed":
        df = (pl.scan_csv(path, schema_overrides={"timestamp": pl.String})
              .with_columns(pl.col("timestamp").str.strptime(pl.Datetime("ms", "UTC"), TS_FORMAT))
              .collect())
    elif mode == "polars":
        df = pl.read_csv(path)
    else:
        sys.exit(f"unknown mode {mode}")
    t1 = time.perf_counter()
    print("READ " + json.dumps({"mode": mode, "input": path, "rows": df.height, "columns": df.width,
                                "read_s": round(t1 - t0, 4), "import_s": round(t0 - t_import, 4)}),
          flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
