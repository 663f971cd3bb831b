#!/usr/bin/env bash
# raft-eval from the command line on the tiny chat model
# (tests/parity/fixtures/tiny-chat), a LoRA adapter raft-train makes, and
# data raft-assemble makes from the demo documents: the three modes, a run
# killed with kill -9 and continued, score on RAFT's prediction format, the
# report in a real headless browser, ask, and the inputs it refuses.
set -euo pipefail
source "$RK_SRC/tests/e2e/lib.sh"
source "$RK_SRC/tests/e2e/browser.sh"
eval_="$RK_BIN/raft-eval"
model="$RK_SRC/tests/parity/fixtures/tiny-chat"

must "$ingest" --kb kb --quiet "$RK_SRC/pipelines/demo/docs"
must "$index" build --kb kb --quiet
must "$assemble" --kb kb --out data --format chat,raft,eval --split 0.7,0,0.3 --distractors 2 --seed 1 --quiet
must "$RK_BIN/raft-train" --model "$model" --data data/train.chat.jsonl --out lora --method lora --lr 1e-2 \
    --max-steps 4 --batch 2 --max-len 1024 --seed 1 --quiet
head -n 6 data/test.eval.jsonl >test.jsonl
n=$(wc -l <test.jsonl | tr -d ' ')
gen=(--max-new-tokens 12 --quiet)

# --- the three modes -----------------------------------------------------------
expect_rc 0 "closed book" "$eval_" run --model "$model" --data test.jsonl --mode closed --out runs/closed "${gen[@]}"
expect_out_has "tiny-chat-closed: $n examples, EM" "the headline names the run and counts the examples"
expect_rc 0 "oracle, with the adapter" "$eval_" run --model "$model" --adapter lora --data test.jsonl --mode oracle \
    --out runs/oracle --name raft-oracle "${gen[@]}"
expect_rc 0 "rag" "$eval_" run --model "$model" --adapter lora --data test.jsonl --mode rag --kb kb -k 3 \
    --out runs/rag "${gen[@]}" --json
for r in closed oracle rag; do
    expect_eq "$n" "$(wc -l <runs/$r/predictions.jsonl | tr -d ' ')" "$r: one prediction per example"
    for key in em em_ci f1 f1_ci grounded grounded_ci answer_tag answer_in_context train_log; do
        grep -q "\"$key\":" runs/$r/metrics.json && pass "$r: metrics.json has $key" ||
            fail "$r: metrics.json lacks $key"
    done
done
expect_out_has '"mode":"rag"' "--json prints the metrics"
grep -q '"recall": {' runs/rag/metrics.json && pass "rag: recall measured" || fail "rag: no recall"
grep -q '"recall": null' runs/oracle/metrics.json && pass "oracle: no recall" || fail "oracle: recall is not null"
grep -q "\"train_log\": \".*lora/train_log.jsonl\"" runs/oracle/metrics.json && pass "the adapter's training log" ||
    fail "metrics.json does not point at the adapter's train_log.jsonl" "$(cat runs/oracle/metrics.json)"
[ "$(grep -o '"documents":\[{[^]]*' runs/rag/predictions.jsonl | head -n 1 | grep -o '"chunk_id"' | wc -l)" -eq 3 ] &&
    pass "rag: -k 3 documents given" || fail "rag: not 3 documents in the first prediction"

# --- killed and continued --------------------------------------------------------
"$eval_" run --model "$model" --adapter lora --data test.jsonl --mode oracle --out runs/killed --batch 1 \
    "${gen[@]}" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do
    [ -s runs/killed/predictions.jsonl ] && break
    sleep 0.05
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
done_before=$(wc -l <runs/killed/predictions.jsonl | tr -d ' ')
[ "$done_before" -lt "$n" ] && pass "the run was killed part way ($done_before of $n)" ||
    fail "the run finished before the kill"
expect_rc 0 "the killed run continues" "$eval_" run --model "$model" --adapter lora --data test.jsonl --mode oracle \
    --out runs/killed --batch 1 --max-new-tokens 12
