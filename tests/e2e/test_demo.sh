#!/usr/bin/env bash
# The demo pipeline (pipelines/demo/run.sh) runs end to end, the chunk at
# rank 1 answers every question of queries.tsv, and LoRA fine-tuning on the
# assembled data lowers the eval loss.
set -euo pipefail
source "$RK_SRC/tests/e2e/lib.sh"

expect_rc 0 "demo: run.sh exits 0" bash "$RK_SRC/pipelines/demo/run.sh" "$RK_BIN" "$tmp/work"
if grep -qxF "demo: 8 of 8 questions answered by the chunk at rank 1" out; then
    pass "demo: 8 of 8 questions answered by the chunk at rank 1"
else
    fail "demo: no line 'demo: 8 of 8 questions answered by the chunk at rank 1'" \
        "$(grep -e '^demo:' -e 'MISS' out || echo '(no summary line)')" "$(last_output | tail -40)"
fi
line=$(grep '^demo: raft-train LoRA' out || true)
before=$(sed -E 's/.*eval loss ([0-9.]+) -> ([0-9.]+).*/\1/' <<<"$line")
after=$(sed -E 's/.*eval loss ([0-9.]+) -> ([0-9.]+).*/\2/' <<<"$line")
awk -v a="$before" -v b="$after" 'BEGIN { exit !(a != "" && b < a) }' &&
    pass "demo: fine-tuning lowers the eval loss ($line)" || fail "demo: no falling eval loss" "${line:-(no line)}"
grep -q '^demo: raft-eval report of 4 runs in' out && [ -s "$tmp/work/report/report.html" ] &&
    pass "demo: raft-eval runs the four settings and reports them" ||
    fail "demo: no raft-eval report" "$(last_output | tail -20)"
grep -q '^A (tiny random model + adapter):' out && pass "demo: the adapter generates" ||
    fail "demo: no generation printed" "$(last_output | tail -20)"

finish
