#!/usr/bin/env python3
"""DuckDB SQL + scikit-learn peer: ingest -> funnel -> transitions -> per-user features -> models.

Adapted from ../../../shared/bench-peers/job_duckdb.py to every shape in shape.py (--shape): the
same SQL with the shape's events, funnel, window and columns. It reads only the columns the job
uses (the 9 of the retail shape, or 8 without price), as an analyst would write it."""
from common import SENTINEL, Job, Stages, parse_args, finish, funnel_counts_from_furthest

import duckdb

TYPES = {"user_id": "VARCHAR", "session_id": "VARCHAR", "timestamp": "TIMESTAMPTZ", "event": "VARCHAR",
         "page": "VARCHAR", "product_id": "VARCHAR", "price": "DOUBLE", "device": "VARCHAR",
         "channel": "VARCHAR"}


def source(job, path):
    if path.endswith(".parquet"):
        return f"read_parquet('{path}')"
    # types for the job's columns; any other column is left to DuckDB's sniffer
    types = ", ".join(f"'{k}': '{TYPES[k]}'" for k in job.shape["columns"])
    return f"read_csv('{path}', header=true, types={{{types}}})"


def funnel_sql(job):
    # Running-max formulation of an ordered (loose) funnel with a window from the step-1 event:
    # s_k = latest step-1 time among attempts that have reached step k so far (ClickHouse windowFunnel).
    w = "WINDOW w AS (PARTITION BY user_id ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    steps = " ".join(f"WHEN '{e}' THEN {i + 1}" for i, e in enumerate(job.FUNNEL))
    events_in = ", ".join(f"'{e}'" for e in job.FUNNEL)
    sql = [f"l0 AS (SELECT user_id, ts, CASE event {steps} END AS step FROM events WHERE event IN ({events_in}))",
           f"l1 AS (SELECT *, max(CASE WHEN step = 1 THEN ts END) OVER w AS s1 FROM l0 {w})"]
    for k in range(2, len(job.FUNNEL) + 1):
        sql.append(f"l{k} AS (SELECT *, max(CASE WHEN step = {k} AND ts <= s{k - 1} + {job.WINDOW_MS} "
                   f"THEN s{k - 1} END) OVER w AS s{k} FROM l{k - 1} {w})")
    furthest = "CASE " + " ".join(f"WHEN max(s{k}) IS NOT NULL THEN {k}"
                                  for k in range(len(job.FUNNEL), 0, -1)) + " ELSE 0 END"
    n = len(job.FUNNEL)
    return (f"CREATE OR REPLACE TEMP TABLE funnel_user AS WITH {', '.join(sql)} "
            f"SELECT u.user_id, coalesce(f.furthest_step, 0) AS furthest_step "
            f"FROM (SELECT DISTINCT user_id FROM events) u LEFT JOIN "
            f"(SELECT user_id, {furthest} AS furthest_step FROM l{n} GROUP BY user_id) f USING (user_id)")


TRANSITIONS_SQL = """
SELECT event AS from_event, next_event AS to_event, count(*) AS n FROM (
  SELECT event, lead(event) OVER (PARTITION BY user_id, session_id ORDER BY ts) AS next_event FROM events)
WHERE next_event IS NOT NULL GROUP BY ALL ORDER BY ALL"""


def features_sql(job):
    p = job.PRODUCT_EVENT
    price = (f"coalesce(avg(price) FILTER (WHERE event = '{p}'), 0)" if job.PRICE else "0.0")
    return f"""
WITH u AS (
  SELECT user_id, count(*) AS n_events, count(DISTINCT session_id) AS n_sessions,
         count(DISTINCT product_id) FILTER (WHERE event = '{p}') AS n_distinct_products,
         {", ".join(f"count(*) FILTER (WHERE event = '{e}') AS cnt_{e}" for e in job.EVENTS)},
         {price} AS avg_product_price,
         (arg_min(device, ts) = 'mobile')::INT AS is_mobile,
         (arg_min(channel, ts) = 'email')::INT AS first_channel_email
  FROM events GROUP BY user_id),
s AS (SELECT user_id, sum(d) / 1000.0 AS time_spent_s FROM (
        SELECT user_id, session_id, max(ts) - min(ts) AS d FROM events GROUP BY user_id, session_id)
      GROUP BY user_id)
SELECT u.*, s.time_spent_s, f.furthest_step, u.cnt_purchase > 0 AS purchased
FROM u JOIN s USING (user_id) JOIN funnel_user f USING (user_id) ORDER BY user_id"""


def main():
    args = parse_args("duckdb")
    job = Job(args.shape)
    st = Stages("duckdb", args.input)
    con = duckdb.connect()
    cols = ", ".join(job.shape["columns"])
    with st("ingest"):
        con.execute(f"CREATE TABLE events AS SELECT {cols}, epoch_ms(timestamp) AS ts "
                    f"FROM {source(job, args.input)}")
    with st("funnel"):
        con.execute(funnel_sql(job))
        furthest = con.execute("SELECT furthest_step FROM funnel_user").fetchnumpy()["furthest_step"]
        fc = funnel_counts_from_furthest(job, furthest, len(furthest))
    with st("transitions"):
        tr = con.execute(TRANSITIONS_SQL).df()
    with st("features"):
        feats = con.execute(features_sql(job)).df()[job.FEATURES]
    finish(job, st, args, "duckdb", fc, tr, feats)


if __name__ == "__main__":
    main()
