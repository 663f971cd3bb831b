#!/usr/bin/env bash
# raft-index error handling and the life of an index: query before build,
# directories that are not a KB, a garbage data.mdb, usage errors, query and
# stats output, an index that answers the same after reopening, and a stale
# index after a document changes.
set -euo pipefail
source "$RK_SRC/tests/e2e/lib.sh"

mkdir docs
printf '# Turbines\n\nThe Old Bess turbine was decommissioned in 1912 after a boiler fire.\n\nIts flywheel weighed eleven tons and was cast in Sheffield.\n' > docs/turbines.md
printf '# Pumps\n\nThe beta pump lifted river water forty metres to the mill pond.\n\nA leather valve in the pump was replaced every spring.\n' > docs/pumps.md
printf 'Canals carried coal barges from the pit head to the harbour.\n\nThe lock keeper lived in a cottage beside the third lock.\n' > docs/canals.txt
printf 'The village bakery opened at five and sold rye loaves.\n\nBread was baked in a brick oven heated with beech wood.\n' > docs/bakery.txt

kb="$tmp/kb"
must "$ingest" --kb "$kb" --quiet --chunk-size 80 --overlap 10 docs

# --- query before any build ---------------------------------------------------
expect_rc 1 "never built: query fails" "$index" query --kb "$kb" "turbine"
expect_err_has "raft-index build" "never built: stderr tells to run raft-index build"

# --- paths that are not a KB ------------------------------------------------
mkdir empty-dir other-dir
printf 'my own notes, not a KB\n' > other-dir/notes.txt
cp other-dir/notes.txt notes.orig
printf 'just a file\n' > plain-file

for sub in stats query; do
    args=()
    [ "$sub" = query ] && args=(turbine)
    expect_rc 1 "not a KB: $sub on an empty directory" "$index" "$sub" --kb empty-dir "${args[@]}"
    expect_err_has "not a raftkit KB" "not a KB: $sub on an empty directory says so"
    expect_rc 1 "not a KB: $sub on a directory with an unrelated file" "$index" "$sub" --kb other-dir "${args[@]}"
    expect_err_has "not a raftkit KB" "not a KB: $sub on a directory with an unrelated file says so"
    expect_rc 1 "not a KB: $sub on a regular file" "$index" "$sub" --kb plain-file "${args[@]}"
    expect_err_has "not a raftkit KB" "not a KB: $sub on a regular file says so"
    expect_rc 1 "not a KB: $sub on a path that does not exist" "$index" "$sub" --kb no-such-dir "${args[@]}"
    expect_err_has "no such KB directory" "not a KB: $sub on a missing path says no such KB directory"
done
expect_eq "" "$(ls -A empty-dir)" "not a KB: raft-index left the empty directory empty"

expect_rc 1 "not a KB: ingest into a non-empty directory that is not a KB" "$ingest" --kb other-dir docs/pumps.md
expect_err_has "not a raftkit KB" "not a KB: ingest says not a raftkit KB"
expect_same_file notes.orig other-dir/notes.txt "not a KB: the unrelated file is untouched"
expect_eq "notes.txt" "$(ls -A other-dir)" "not a KB: ingest created nothing there (no data.mdb)"

# --- a data.mdb full of garbage ---------------------------------------------
mkdir garbage
head -c 8192 /dev/zero | tr '\0' 'x' > garbage/data.mdb
cp garbage/data.mdb garbage.orig
expect_rc 1 "garbage data.mdb: stats refuses it" "$index" stats --kb garbage
expect_err_has "not a raftkit KB" "garbage data.mdb: stats says not a raftkit KB"
expect_rc 1 "garbage data.mdb: query refuses it" "$index" query --kb garbage turbine
expect_err_has "not a raftkit KB" "garbage data.mdb: query says not a raftkit KB"
expect_rc 1 "garbage data.mdb: build refuses it" "$index" build --kb garbage
expect_err_has "not a raftkit KB" "garbage data.mdb: build says not a raftkit KB"
expect_rc 1 "garbage data.mdb: ingest refuses it" "$ingest" --kb garbage docs/pumps.md
expect_err_has "not a raftkit KB" "garbage data.mdb: ingest says not a raftkit KB"
expect_same_file garbage.orig garbage/data.mdb "garbage data.mdb: the file is left as it was"

# --- usage errors -----------------------------------------------------------
expect_rc 2 "usage: no subcommand" "$index"
expect_rc 2 "usage: unknown subcommand" "$index" frobnicate --kb "$kb"
expect_err_has "frobnicate" "usage: the error names the unknown subcommand"
expect_err_has "expected build, update, merge, query, verify, eval or stats" "usage: the error lists every subcommand"
expect_rc 2 "usage: unknown option before the subcommand" "$index" --bogus
expect_rc 2 "usage: unknown option to stats" "$index" stats --kb "$kb" --bogus
expect_err_has "--help" "usage: stats --bogus prints a hint to --help"
expect_rc 2 "usage: unknown option to query" "$index" query --kb "$kb" --bogus turbine
expect_rc 2 "usage: -k 0" "$index" query --kb "$kb" -k 0 turbine
expect_rc 2 "usage: stats without --kb" "$index" stats
expect_rc 2 "usage: --metric other" "$index" build --kb "$kb" --metric cosine
expect_rc 2 "usage: --shard 3/2" "$index" build --kb "$kb" --shard 3/2
expect_rc 2 "usage: --embedder other" "$index" build --kb "$kb" --embedder word2vec
expect_rc 2 "usage: query with both TEXT and --queries" "$index" query --kb "$kb" --queries q.tsv turbine
expect_rc 2 "usage: --fuse with --name" "$index" query --kb "$kb" --fuse a,b --name a turbine
expect_rc 2 "usage: unknown factory" "$index" build --kb "$kb" --factory IVFbogus
expect_err_has "IVFbogus" "usage: the unknown factory is named, with FAISS's message"
expect_rc 0 "help: --help" "$index" --help
expect_out_has "Example" "help: --help shows an Example"
expect_rc 0 "version: --version" "$index" --version

