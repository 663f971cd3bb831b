#!/usr/bin/env bash
# raft-index on the demo corpus: several named indexes of different FAISS
# families, search parameters, a file of queries, hybrid fusion, update after
# ingest, verify, and the bad inputs of each.
set -euo pipefail
source "$RK_SRC/tests/e2e/lib.sh"

kb="$tmp/kb"
must "$ingest" --kb "$kb" --quiet --chunk-size 400 --overlap 60 "$RK_SRC/pipelines/demo/docs"

# --- several indexes in one KB -------------------------------------------------
expect_rc 0 "build: exact (Flat)" "$index" build --kb "$kb" --name exact --json
chunks=$(json_num vectors out)
expect_eq "$chunks" "$(json_num embedded out)" "build: exact embedded every chunk"
expect_rc 0 "build: fast (IVF16,Flat) reuses the vectors" "$index" build --kb "$kb" --name fast --factory IVF16,Flat --train-sample 50 --seed 7 --json
expect_eq 0 "$(json_num embedded out)" "build: fast embedded nothing new"
expect_eq 50 "$(json_num trained_on out)" "build: fast trained on --train-sample vectors"
expect_rc 0 "build: graph (HNSW32)" "$index" build --kb "$kb" --name graph --factory HNSW32
expect_rc 0 "stats: three indexes" "$index" stats --kb "$kb" --json
for name in exact fast graph; do expect_out_has "\"name\":\"$name\"" "stats: lists $name"; done

# --- the same build twice gives the same index ------------------------------------
expect_rc 0 "determinism: rebuild fast with the same seed" "$index" build --kb "$kb" --name fast --factory IVF16,Flat --train-sample 50 --seed 7 --json
b1=$(json_num bytes out)
q="When was the Old Bess turbine decommissioned?"
expect_rc 0 "determinism: query fast" "$index" query --kb "$kb" --name fast --param nprobe=16 --json "$q"
cp out fast1
expect_rc 0 "determinism: build again" "$index" build --kb "$kb" --name fast --factory IVF16,Flat --train-sample 50 --seed 7 --json
expect_eq "$b1" "$(json_num bytes out)" "determinism: same index size"
expect_rc 0 "determinism: query again" "$index" query --kb "$kb" --name fast --param nprobe=16 --json "$q"
expect_same_file fast1 out "determinism: same answers"

# --- parameters ----------------------------------------------------------------
expect_rc 0 "param: nprobe=16 makes IVF16 exact" "$index" query --kb "$kb" --name fast --param nprobe=16 -k 5 --json "$q"
cut -d, -f3- out > fast.ids
expect_rc 0 "param: Flat" "$index" query --kb "$kb" --name exact -k 5 --json "$q"
cut -d, -f3- out > exact.ids
expect_same_file exact.ids fast.ids "param: IVF with every list probed ranks like Flat"
expect_rc 2 "param: efSearch is not a parameter of an IVF index" "$index" query --kb "$kb" --name fast --param efSearch=64 "$q"
expect_err_has "efSearch" "param: the error names the parameter"
expect_rc 0 "param: efSearch on HNSW" "$index" query --kb "$kb" --name graph --param efSearch=64 -k 1 "$q"
expect_out_has "2009" "param: HNSW answers"
# A refining index re-ranks k_factor_rf * k candidates of its projection on
# the full vectors: with every list probed and at least every chunk a
# candidate, it ranks (and scores) exactly like Flat.
expect_rc 0 "refine: build PCA16,IVF4,Flat,RFlat" "$index" build --kb "$kb" --name refined --factory PCA16,IVF4,Flat,RFlat --seed 7
expect_rc 0 "refine: every list, every chunk a candidate" "$index" query --kb "$kb" --name refined --param "nprobe=4,k_factor_rf=$chunks" -k 5 --json "$q"
cut -d, -f3- out > refined.ids
expect_same_file exact.ids refined.ids "refine: ranks and scores like Flat"
expect_rc 0 "refine: k_factor_rf=1" "$index" query --kb "$kb" --name refined --param nprobe=4,k_factor_rf=1 -k 5 --json "$q"
expect_eq 5 "$(wc -l < out)" "refine: k results at k_factor_rf=1"

