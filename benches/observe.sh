#!/usr/bin/env bash
# The send path with the `metrics` feature off and on, side by side: builds
# the bench both ways, then runs the observability section of each
# alternately, three rounds, so load drifting on a shared machine weighs on
# both alike. Prints each round's table rows.
set -euo pipefail
cd "$(dirname "$0")/.."
off=$(cargo bench --bench sinks --no-run --message-format=json 2>/dev/null \
    | grep -o '"executable":"[^"]*"' | tail -1 | cut -d'"' -f4)
on=$(cargo bench --bench sinks --features metrics --no-run --message-format=json 2>/dev/null \
    | grep -o '"executable":"[^"]*"' | tail -1 | cut -d'"' -f4)
for round in 1 2 3; do
    for binary in "$off" "$on"; do
        echo "round $round: $(basename "$binary")"
        SINKS_BENCH_ONLY=observe "$binary" --bench 2>/dev/null | grep '`send`'
    done
done