expect_err_has "$done_before of $n examples answered before" "it says where it continues"
expect_same_file runs/oracle/predictions.jsonl runs/killed/predictions.jsonl \
    "killed and continued: the same predictions as the run never killed"
expect_rc 1 "a rerun with other settings" "$eval_" run --model "$model" --data test.jsonl --mode oracle \
    --out runs/killed "${gen[@]}"
expect_err_has "adapter" "the refusal names the setting that differs"

# --- score: RAFT's eval format, predictions for unknown ids -----------------------
cat >raft_pred.jsonl <<'EOF'
{"question": "Who built it?", "gold_final_answer": "The Harbour Board", "answer": "##Reason: ...\n<ANSWER>: harbour board"}
{"question": "When?", "gold_final_answer": "1962", "answer": "<ANSWER>: in 1963"}
EOF
expect_rc 0 "score RAFT-format predictions" "$eval_" score --pred raft_pred.jsonl --out runs/raft-ref --name raft-reference --json
expect_out_has '"em":50.0' "EM as SQuAD scores it (articles, case)"
first_id=$(head -n 1 test.jsonl | sed -E 's/^\{"id":"([^"]*)".*/\1/')
printf '{"id": "%s", "prediction": "x"}\n{"id": "nope", "prediction": "y"}\n' "$first_id" >ids.jsonl
expect_rc 0 "score by id" "$eval_" score --pred ids.jsonl --data test.jsonl --out runs/ids --json
expect_out_has '"unknown_ids":1' "an unknown id is reported"
expect_err_has 'no example with id "nope"' "and named"
expect_out_has "\"missing\":$((n - 1))" "examples without a prediction are counted"

# --- the report, in a browser -----------------------------------------------------
expect_rc 0 "report" "$eval_" report runs/closed runs/oracle runs/rag runs/raft-ref --out report
for name in tiny-chat-closed raft-oracle lora-rag raft-reference; do
    grep -qF "$name" report/report.md && pass "report.md lists $name" || fail "report.md lacks $name"
done
check_in_browser report/report.html "${RK_REPORT_SCREENSHOT:-$tmp/report.png}" &&
    pass "the report loads in chromium with no console message and no network request" ||
    fail "the report has problems in chromium (above)"
for name in tiny-chat-closed raft-oracle lora-rag; do
    grep -qF "$name" "$browser_dom" && pass "the page's table lists $name" || fail "the page lacks $name"
done

# --- ask ------------------------------------------------------------------------------
expect_rc 0 "ask" "$eval_" ask --model "$model" --adapter lora --kb kb -k 2 --max-new-tokens 8 --json \
    "When was the Old Bess turbine decommissioned?"
expect_out_has '"documents":[{' "ask prints the documents it was given"

# --- bad input ------------------------------------------------------------------------
printf '{"id": "a", "question": "Q?", "answer": "x"}\n{"id": "b", "question": "Q2?"}\n' >nogold.jsonl
expect_rc 1 "data without gold answers" "$eval_" run --model "$model" --data nogold.jsonl --mode closed --out runs/x
expect_err_has "nogold.jsonl:2: no gold answer" "the line is named"
mkdir -p other
cp lora/adapter_model.safetensors other/
sed -E 's#"base_model_name_or_path": *"[^"]*"#"base_model_name_or_path": "Qwen/Qwen2-0.5B-Instruct"#' \
    lora/adapter_config.json >other/adapter_config.json
expect_rc 1 "an adapter for another base model" "$eval_" run --model "$model" --adapter other --data test.jsonl \
    --mode closed --out runs/y
expect_err_has '"Qwen/Qwen2-0.5B-Instruct"' "the adapter's base is named"
expect_err_has "tiny-chat" "and the model's"
[ ! -e runs/y ] && pass "a run that cannot start leaves no run directory" || fail "runs/y was left behind"
expect_rc 2 "rag without a KB" "$eval_" run --model "$model" --data test.jsonl --mode rag --out runs/z
expect_rc 2 "an unknown mode" "$eval_" run --model "$model" --data test.jsonl --mode open --out runs/z
expect_err_has "closed, rag or oracle" "the choices are named"
finish