# --- a file of queries ------------------------------------------------------------
printf '{"id": "q1", "query": "When was the Old Bess turbine decommissioned?"}\n{"id": 2, "query": "ferry timetable"}\n' > q.jsonl
expect_rc 0 "queries: JSONL" "$index" query --kb "$kb" --name exact --queries q.jsonl -k 2 --json
expect_eq 4 "$(wc -l < out)" "queries: 2 queries x 2 results"
expect_eq 2 "$(grep -c '"query":"q1"' out)" "queries: ids from the file"
expect_eq 2 "$(grep -c '"query":"2"' out)" "queries: numeric ids too"
printf 'a\tWhen was the Old Bess turbine decommissioned?\nb\tferry timetable\n' > q.tsv
expect_rc 0 "queries: TSV" "$index" query --kb "$kb" --name exact --queries q.tsv -k 2 --json
sed 's/"query":"a"/"query":"q1"/; s/"query":"b"/"query":"2"/' out > tsv.out
expect_rc 0 "queries: JSONL again" "$index" query --kb "$kb" --name exact --queries q.jsonl -k 2 --json
expect_same_file out tsv.out "queries: TSV and JSONL give the same results"
for field in chunk_id uri start end score; do expect_out_has "\"$field\":" "queries: --json has $field"; done
printf '{"query": 5}\n' > bad.jsonl
expect_rc 1 "queries: a line without a string query" "$index" query --kb "$kb" --queries bad.jsonl
expect_err_has "bad.jsonl:1" "queries: the error names file and line"

# --- hybrid ---------------------------------------------------------------------------
expect_rc 0 "fuse: exact and graph" "$index" query --kb "$kb" --fuse exact,graph -k 3 --json "$q"
expect_eq 3 "$(wc -l < out)" "fuse: k results"
expect_out_has "2009" "fuse: the answer is among them"
expect_rc 1 "fuse: an unknown index" "$index" query --kb "$kb" --fuse exact,nope "$q"
expect_err_has "nope" "fuse: names the missing index"

# --- another factory on an existing name needs --rebuild ------------------------------------
expect_rc 1 "rebuild: another factory without --rebuild" "$index" build --kb "$kb" --name fast --factory Flat
expect_err_has "--rebuild" "rebuild: says to pass --rebuild"
expect_rc 0 "rebuild: with --rebuild" "$index" build --kb "$kb" --name fast --factory SQ8 --rebuild

# --- update and verify ----------------------------------------------------------------
mkdir more
printf '# Quokkas\n\nA colony of quokkas was counted on the island in 2023.\n' > more/quokka.md
must "$ingest" --kb "$kb" --quiet --chunk-size 400 --overlap 60 more
for name in exact graph refined; do
    expect_rc 0 "update: $name" "$index" update --kb "$kb" --name "$name" --json
    expect_eq 1 "$(json_num added out)" "update: $name added the new chunk"
done
expect_rc 1 "verify: fast was not updated" "$index" verify --kb "$kb"
expect_out_has "fast" "verify: names the index that lacks the chunk"
expect_out_has "INCONSISTENT" "verify: says so"
expect_rc 0 "update: fast" "$index" update --kb "$kb" --name fast
expect_rc 0 "verify: all updated" "$index" verify --kb "$kb" --json
expect_out_has '"ok":true' "verify: consistent"
expect_rc 0 "update: finds the new text" "$index" query --kb "$kb" --name graph -k 1 "how many quokkas"
expect_out_has "quokka.md" "update: the new document answers"