# --- build, query, stats ------------------------------------------------------
expect_rc 0 "build: raft-index build" "$index" build --kb "$kb"
expect_rc 0 "query --json: runs" "$index" query --kb "$kb" --json "When was the Old Bess turbine decommissioned?"
lines=$(wc -l < out)
if [ "$lines" -ge 1 ]; then pass "query --json: prints results ($lines lines)"; else fail "query --json: no output"; fi
for field in rank score chunk_id uri text; do
    n=$(grep -c "\"$field\":" out || true)
    expect_eq "$lines" "$n" "query --json: every line has the field $field"
done
n=$(grep -c '^{.*}$' out || true)
expect_eq "$lines" "$n" "query --json: every line is one JSON object"
head -n 1 out > first
if grep -qF '"rank":1' first && grep -qF 'decommissioned in 1912' first && grep -qF 'turbines.md' first; then
    pass "query --json: rank 1 is the turbine chunk that answers the question"
else
    fail "query --json: rank 1 is not the answering chunk" "$(cat first)"
fi

expect_rc 0 "query -k 3: runs" "$index" query --kb "$kb" --json -k 3 "pump water"
lines=$(wc -l < out)
if [ "$lines" -ge 1 ] && [ "$lines" -le 3 ]; then
    pass "query -k 3: at most 3 lines ($lines)"
else
    fail "query -k 3: expected 1 to 3 lines, got $lines" "$(last_output)"
fi

expect_rc 0 "stats --json: runs" "$index" stats --kb "$kb" --json
chunks=$(json_num chunks out)
if [ -n "$chunks" ] && [ "$chunks" -gt 3 ]; then
    pass "stats --json: the KB has more than 3 chunks ($chunks), so -k 3 was a real limit"
else
    fail "stats --json: expected more than 3 chunks, got '$chunks'" "$(last_output)"
fi
expect_eq "$chunks" "$(json_num vectors out)" "stats --json: vectors == chunks"
expect_eq '"name":"default"' "$(grep -o '"name":"[^"]*"' out | tr '\n' ' ' | sed 's/ $//')" "stats --json: exactly one index, named default"

# --- the index answers the same after reopening -----------------------------
question="Where was the flywheel cast?"
expect_rc 0 "reopen: first query" "$index" query --kb "$kb" -k 3 "$question"
cp out query1
expect_rc 0 "reopen: same query in a new process" "$index" query --kb "$kb" -k 3 "$question"
expect_same_file query1 out "reopen: both processes print the same bytes"
expect_rc 0 "reopen: re-ingest the unchanged docs" "$ingest" --kb "$kb" --json --chunk-size 80 --overlap 10 docs
expect_eq 0 "$(json_num docs_changed out)" "reopen: re-ingest found no changed docs"
expect_rc 0 "reopen: query after re-ingesting unchanged docs" "$index" query --kb "$kb" -k 3 "$question"
expect_same_file query1 out "reopen: same bytes after re-ingesting unchanged docs"
expect_err_lacks "stale" "reopen: no stale warning after an unchanged re-ingest"
expect_err_lacks "update" "reopen: no update advice after an unchanged re-ingest"
expect_rc 0 "reopen: stats after an unchanged re-ingest" "$index" stats --kb "$kb"
expect_err_lacks "stale" "reopen: stats does not call the index stale (stderr)"
if grep -qF stale out; then fail "reopen: stats calls the index stale" "$(last_output)"; else pass "reopen: stats does not call the index stale"; fi

# --- a changed document makes the index stale ---------------------------------
printf '# Turbines\n\nThe Old Bess turbine was sold for scrap in 1913.\n' > docs/turbines.md
expect_rc 0 "stale: re-ingest after changing a document" "$ingest" --kb "$kb" --json --chunk-size 80 --overlap 10 docs
expect_eq 1 "$(json_num docs_changed out)" "stale: re-ingest reports docs_changed 1"
run "$index" query --kb "$kb" -k 3 "$question"
expect_err_has "raft-index update" "stale: query warns on stderr and says to run an update"
expect_err_has "warning" "stale: the query message is a warning"
if [ "$rc" -eq 0 ]; then
    pass "stale: query on a stale index still answers (exit 0)"
else
    fail "stale: query on a stale index should warn and still answer: expected exit 0, got $rc" "$(last_output)"
fi
expect_rc 0 "stale: stats" "$index" stats --kb "$kb"
expect_out_has "stale" "stale: stats shows stale"
expect_rc 0 "stale: stats --json" "$index" stats --kb "$kb" --json
expect_out_has '"stale":true' "stale: stats --json has \"stale\":true"
expect_rc 0 "stale: update" "$index" update --kb "$kb" --json
expect_eq 2 "$(json_num removed out)" "stale: update took out the two chunks of the old version"
expect_eq 1 "$(json_num added out)" "stale: update added the one chunk of the new version"
expect_rc 0 "stale: query after update" "$index" query --kb "$kb" --json -k 1 "What happened to the Old Bess turbine?"
expect_out_has "sold for scrap" "stale: the new text answers"
expect_err_lacks "warning" "stale: no warning after update"
expect_rc 0 "stale: verify after update" "$index" verify --kb "$kb"
expect_out_has "consistent" "stale: verify finds the KB consistent"

finish
