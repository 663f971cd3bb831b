#!/usr/bin/env bash
# raft-assemble from the command line: every format from the demo documents,
# byte-identical files for a seed, the summary, and the inputs it refuses —
# usage errors (exit 2), hard distractors without an index, too few chunks
# for K, a --qa file naming an unknown document (reported with its line, the
# rest used), a malformed --qa line.
set -euo pipefail
source "$RK_SRC/tests/e2e/lib.sh"

kb="$tmp/kb"
must "$ingest" --kb "$kb" --quiet "$RK_SRC/pipelines/demo/docs"

# --- hard distractors need an index ------------------------------------------
expect_rc 1 "hard without an index fails" "$assemble" --kb "$kb" --out data --distractor-source hard
expect_err_has 'no index "default"' "hard without an index: the message names the index"
expect_err_has "raft-index build" "hard without an index: the message says how to build one"
expect_eq "" "$(ls -A data 2>/dev/null)" "hard without an index: no file written"

must "$index" build --kb "$kb" --quiet

# --- every format, twice with one seed ---------------------------------------
args=(--kb "$kb" --format raft,chat,completion,dpo,eval --distractor-source hard --split 0.5,0.25,0.25 --seed 3)
expect_rc 0 "assemble every format" "$assemble" "${args[@]}" --out a --json
cp "$tmp/out" summary.json
for split in train val test; do
    for format in raft chat completion dpo eval; do
        [ -s "a/$split.$format.jsonl" ] && pass "a/$split.$format.jsonl written" ||
            fail "a/$split.$format.jsonl is missing or empty"
    done
done
expect_eq 0 "$(ls -A a | grep -c tmp || true)" "no temporary file left behind"
train=$(json_num train summary.json)
expect_eq "$train" "$(wc -l <a/train.raft.jsonl | tr -d ' ')" "the summary counts the train examples"
expect_eq 1 "$(grep -o '"test":[0-9.]*' summary.json | tail -n 1 | cut -d: -f2 | awk '{print $1 + 0}')" \
    "the test split keeps the oracle in every example"
# --out's missing parents are made
expect_rc 0 "assemble again with the same seed" "$assemble" "${args[@]}" --out runs/1/b --quiet
for f in a/*.jsonl; do
    expect_same_file "$f" "runs/1/b/${f#a/}" "same seed, same $(basename "$f")"
done
expect_rc 0 "assemble with another seed" "$assemble" "${args[@]}" --out c --seed 4 --quiet
if cmp -s a/train.raft.jsonl c/train.raft.jsonl; then
    fail "another seed gave the same train.raft.jsonl"
else
    pass "another seed gives other files"
fi
expect_rc 0 "the human summary" "$assemble" --kb "$kb" --out d --split 0.5,0.25,0.25
expect_err_has "questions made" "the human summary counts questions"
expect_out_has "d/train.raft.jsonl" "the human summary lists the files on stdout"

printf 'Read these.\n{documents}Question: {question}\n' >tpl.txt
expect_rc 0 "an instruction template" "$assemble" --kb "$kb" --out t --split 0.5,0.25,0.25 --template tpl.txt --quiet
grep -q '"instruction":"Read these.\\n<DOCUMENT>' t/train.raft.jsonl && grep -q '</DOCUMENT>\\nQuestion: ' t/train.raft.jsonl &&
    pass "the template shapes the instruction" || fail "the template shapes the instruction" "$(head -c 400 t/train.raft.jsonl)"
printf 'no placeholder\n' >bad-tpl.txt
expect_rc 2 "a template without {question}" "$assemble" --kb "$kb" --out t2 --template bad-tpl.txt
expect_rc 1 "a template that does not exist" "$assemble" --kb "$kb" --out t2 --template missing.txt
expect_err_has "missing.txt" "the missing template is named"

# --- refused -----------------------------------------------------------------
expect_rc 1 "more distractors than chunks" "$assemble" --kb "$kb" --out e --distractors 500
expect_err_has "500 distractors and the oracle need at least 501" "too many distractors: the numbers"
expect_rc 2 "an unknown format" "$assemble" --kb "$kb" --out e --format raft,parquet
expect_err_has "unknown format 'parquet'" "an unknown format is named"
expect_rc 2 "shares that do not sum to 1" "$assemble" --kb "$kb" --out e --split 0.5,0.2,0.2
expect_rc 2 "a probability above 1" "$assemble" --kb "$kb" --out e --p-oracle 1.5
expect_rc 2 "no --out" "$assemble" --kb "$kb"
expect_rc 2 "--gen-model without the http generator" "$assemble" --kb "$kb" --out e --gen-model m
expect_rc 2 "an unknown distractor source" "$assemble" --kb "$kb" --out e --distractor-source near
expect_rc 1 "not a KB" "$assemble" --kb "$tmp/nowhere" --out e
expect_err_has "no such KB directory" "not a KB: said so"

# --- the team's own questions ------------------------------------------------
doc="$RK_SRC/pipelines/demo/docs/research-vessel.md"
cat >qa.jsonl <<JSONL
{"question": "When was the RV Ingrid Maelstad launched?", "answer": "2004", "doc": "$doc"}
{"question": "Who owns the moon?", "answer": "Nobody", "doc": "missing.md"}
{"question": "How many days a year does the research vessel spend at sea?", "answer": "160"}
JSONL
expect_rc 0 "a --qa file with an unknown document" "$assemble" --kb "$kb" --out q --qa qa.jsonl --split 1,0,0 --json
expect_err_has "qa.jsonl:2: unknown document \"missing.md\"" "the unknown document is reported with its line"
expect_eq 2 "$(wc -l <q/train.raft.jsonl | tr -d ' ')" "the other lines are used"
grep -q "##begin_quote## The observatory's research vessel, the RV Ingrid Maelstad, was launched in 2004" q/train.raft.jsonl &&
    pass "a --qa answer quotes the oracle's sentence" || fail "a --qa answer quotes the oracle's sentence" "$(head -c 600 q/train.raft.jsonl)"
printf '{"question": "x?", "answer": "y"}\n{"question": \n' >bad.jsonl
expect_rc 1 "a malformed --qa line" "$assemble" --kb "$kb" --out q2 --qa bad.jsonl
expect_err_has "bad.jsonl:2" "the malformed line is named"

finish