# --- shards, built side by side, then merged --------------------------------------------
"$index" build --kb "$kb" --name big --factory IVF8,Flat --train-sample 64 --seed 3 --shard 1/2 --quiet > shard1.log 2>&1 &
p1=$!
"$index" build --kb "$kb" --name big --factory IVF8,Flat --train-sample 64 --seed 3 --shard 2/2 --quiet > shard2.log 2>&1 &
p2=$!
if wait "$p1" && wait "$p2"; then pass "shards: two builds side by side"; else fail "shards: a shard build failed" "$(cat shard1.log shard2.log)"; fi
expect_rc 0 "shards: stats" "$index" stats --kb "$kb" --json
expect_out_has '"name":"big.1"' "shards: big.1 stored"
expect_out_has '"name":"big.2"' "shards: big.2 stored"
expect_rc 0 "merge: two shards" "$index" merge --kb "$kb" --name big --shards 2 --json
expect_eq "$((chunks + 1))" "$(json_num vectors out)" "merge: the merged index holds every chunk"
expect_rc 0 "merge: verify" "$index" verify --kb "$kb"
expect_out_has "consistent" "merge: the KB is consistent (shards gone, big whole)"
expect_rc 0 "merge: query with every list probed" "$index" query --kb "$kb" --name big --param nprobe=8 -k 5 --json "$q"
cut -d, -f3- out > big.ids
expect_rc 0 "merge: exact" "$index" query --kb "$kb" --name exact -k 5 --json "$q"
cut -d, -f3- out > exact5.ids
expect_same_file exact5.ids big.ids "merge: the merged IVF ranks like Flat"
must "$index" build --kb "$kb" --name flatshard --shard 1/2 --quiet
must "$index" build --kb "$kb" --name flatshard --shard 2/2 --quiet
expect_rc 1 "merge: Flat shards cannot be merged" "$index" merge --kb "$kb" --name flatshard --shards 2
expect_err_has "IVF" "merge: says IVF"
expect_rc 1 "merge: a missing shard" "$index" merge --kb "$kb" --name nope --shards 2
expect_err_has "--shard 1/2" "merge: says how to build it"

# --- measured quality -----------------------------------------------------------------
# The demo questions, each with the document holding its answer as the relevant one.
while IFS=$'\t' read -r question answer; do
    doc=$(grep -rlF -- "$answer" "$RK_SRC/pipelines/demo/docs" | head -n 1)
    printf '{"query": "%s", "relevant": ["%s"]}\n' "$question" "$doc"
done < "$RK_SRC/pipelines/demo/queries.tsv" > qrels.jsonl
nq=$(wc -l < qrels.jsonl)
expect_rc 0 "eval: every index" "$index" eval --kb "$kb" --qrels qrels.jsonl --json
expect_eq 7 "$(wc -l < out)" "eval: one line per index (exact, fast, graph, refined, big, flatshard.1, flatshard.2)"
grep '"index":"exact"' out > exact.json
expect_eq "$nq" "$(json_num queries exact.json)" "eval: every query counted"
expect_eq 1.0 "$(json_num recall@100 exact.json)" "eval: exact finds every relevant document within 100"
expect_out_has '"recall@10_vs_exact":null' "eval: exact is not compared with itself"
grep '"index":"graph"' out > graph.json
vs=$(json_num recall@10_vs_exact graph.json)
if awk -v v="$vs" 'BEGIN { exit !(v > 0.9 && v <= 1) }'; then pass "eval: HNSW finds most of the exact top 10 ($vs)"; else fail "eval: HNSW vs exact is $vs" "$(cat graph.json)"; fi
expect_rc 0 "eval: text table for one index" "$index" eval --kb "$kb" --qrels qrels.jsonl --name exact
expect_out_has "MRR@10" "eval: the table has a header"
expect_eq 2 "$(wc -l < out)" "eval: header and one row"
printf '{"query": "x", "relevant": [1, "a.md"]}\n' > mixed.jsonl
expect_rc 1 "eval: mixed relevant ids" "$index" eval --kb "$kb" --qrels mixed.jsonl
expect_err_has "mixed.jsonl:1" "eval: names file and line"

# --- bad input -------------------------------------------------------------------------
expect_rc 1 "training: more lists than chunks" "$index" build --kb "$kb" --name huge --factory IVF4096,Flat
expect_err_has "4096" "training: says how many it needs"
expect_err_has "$((chunks + 1)) chunks" "training: and how many there are"
expect_rc 1 "update: an index that does not exist" "$index" update --kb "$kb" --name nope
expect_err_has "raft-index build" "update: says to build it"

finish
