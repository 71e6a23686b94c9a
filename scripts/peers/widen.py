#!/usr/bin/env python3
"""Widens an export to 30 property columns: adds 25 columns (seeded) to a 9-column retail export.

    python3 widen.py retail.parquet wide.parquet [wide.csv]

The added columns look like a warehouse export's: campaign and UTM codes, flags, an A/B bucket,
scores and amounts, long free text and a high-cardinality request id. journeymap's bench config
for this shape uses 3 property columns (device, channel, price); the rest must cost it nothing."""
import sys

import numpy as np
import polars as pl


def main(src, dst, csv=None):
    df = pl.read_parquet(src)
    n = df.height
    rng = np.random.default_rng(7)
    cols = {}
    for i in range(8):                                    # low-cardinality codes
        k = [3, 5, 8, 12, 20, 40, 100, 400][i]
        cols[f"utm_{i}"] = pl.Series([f"c{i}_{v}" for v in range(k)])[rng.integers(0, k, n)]
    for i in range(4):                                    # flags
        cols[f"flag_{i}"] = pl.Series(rng.random(n) < 0.1 * (i + 1)).cast(pl.Int32)
    for i in range(5):                                    # numbers
        cols[f"score_{i}"] = pl.Series(np.round(rng.normal(50, 15, n), 3))
    for i in range(4):                                    # counts, some missing
        v = pl.Series(rng.poisson(3 + i, n)).cast(pl.Int32)
        cols[f"qty_{i}"] = pl.when(pl.Series(rng.random(n) < 0.2)).then(None).otherwise(v)
    # free text and ids: many distinct values
    words = np.array(["fast", "shipping", "gift", "sale", "new", "blue", "size", "m", "l", "promo"])
    cols["referrer"] = pl.Series(["https://ref.example/" + "/".join(words[rng.integers(0, 10, 3)])
                                  for _ in range(1000)])[rng.integers(0, 1000, n)]
    cols["user_agent"] = pl.Series([f"Mozilla/5.0 (Agent {v}; build {v * 7 % 1000})" for v in range(300)]
                                   )[rng.integers(0, 300, n)]
    cols["request_id"] = pl.Series([f"r{v:010x}" for v in rng.integers(0, 2 ** 40, n)])
    cols["ab_bucket"] = pl.Series(["a", "b"])[rng.integers(0, 2, n)]
    wide = df.with_columns(**cols)
    assert wide.width == 9 + 25, wide.width
    wide.write_parquet(dst, compression="zstd")
    if csv:
        wide.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")).write_csv(csv)


if __name__ == "__main__":
    main(*sys.argv[1:])
