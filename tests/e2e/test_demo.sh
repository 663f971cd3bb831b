#!/usr/bin/env bash
# The demo pipeline (pipelines/demo/run.sh) runs end to end and the chunk at
# rank 1 answers every question of queries.tsv.
set -euo pipefail
source "$RK_SRC/tests/e2e/lib.sh"

expect_rc 0 "demo: run.sh exits 0" bash "$RK_SRC/pipelines/demo/run.sh" "$RK_BIN" "$tmp/work"
if grep -qxF "demo: 8 of 8 questions answered by the chunk at rank 1" out; then
    pass "demo: 8 of 8 questions answered by the chunk at rank 1"
else
    fail "demo: no line 'demo: 8 of 8 questions answered by the chunk at rank 1'" \
        "$(grep -e '^demo:' -e 'MISS' out || echo '(no summary line)')" "$(last_output | tail -40)"
fi

finish
