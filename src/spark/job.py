"""journeymap's per-user pass as a PySpark job.

Written by `journeymap push --engine spark`, with the plan (plan.json) it
reads: the input files, the columns, the sessions and the analyses. It
computes, where the events live, the aggregates `journeymap report
--aggregates DIR` builds the report from; each is a count keyed by a tagged
tuple, written as JSON lines under the plan's `out` folder. The per-user
kernel below is a port of journeymap's own (src/sessions.rs,
src/funnel/engine.rs, src/paths/mod.rs); a CI test holds it to the local
report, figure for figure (tests/cli/spark.rs).

Needs Spark 3.3 or later and Python 3.8 or later; no pandas, no pyarrow.
Exit status: 0 done, 3 the input does not fit the plan (a missing column, a
column of the wrong type), anything else Spark's own failure.
"""

import json
import sys

# Rust's char::is_whitespace set: journeymap trims these around cells.
WHITESPACE = (
    " \t\n\x0b\x0c\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# Timestamps journeymap accepts: [1970-01-01, 2100-01-01) in ms.
TS_MAX = 4102444800000
EXCLUDE = 1 << 31
# The Markov map's three states that are no event.
START, CONVERSION, EXIT = -1, -2, -3


def present(v):
    """A trimmed cell, or None when it is empty (as journeymap reads it)."""
    if v is None:
        return None
    v = v.strip(WHITESPACE)
    return v if v else None


class InputError(Exception):
    pass


def matcher(pred, props):
    """(event, [(property index, value)]) for a predicate of the plan."""
    want = []
    for name, value in sorted(pred.get("props", {}).items()):
        want.append((props.index(name), value))
    return (pred["event"], want)


def matches(m, event, cells):
    event_name, want = m
    return event == event_name and all(cells[p] == v for p, v in want)


def evaluate(ts, mask, k, window, strict):
    """Ordered and strict funnels: the best attempt of one unit, as
    src/funnel/engine.rs::evaluate. Returns (level, excluded, positions)."""
    n = len(ts)
    prefix = [0]
    for m in mask:
        prefix.append(prefix[-1] + (1 if m & EXCLUDE else 0))
    has_excl = prefix[-1] > 0

    def excl_between(frm, to_incl):
        return has_excl and to_incl > frm and prefix[to_incl + 1] - prefix[frm + 1] > 0

    nxt = None
    if not strict:
        nxt = [None] * k
        for s in range(1, k):
            row = [None] * (n + 1)
            for p in range(n - 1, -1, -1):
                row[p] = p if mask[p] & (1 << s) else row[p + 1]
            nxt[s] = row
    best_level, best_pos = 0, []
    entered = False
    wend = 0
    for start in range(n):
        if not mask[start] & 1:
            continue
        entered = True
        limit = ts[start] + window if window is not None else None
        pos = [start]
        prev = start
        for s in range(1, k):
            if strict:
                q = prev + 1
                cand = q if q < n and mask[q] & (1 << s) else None
            else:
                cand = nxt[s][prev + 1] if prev < n else None
            if cand is not None and (limit is None or ts[cand] <= limit):
                pos.append(cand)
                prev = cand
            else:
                break
        level = len(pos)
        if level == k:
            excluded = excl_between(start, max(prev - 1, start))
        else:
            wend = max(wend, start)
            while wend + 1 < n and (limit is None or ts[wend + 1] <= limit):
                wend += 1
            excluded = excl_between(start, wend)
        if not excluded and level > best_level:
            best_level, best_pos = level, list(pos)
            if level == k:
                break
    return best_level, entered and best_level == 0, best_pos


def funnel_unit(rows, f, end, out):
    """One unit's funnel figures, as src/funnel/mod.rs Accumulator::add."""
    k = len(f["steps_m"])
    ts = [r[0] for r in rows]
    mask = []
    for r in rows:
        m = 0
        for s, st in enumerate(f["steps_m"]):
            if matches(st, r[3], r[5]):
                m |= 1 << s
        for ex in f["exclude_m"]:
            if matches(ex, r[3], r[5]):
                m |= EXCLUDE
        mask.append(m)
    level, excluded, pos = evaluate(ts, mask, k, f["window_ms"], f["mode"] == "strict")
    out.append((("f_unit", level, excluded), 1))
    for s in range(1, level):
        out.append((("f_sec", s, ts[pos[s]] - ts[pos[s - 1]]), 1))
        out.append((("f_first", s, ts[pos[s]] - ts[pos[0]]), 1))
    w = f["window_ms"]
    if w is not None and 0 < level < k and ts[pos[0]] + w > end:
        out.append((("f_open", level - 1), 1))
    if 0 < level < k:
        stop = level - 1
        after = pos[stop] + 1
        if after < len(rows):
            out.append((("f_next", stop, rows[after][3]), 1))
        out.append((("f_exit", stop, rows[-1][3]), 1))


def stage_of(preds, r):
    """(stage, predicate) of an event: the first predicate that matches, as
    src/stages/mapping.rs::StageMap::of; None when no stage takes it."""
    for p, (k, m) in enumerate(preds):
        if matches(m, r[3], r[5]):
            return k, p
    return None


def markov_session(rows, conv, stage_preds, stage_names, out):
    """One session's transitions, path and visits, as src/paths/mod.rs::count
    with order 1; states are events, or stages when `stage_preds` is given
    (an event no stage takes is skipped)."""
    prev, end, path = START, EXIT, []
    edges = {}
    for j, r in enumerate(rows):
        if matches(conv, r[3], r[5]):
            end = CONVERSION
            out.append((("m_after",), len(rows) - j - 1))
            break
        if stage_preds is None:
            state = r[3]
        else:
            hit = stage_of(stage_preds, r)
            if hit is None:
                out.append((("m_skipped",), 1))
                continue
            state = stage_names[hit[0]]
        edges[(prev, state)] = edges.get((prev, state), 0) + 1
        if prev != state:
            path.append(state)
        prev = state
    edges[(prev, end)] = edges.get((prev, end), 0) + 1
    for (a, b), c in edges.items():
        out.append((("m_edge", a, b), c))
    converted = end == CONVERSION
    out.append((("m_session", converted), 1))
    for state in dict.fromkeys([START] + path):
        out.append((("m_visit", state, converted), 1))
    out.append((("m_path",) + tuple(path) + (end,), 1))


def bump(d, key, n=1):
    d[key] = d.get(key, 0) + n


def stages_user(rows, st, out):
    """One user's stage figures, as src/stages/mod.rs::partial."""
    names, preds = st["names"], st["preds_m"]
    kn = len(names)
    pi, ci = st.get("page_i"), st.get("channel_i")
    of = []
    first, last = [None] * kn, [None] * kn
    ev, un, pg, ch, pm = {}, {}, {}, {}, set()
    for i, r in enumerate(rows):
        hit = None
        for p, (k, m) in enumerate(preds):
            if matches(m, r[3], r[5]):
                pm.add(p)
                if hit is None:
                    hit = (k, p)
        if hit is None:
            of.append(None)
            bump(un, r[3])
            continue
        k, p = hit
        of.append(k)
        out.append((("st_pred", p), 1))
        out.append((("st_stage", k), 1))
        bump(ev, (k, r[3]))
        if pi is not None and r[5][pi] is not None:
            bump(pg, (k, r[5][pi]))
        if ci is not None and r[5][ci] is not None:
            bump(ch, (k, r[5][ci]))
        if first[k] is None:
            first[k] = i
        last[k] = i
    last_event = rows[-1][3]
    for k in range(kn):
        if first[k] is None:
            continue
        out.append((("st_reached", k), 1))
        if k + 1 < kn:
            if last[k + 1] is not None and last[k + 1] > first[k]:
                out.append((("st_next", k), 1))
            else:
                out.append((("st_exit", k, last_event), 1))
    # Backward: at a stage's first event, the time spent ends at the
    # nearest event of any later stage, else at the stage's last event.
    next_at = [None] * kn
    for i in range(len(rows) - 1, -1, -1):
        k = of[i]
        if k is None:
            continue
        next_at[k] = i
        if first[k] == i:
            later = [x for x in next_at[k + 1 :] if x is not None]
            stop = min(later) if later else last[k]
            out.append((("st_ms", k, rows[stop][0] - rows[i][0]), 1))
    for tag, d in (("st_ev", ev), ("st_pg", pg), ("st_ch", ch)):
        for (k, v), n in d.items():
            out.append(((tag, k, v), n))
            out.append(((tag + "u", k, v), 1))
    for e, n in un.items():
        out.append((("st_un", e), n))
        out.append((("st_unu", e), 1))
    for p in pm:
        out.append((("st_pm", p), 1))


def per_user(rows, plan, end):
    """Every count one user adds. `rows`: (ts, file, row id, event, session,
    property cells), in any order."""
    rows = sorted(rows, key=lambda r: (r[0], r[1], r[2]))
    out = [(("per_user", len(rows)), 1)]
    counts = {}
    for r in rows:
        counts[r[3]] = counts.get(r[3], 0) + 1
    for e, c in counts.items():
        out.append((("event", e), c))
        out.append((("event_users", e), 1))
    sessions = []
    if plan["sessions_from_column"]:
        open_ = {}
        for r in rows:
            s = open_.get(r[4])
            if s is None:
                s = open_[r[4]] = len(sessions)
                sessions.append([])
            sessions[s].append(r)
    else:
        gap = plan["session_gap_ms"]
        prev = None
        for r in rows:
            if prev is None or r[0] - prev > gap:
                sessions.append([])
            sessions[-1].append(r)
            prev = r[0]
    for s in sessions:
        out.append((("s_events", len(s)), 1))
        out.append((("s_ms", max(r[0] for r in s) - min(r[0] for r in s)), 1))
    f = plan.get("funnel")
    if f is not None:
        units = [rows] if f["per"] == "user" else sessions
        for u in units:
            funnel_unit(u, f, end, out)
    st = plan.get("stages")
    if st is not None:
        stages_user(rows, st, out)
    m = plan.get("markov")
    if m is not None:
        by_stage = st["preds_m"] if m["states"] == "stage" else None
        names = st["names"] if by_stage is not None else None
        for s in sessions:
            markov_session(s, m["conversion_m"], by_stage, names, out)
    return out


def main():
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    with open(sys.argv[1], encoding="utf-8") as fh:
        plan = json.load(fh)
    spark = (
        SparkSession.builder.appName("journeymap per-user pass")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    try:
        run(spark, plan, F, T)
    except InputError as e:
        print(f"journeymap job: {e}", file=sys.stderr)
        spark.stop()
        sys.exit(3)
    spark.stop()


def run(spark, plan, F, T):
    cols = plan["columns"]
    files = plan["files"]
    if plan["format"] == "parquet":
        df = spark.read.parquet(*files)
    else:
        raise InputError("the Spark job reads Parquet only; convert the CSV export first")
    fields = {f.name: f.dataType for f in df.schema.fields}
    for key in ("user", "event", "time"):
        if cols[key] not in fields:
            raise InputError(
                f"no column {cols[key]!r} (the {key} column) in the input; it has {sorted(fields)}"
            )
    time_type = fields[cols["time"]]
    ntz = type(time_type).__name__ == "TimestampNTZType"
    if not isinstance(time_type, T.TimestampType) and not ntz:
        raise InputError(
            f"column {cols['time']!r} is {time_type.simpleString()}: the Spark job reads Parquet timestamp columns only (journeymap itself also reads text and epoch numbers)"
        )
    session_col = cols.get("session")
    use_session = (
        session_col is not None
        and not plan["resessionize"]
        and (session_col in fields or cols.get("session_explicit"))
    )
    if use_session and session_col not in fields:
        raise InputError(f"no column {session_col!r} (the session column) in the input")
    props = plan["properties"]
    for p in props:
        if p not in fields:
            raise InputError(f"no property column {p!r} in the input")
        if not isinstance(fields[p], T.StringType):
            raise InputError(
                f"property {p!r} is {fields[p].simpleString()}: predicates on it compare text, which the Spark job does only for string columns"
            )
    st = plan.get("stages")
    if st is not None:
        # Stage tallies count pages and channels by these columns when the
        # export has them, as journeymap does.
        for role in ("page", "channel"):
            if role in fields:
                if not isinstance(fields[role], T.StringType):
                    raise InputError(
                        f"column {role!r} is {fields[role].simpleString()}: the stage tallies compare text, which the Spark job does only for string columns"
                    )
                if role not in props:
                    props.append(role)
                st[role + "_i"] = props.index(role)
        st["preds_m"] = [(k, matcher(p, props)) for k, p in st["predicates"]]
    plan["sessions_from_column"] = use_session
    for f in ("funnel",):
        if plan.get(f):
            plan[f]["steps_m"] = [matcher(p, props) for p in plan[f]["steps"]]
            plan[f]["exclude_m"] = [matcher(p, props) for p in plan[f]["exclude"]]
    if plan.get("markov"):
        plan["markov"]["conversion_m"] = matcher(plan["markov"]["conversion"], props)

    # The input order of a row: its file's place in the plan, then its place
    # in the file (a file's splits are read in offset order).
    index = {norm(p): i for i, p in enumerate(files)}
    file_of = F.udf(lambda uri: index.get(norm(uri), len(files)), T.IntegerType())
    ms = F.floor(F.unix_micros(F.col(f"`{cols['time']}`").cast("timestamp")) / 1000)
    strip = F.udf(present, T.StringType())

    def trim(c):
        return strip(F.col(f"`{c}`").cast("string"))

    ev = df.select(
        trim(cols["user"]).alias("u"),
        trim(cols["event"]).alias("e"),
        ms.alias("t"),
        (trim(session_col) if use_session else F.lit(None).cast("string")).alias("s"),
        F.array(*[trim(p) for p in props]).alias("p")
        if props
        else F.array().cast("array<string>").alias("p"),
        file_of(F.input_file_name()).alias("f"),
        F.monotonically_increasing_id().alias("r"),
        *[F.col(f"`{c}`").alias(f"_c{i}") for i, c in enumerate(df.columns)],
    )
    reason = (
        F.when(F.col("u").isNull(), "missing_user")
        .when(F.col("e").isNull(), "missing_event")
        .when(F.col("t").isNull(), "missing_timestamp")
        .when((F.col("t") < 0) | (F.col("t") >= TS_MAX), "timestamp_out_of_range")
    )
    if use_session:
        reason = reason.when(F.col("s").isNull(), "missing_session")
    ev = ev.withColumn("why", reason).cache()
    rows = {"read": ev.count(), "rejected": {}}
    for r in ev.where(F.col("why").isNotNull()).groupBy("why").count().collect():
        rows["rejected"][r["why"]] = r["count"]
    valid = ev.where(F.col("why").isNull())
    # Exact copies: the same user, event, time (ms), session and every
    # other column; text compared as journeymap reads it (trimmed, empty
    # as missing).
    others = [
        f"_c{i}"
        for i, c in enumerate(df.columns)
        if c not in (cols["user"], cols["event"], cols["time"], session_col)
    ]
    norm_other = [
        strip(F.col(f"_c{i}")) if isinstance(fields[df.columns[i]], T.StringType) else F.col(f"_c{i}")
        for i in (int(c[2:]) for c in others)
    ]
    key_cols = ["u", "e", "t", "s"] + [f"o{i}" for i in range(len(norm_other))]
    dup = valid.select(
        "u", "e", "t", "s", *[c.alias(f"o{i}") for i, c in enumerate(norm_other)]
    ).groupBy(*key_cols).count()
    rows["duplicates"] = dup.agg(F.sum(F.col("count") - 1)).collect()[0][0] or 0
    span = valid.agg(F.min("t"), F.max("t"), F.count(F.lit(1))).collect()[0]
    rows["used"] = span[2]
    rows["first_ms"], rows["last_ms"] = span[0], span[1]
    rows["naive"] = span[2] if ntz else 0
    rows["properties"] = [
        c for c in df.columns if c not in (cols["user"], cols["event"], cols["time"], session_col)
    ]
    rows["sessions_from_column"] = use_session
    rows["stage_columns"] = [r for r in ("page", "channel") if st is not None and r + "_i" in st]
    per_file = {
        r["f"]: [r["n"], r["bad"]]
        for r in ev.groupBy("f")
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.sum(F.when(F.col("why").isNotNull(), 1).otherwise(0)).alias("bad"),
        )
        .collect()
    }
    rows["files"] = [per_file.get(i, [0, 0]) for i in range(len(files))]
    end = span[1] if span[1] is not None else 0

    counts = (
        valid.select("u", "t", "f", "r", "e", "s", "p")
        .rdd.map(lambda x: (x[0], (x[1], x[2], x[3], x[4], x[5], list(x[6]))))
        .groupByKey()
        .flatMap(lambda kv: per_user(list(kv[1]), plan, end))
        .reduceByKey(lambda a, b: a + b)
        .map(lambda kv: json.dumps(list(kv[0]) + [kv[1]], ensure_ascii=False))
    )
    out = plan["out"].rstrip("/")
    counts.saveAsTextFile(out + "/counts")
    spark.sparkContext.parallelize([json.dumps(rows, ensure_ascii=False)], 1).saveAsTextFile(
        out + "/rows"
    )


def norm(uri):
    """A file's path from a URI Spark gives or a path the plan names."""
    from urllib.parse import unquote, urlparse

    u = urlparse(uri)
    if u.scheme in ("", "file"):
        import os

        return os.path.normpath(unquote(u.path) if u.scheme else uri)
    return uri


if __name__ == "__main__":
    main()
