#!/usr/bin/env bash
# A run killed with SIGKILL mid-way leaves a KB that opens, and the next run
# completes the work: the KB then lists exactly what an uninterrupted run
# writes.
set -euo pipefail
source "$RK_SRC/tests/e2e/lib.sh"

mkdir corpus
awk 'BEGIN { for (f = 0; f < 12000; f++) {
    file = sprintf("corpus/doc%04d.md", f);
    printf "# Document %d\n\n", f > file;
    for (p = 0; p < 12; p++)
        printf "Paragraph %d of document %d tells of tide %d and harbour %d. It has a second sentence.\n\n",
               p, f, f * 13 + p, p * 7 > file;
    close(file) } }'

must "$ingest" --kb clean --quiet --threads 2 corpus
must "$ingest" ls --kb clean
cp out want

"$ingest" --kb killed --quiet --threads 2 corpus 2>/dev/null &
pid=$!
for _ in $(seq 1 400); do # wait until the first documents are committed
    if "$ingest" ls --kb killed >part 2>/dev/null && [ -s part ]; then break; fi
    sleep 0.02
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true

run "$ingest" ls --kb killed
expect_eq 0 "$rc" "killed: the KB opens after SIGKILL"
stored=$(wc -l < out)
expect_eq 1 "$([ "$stored" -gt 0 ] && [ "$stored" -lt 12000 ] && echo 1 || echo 0)" \
    "killed: the run was stopped part-way ($stored of 12000 documents)"
expect_rc 0 "killed: raft-index reads the KB" "$index" stats --kb killed --json

expect_rc 0 "killed: the next run completes" "$ingest" --kb killed --json --threads 2 corpus
expect_eq 12000 "$(( $(json_num docs_new out) + $(json_num docs_unchanged out) ))" \
    "killed: the re-run accounts for every document"
must "$ingest" ls --kb killed
expect_same_file want out "killed: the KB lists what an uninterrupted run writes"
finish
