"""The export shapes the speed benchmark compares on (scripts/bench_shapes.sh).

The peer job (job_duckdb.py) computes for every shape what ../../shared/bench-peers/common.py
defines for the 9-column shape: a 5-step ordered funnel with a window from the step-1 event,
transitions within sessions, per-user features, KMeans(4, n_init=10) on z-scored behaviour columns
and LogisticRegression(C=1) on pre-decision columns. A shape names its events and the columns
that play each part; scripts/shapes/<name>.journey.toml asks journeymap for the same analyses."""

RETAIL_EVENTS = ["home", "search", "category", "product", "add_to_cart", "view_cart",
                 "checkout", "shipping", "payment", "purchase"]

SHAPES = {
    # `journeymap generate --scenario ecommerce`: 8 columns, no price, rows per user.
    "ecommerce": {
        "columns": ["user_id", "session_id", "event", "timestamp", "page", "product_id", "device", "channel"],
        "events": ["page_view", "view_promotions", "search", "product_view", "compare", "add_to_cart",
                   "remove_from_cart", "view_cart", "apply_coupon", "begin_checkout", "add_payment_info",
                   "purchase"],
        "funnel": ["product_view", "add_to_cart", "begin_checkout", "add_payment_info", "purchase"],
        "window_days": 14,
        "product_event": "product_view",
        "price": None,
        "outcome_events": ["add_payment_info", "purchase"],
        "browse_events": ["page_view", "view_promotions", "search", "product_view", "compare"],
    },
    # The 9-column warehouse export: price, timestamp[ms, UTC], rows in global time order.
    "retail": {
        "columns": ["user_id", "session_id", "timestamp", "event", "page", "product_id", "price", "device",
                    "channel"],
        "events": RETAIL_EVENTS,
        "funnel": ["home", "product", "add_to_cart", "checkout", "purchase"],
        "window_days": 7,
        "product_event": "product",
        "price": "price",
        "outcome_events": ["payment", "purchase"],
        "browse_events": ["home", "search", "category", "product"],
    },
}
# The retail export widened to 30 property columns (scripts/peers/widen.py); the job reads the
# same 9 columns (a competent analyst selects them; DuckDB pushes the projection into the reader).
SHAPES["wide"] = dict(SHAPES["retail"])
