#!/usr/bin/env bash
# The demo pipeline: ingest the bundled docs into a fresh KB, build its index,
# and ask the questions of queries.tsv. For each question it prints the chunk
# ranked first and whether that chunk holds the expected answer; it exits 1 if
# any does not. Then it assembles the RAFT training data (offline questions,
# hard distractors) into WORK_DIR/data and prints a sample of the questions.
# Usage: run.sh BIN_DIR WORK_DIR
set -euo pipefail
bin=${1:?usage: run.sh BIN_DIR WORK_DIR}
work=${2:?usage: run.sh BIN_DIR WORK_DIR}
here=$(cd "$(dirname "$0")" && pwd)
kb="$work/kb"

rm -rf "$kb"
mkdir -p "$work"
"$bin/raft-ingest" --kb "$kb" "$here/docs"
"$bin/raft-index" build --kb "$kb"
"$bin/raft-index" stats --kb "$kb"
echo

hits=0 total=0
while IFS=$'\t' read -r question answer; do
    total=$((total + 1))
    top=$("$bin/raft-index" query --kb "$kb" -k 1 "$question")
    echo "Q: $question"
    echo "$top" | sed 's/^/   /'
    if grep -qF -- "$answer" <<<"$top"; then
        hits=$((hits + 1))
        echo "   -> rank 1 answers it (\"$answer\")"
    else
        echo "   -> MISS: rank 1 does not contain \"$answer\""
    fi
    echo
done <"$here/queries.tsv"
echo "demo: $hits of $total questions answered by the chunk at rank 1"
[ "$hits" -eq "$total" ]
echo

rm -rf "$work/data"
"$bin/raft-assemble" --kb "$kb" --out "$work/data" --distractor-source hard --split 0.5,0.25,0.25 \
    --format raft,chat,dpo,eval --seed 1
echo
echo "A sample of the questions raft-assemble made (test split, with their answers):"
# The eval records start with "id", "question", "answer": pull the two out.
sed -E 's/^.*"question":"(([^"\\]|\\.)*)","answer":"(([^"\\]|\\.)*)".*$/  Q: \1\n     A: \3/' \
    "$work/data/test.eval.jsonl" | head -n 20
