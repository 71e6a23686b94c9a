#!/usr/bin/env python3
"""Parity of `journeymap propensity train` with scikit-learn's LogisticRegression.

Fits sklearn on exactly the matrix journeymap fitted (`--features-out`: the
standardized features of the labeled users, the split and the label), with
the same L2 strength, and compares hold-out AUC and coefficient signs.

    journeymap propensity train data.csv --target upgrade \
        --model-out model.json --features-out matrix.csv
    python3 scripts/sklearn_logistic_parity.py matrix.csv model.json

The L2 mapping: linfa-logistic minimizes  sum(logloss) + alpha/2 * |w|^2,
sklearn minimizes  C * sum(logloss) + 1/2 * |w|^2  -- the same objective
divided by C -- so C = 1 / alpha (model.json's `sklearn_c`). Neither
penalizes the intercept. With `--class-weight balanced` journeymap repeats
each user of the rarer class round(majority / minority) times; here that is
class_weight={minority: that factor}, which is the same loss.

Pass criteria (the issue's acceptance 2): |AUC difference| <= 0.005 on the
hold-out and the same sign for every coefficient. Exit code 0 on a pass,
1 otherwise. Needs numpy and scikit-learn (`pip install scikit-learn`).
"""

import csv
import json
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    matrix_path, model_path = sys.argv[1], sys.argv[2]
    with open(model_path) as f:
        model = json.load(f)
    with open(matrix_path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    names = header[2:-1]
    want = [feat["name"] for feat in model["features"]]
    if names != want:
        print(f"the matrix's columns {names} are not the model's features {want}")
        return 1
    split = np.array([r[1] for r in body])
    x = np.array([[float(v) for v in r[2:-1]] for r in body])
    y = np.array([int(r[-1]) for r in body])
    train, hold = split == "train", split == "holdout"

    alpha = model["l2"]
    c = 1.0 / alpha
    weight = None
    if model["class_weight"] == "balanced":
        pos = int(y[train].sum())
        neg = int(train.sum()) - pos
        minority = 1 if pos < neg else 0
        weight = {minority: round(max(pos, neg) / max(min(pos, neg), 1)), 1 - minority: 1}
    sk = LogisticRegression(C=c, l1_ratio=0.0, solver="lbfgs", tol=1e-10, max_iter=10_000, class_weight=weight)
    sk.fit(x[train], y[train])
    p_sk = sk.predict_proba(x[hold])[:, 1]

    w = np.array([feat["coefficient"] for feat in model["features"]])
    b = model["intercept"]
    p_jm = 1.0 / (1.0 + np.exp(-(x[hold] @ w + b)))

    auc_sk = roc_auc_score(y[hold], p_sk)
    auc_jm = roc_auc_score(y[hold], p_jm)
    auc_report = model["metrics"]["holdout"]["auc"]
    print(f"rows: {int(train.sum())} train, {int(hold.sum())} hold-out; {len(names)} features; "
          f"l2 alpha {alpha} = sklearn C {c:g}; class weight {model['class_weight']}")
    print(f"hold-out AUC: journeymap {auc_jm:.6f} (model.json says {auc_report}), "
          f"sklearn {auc_sk:.6f}, difference {abs(auc_jm - auc_sk):.6f}")
    print(f"intercept: journeymap {b:.6f}, sklearn {sk.intercept_[0]:.6f}")
    print(f"{'feature':40} {'journeymap':>12} {'sklearn':>12}  sign")
    mismatched = []
    for name, a, s in zip(names, w, sk.coef_[0]):
        same = np.sign(a) == np.sign(s)
        if not same:
            mismatched.append(name)
        print(f"{name:40} {a:12.6f} {s:12.6f}  {'same' if same else 'DIFFERENT'}")
    max_diff = float(np.max(np.abs(w - sk.coef_[0])))
    print(f"largest coefficient difference: {max_diff:.6f}")
    ok = abs(auc_jm - auc_sk) <= 0.005 and not mismatched
    print("PASS" if ok else f"FAIL (sign differs for: {', '.join(mismatched) or 'none'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
