#!/usr/bin/env bash
# Shards of one ingest run side by side on one KB, as `make -j` runs them:
# they take turns at LMDB's write lock, and together they store exactly what
# one unsharded run stores.
set -euo pipefail
source "$RK_SRC/tests/e2e/lib.sh"

mkdir corpus
awk 'BEGIN { for (f = 0; f < 2000; f++) {
    file = sprintf("corpus/doc%04d.%s", f, f % 2 ? "md" : "txt");
    printf "Document %d\n\n", f > file;
    for (p = 0; p < 6; p++)
        printf "Paragraph %d of document %d is about current %d and quay %d.\n\n", p, f, f * 3 + p, p > file;
    close(file) } }'

must "$ingest" --kb whole --quiet corpus
must "$ingest" ls --kb whole
cut -f2- out | sort > want # chunks, bytes, uri and title; ids depend on the order of commits

pids=()
for i in 1 2 3 4; do
    "$ingest" --kb sharded --quiet --threads 1 --shard "$i/4" corpus >"shard$i.out" 2>"shard$i.err" &
    pids+=($!)
done
for i in 1 2 3 4; do
    shard_rc=0
    wait "${pids[$((i - 1))]}" || shard_rc=$?
    expect_eq 0 "$shard_rc" "shards: shard $i/4 exits 0 $(cat "shard$i.err")"
done
must "$ingest" ls --kb sharded
cut -f2- out | sort > got
expect_same_file want got "shards: four concurrent shards store what one run stores"
expect_rc 0 "shards: a re-run of the whole finds everything unchanged" "$ingest" --kb sharded --json corpus
expect_eq 2000 "$(json_num docs_unchanged out)" "shards: 2000 documents unchanged"

expect_rc 2 "shards: --shard 0/4 is a usage error" "$ingest" --kb x --shard 0/4 corpus
expect_rc 2 "shards: --shard 5/4 is a usage error" "$ingest" --kb x --shard 5/4 corpus
finish
