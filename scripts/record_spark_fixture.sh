#!/usr/bin/env bash
# Re-records fixtures/spark/run/: the Spark job's aggregates for
# fixtures/spark/events.parquet under fixtures/spark/journey.toml, which
# tests/cli/spark.rs (recorded_aggregates_give_the_local_report) reads
# without Spark. Run it after changing src/spark/job.py or the aggregates
# format. Needs spark-submit (pip install pyspark) and Java.
set -euo pipefail
cd "$(dirname "$0")/.."
export SPARK_LOCAL_IP=127.0.0.1
cargo run --release --quiet -- push --engine spark fixtures/spark/events.parquet \
    --config fixtures/spark/journey.toml --out fixtures/spark/run \
    --spark-submit "${JOURNEYMAP_SPARK_SUBMIT:-spark-submit}" --master 'local[1]' \
    --conf spark.ui.enabled=false --conf spark.driver.host=127.0.0.1 \
    --conf spark.driver.bindAddress=127.0.0.1
rm -f fixtures/spark/run/spark.log fixtures/spark/run/job.py
find fixtures/spark/run/aggregates -name '.*crc' -delete
# One part file per output, sorted, so the fixture diffs well.
for d in fixtures/spark/run/aggregates/*/; do
    cat "$d"part-* | LC_ALL=C sort > "$d/all" && rm "$d"part-* && mv "$d/all" "$d/part-00000"
done
# Paths relative to the repository, as the tests run.
sed -i "s#$PWD/##g" fixtures/spark/run/plan.json
