"""The peer job's exact semantics per export shape, stage timing, models, outputs.

Adapted from ../../../shared/bench-peers/common.py: the event names, funnel and columns come from
shape.py instead of being fixed to the 9-column shape; the computations are the same."""
import argparse
import json
import os
import resource
import sys
import time

from shape import SHAPES

SENTINEL = -(2 ** 62)                 # "no attempt" in the running-max funnel (int64 epoch ms)


class Job:
    """What the job computes for one shape (names as in the original common.py)."""

    def __init__(self, shape):
        sh = SHAPES[shape]
        self.shape = sh
        self.EVENTS = sh["events"]
        self.FUNNEL = sh["funnel"]
        self.WINDOW_MS = sh["window_days"] * 86400 * 1000   # inclusive, from the step-1 event
        self.PRODUCT_EVENT = sh["product_event"]
        self.PRICE = sh["price"]
        # per-user feature table (one row per user, sorted by user_id)
        self.FEATURES = (["user_id", "n_events", "n_sessions", "time_spent_s", "n_distinct_products"]
                         + [f"cnt_{e}" for e in self.EVENTS]
                         + ["avg_product_price", "is_mobile", "first_channel_email", "furthest_step",
                            "purchased"])
        # k-means input: behaviour up to the outcome (the outcome events are left out)
        self.KMEANS_COLS = (["n_sessions", "time_spent_s", "n_distinct_products"]
                            + [f"cnt_{e}" for e in self.EVENTS if e not in sh["outcome_events"]]
                            + (["avg_product_price"] if self.PRICE else []))
        # logistic regression input: pre-decision features only; target = purchased
        self.LOGREG_COLS = (["n_sessions", "n_distinct_products", "is_mobile", "first_channel_email"]
                            + (["avg_product_price"] if self.PRICE else [])
                            + [f"cnt_{e}" for e in sh["browse_events"]])


def parse_args(tool):
    ap = argparse.ArgumentParser(description=f"{tool} anchor of the journey job")
    ap.add_argument("input", help=".csv or .parquet events file")
    ap.add_argument("--shape", default="retail", choices=sorted(SHAPES))
    ap.add_argument("--out-dir", default=None, help="write funnel/transitions/features/models here")
    ap.add_argument("--eval", action="store_true", help="score models against <stem>.truth.csv (untimed)")
    ap.add_argument("--no-models", action="store_true")
    return ap.parse_args()


class Stages:
    """Wall seconds per stage and the process's peak RSS (MiB) at the end of each stage."""

    def __init__(self, tool, path):
        self.tool, self.path, self.t, self.rss = tool, path, {}, {}
        self.t0 = time.perf_counter()

    def __call__(self, name):
        return _Stage(self, name)

    def report(self, **extra):
        rec = {"tool": self.tool, "input": os.path.basename(self.path), "stages": self.t,
               "peak_rss_mib_after": self.rss, "in_process_s": round(time.perf_counter() - self.t0, 4)}
        rec.update(extra)
        print("STAGES " + json.dumps(rec), flush=True)
        return rec


class _Stage:
    def __init__(self, st, name):
        self.st, self.name = st, name

    def __enter__(self):
        self.t = time.perf_counter()

    def __exit__(self, *exc):
        self.st.t[self.name] = round(time.perf_counter() - self.t, 4)
        self.st.rss[self.name] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_models(job, st, feats_pd):
    """k-means (k=4, n_init=10) on standardized features and a logistic regression for purchase.

    feats_pd: pandas DataFrame with FEATURES, sorted by user_id. Returns (labels, test_idx, scores, info)."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    with st("kmeans"):
        X = StandardScaler().fit_transform(feats_pd[job.KMEANS_COLS].to_numpy(dtype=np.float64))
        km = KMeans(n_clusters=4, n_init=10, random_state=0).fit(X)
    with st("logreg"):
        Z = feats_pd[job.LOGREG_COLS].to_numpy(dtype=np.float64)
        y = feats_pd["purchased"].to_numpy().astype(bool)
        test = (np.arange(len(y)) % 10) >= 7           # deterministic split: rows 7,8,9 of every 10 (by user_id)
        sc = StandardScaler().fit(Z[~test])
        lr = LogisticRegression(max_iter=1000).fit(sc.transform(Z[~test]), y[~test])
        score = lr.predict_proba(sc.transform(Z[test]))[:, 1]
    # coefficients back on the raw feature scale, comparable with the planted logit
    raw = lr.coef_[0] / sc.scale_
    info = {"kmeans_inertia": float(km.inertia_), "kmeans_n_iter": int(km.n_iter_),
            "logreg_coef_raw": dict(zip(job.LOGREG_COLS, map(float, raw))),
            "logreg_intercept_raw": float(lr.intercept_[0] - np.sum(lr.coef_[0] * sc.mean_ / sc.scale_))}
    return km.labels_, test, score, info


def evaluate(path, feats_pd, labels, test, score):
    import numpy as np
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score, roc_auc_score
    truth = pd.read_csv(os.path.splitext(path)[0] + ".truth.csv")
    t = feats_pd[["user_id", "purchased"]].merge(truth, on="user_id", how="left", suffixes=("", "_truth"))
    assert len(t) == len(feats_pd) and t["segment"].notna().all()
    y = t["purchased"].to_numpy().astype(bool)
    assert (y == t["purchased_truth"].to_numpy().astype(bool)).all(), "purchased differs from truth"
    return {"ari_vs_segments": float(adjusted_rand_score(t["segment"], labels)),
            "logreg_test_auc": float(roc_auc_score(y[test], score)),
            "bayes_test_auc": float(roc_auc_score(y[test], t["true_purchase_prob"].to_numpy()[test])),
            "n_test": int(test.sum())}


def write_outputs(out_dir, tag, funnel_counts, transitions_pd, feats_pd, info):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, f"{tag}.funnel.json"), "w") as f:
        json.dump(funnel_counts, f)
    transitions_pd.sort_values(["from_event", "to_event"]).to_csv(
        os.path.join(out_dir, f"{tag}.transitions.csv"), index=False)
    feats_pd.to_parquet(os.path.join(out_dir, f"{tag}.features.parquet"), index=False)
    with open(os.path.join(out_dir, f"{tag}.models.json"), "w") as f:
        json.dump(info, f, indent=1)


def funnel_counts_from_furthest(job, furthest_values, n_users):
    """furthest_values: iterable of per-user furthest step (0..5). Users reaching step k, for k = 1..5."""
    import numpy as np
    h = np.bincount(np.asarray(furthest_values, dtype=np.int64), minlength=len(job.FUNNEL) + 1)
    reached = [int(h[k:].sum()) for k in range(1, len(job.FUNNEL) + 1)]
    return {"users": int(n_users), "steps": job.FUNNEL, "reached": reached}


def finish(job, st, args, tool, funnel_counts, transitions_pd, feats_pd):
    info = {"funnel": funnel_counts}
    if not args.no_models:
        labels, test, score, minfo = run_models(job, st, feats_pd)
        info.update(minfo)
        if args.eval:
            info.update(evaluate(args.input, feats_pd, labels, test, score))
    if args.out_dir:
        with st("write"):
            tag = f"{tool}.{os.path.basename(args.input).replace('.', '_')}"
            write_outputs(args.out_dir, tag, funnel_counts, transitions_pd, feats_pd, info)
    st.report(funnel=funnel_counts["reached"],
              **{k: v for k, v in info.items() if k in ("ari_vs_segments", "logreg_test_auc", "bayes_test_auc",
                                                        "kmeans_inertia")})
    sys.stdout.flush()
