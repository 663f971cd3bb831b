#!/usr/bin/env bash
# The demo pipeline: ingest the bundled docs into a fresh KB, build its index,
# and ask the questions of queries.tsv. For each question it prints the chunk
# ranked first and whether that chunk holds the expected answer; it exits 1 if
# any does not. Then it assembles the RAFT training data (offline questions,
# hard distractors) into WORK_DIR/data and prints a sample of the questions,
# fine-tunes the bundled tiny model with LoRA, and evaluates base and
# fine-tuned model closed book, with retrieval and on the assembled documents
# into WORK_DIR/report.
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
echo

# Fine-tune with LoRA on the chat records. The bundled model
# (tests/parity/fixtures/tiny-chat) is a 2-layer random model over a
# tokenizer trained on these documents: it shows the pipeline working — the
# eval loss falling, an adapter peft can load — not a model worth asking.
model="$here/../../tests/parity/fixtures/tiny-chat"
rm -rf "$work/out"
"$bin/raft-train" --model "$model" --data "$work/data/train.chat.jsonl" --eval-data "$work/data/val.chat.jsonl" \
    --out "$work/out" --method lora --lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj \
    --lr 1e-2 --schedule cosine --warmup 3 --epochs 2 --batch 4 --max-len 2048 --eval-every 5 --seed 1 --quiet
eval_loss() { grep -o '"eval_loss":[0-9.]*' "$work/out/train_log.jsonl" | sed -n "$1p" | cut -d: -f2; }
printf 'demo: raft-train LoRA, %s steps, eval loss %.3f -> %.3f; adapter in %s\n' \
    "$(wc -l <"$work/out/train_log.jsonl" | tr -d ' ')" "$(eval_loss 1)" "$(eval_loss '$')" "$work/out"
question=$(sed -E 's/^.*"question":"(([^"\\]|\\.)*)".*$/\1/' "$work/data/test.eval.jsonl" | head -n 1)
echo "Q: $question"
echo "A (tiny random model + adapter): $("$bin/raft-train" generate --model "$model" --adapter "$work/out" --chat \
    --prompt "$question" --max-tokens 24 --quiet)"
echo

# Evaluate in the settings of the RAFT paper's table: the base model closed
# book and with retrieval, the fine-tuned one on its assembled documents
# (oracle plus distractors) and with retrieval; then the report. A tiny random
# model scores near zero: the figures show the measurement, not a good model.
rm -rf "$work/runs" "$work/report"
runs=()
evaluate() {
    local name=$1
    shift
    "$bin/raft-eval" run --model "$model" --data "$work/data/test.eval.jsonl" --out "$work/runs/$name" \
        --name "$name" --max-new-tokens 32 --quiet "$@"
    runs+=("$work/runs/$name")
}
evaluate base-closed --mode closed
evaluate base-rag --mode rag --kb "$kb"
evaluate raft-oracle --mode oracle --adapter "$work/out"
evaluate raft-rag --mode rag --kb "$kb" --adapter "$work/out"
"$bin/raft-eval" report "${runs[@]}" --out "$work/report" --quiet
sed -n '/^|/p' "$work/report/report.md"
echo "demo: raft-eval report of ${#runs[@]} runs in $work/report/report.html"
