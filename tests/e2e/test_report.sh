#!/usr/bin/env bash
# raft-eval report on run directories written by hand in evalrun.h's formats:
# an oracle run of a fine-tuned model with its training log, a RAG run with
# retrieval figures and a training log that is gone, a closed-book run with
# nulls; names, questions and documents with <, &, quotes and non-ASCII text.
# report.md's table and samples; report.html read by a headless chromium (no
# console message, no network request, every run in the table, the charts,
# escaping); the same seed, the same page; and the inputs it refuses. The
# browser checks are first shown to catch what they look for.
set -euo pipefail
source "$RK_SRC/tests/e2e/lib.sh"
source "$RK_SRC/tests/e2e/browser.sh"
evalx="$RK_BIN/raft-eval"
shot=${RK_REPORT_SCREENSHOT:-$tmp/report.png}

# --- the browser checks catch a console error and a network request ------------
csp='<meta http-equiv="Content-Security-Policy" content="default-src '"'none'"'; style-src '"'unsafe-inline'"'; img-src data:">'
printf '<!DOCTYPE html><html><head><meta charset="utf-8">%s<title>ok</title><style>p{color:#333}</style></head><body><p>fine</p><svg width="20" height="20"><rect width="10" height="10"/></svg><img alt="" src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></body></html>\n' "$csp" >clean.html
printf '<!DOCTYPE html><html><head><meta charset="utf-8">%s<title>blocked</title></head><body><p>x</p><img alt="" src="http://192.0.2.1/blocked.png"></body></html>\n' "$csp" >blocked.html
printf '<!DOCTYPE html><html><head><meta charset="utf-8"><title>fetch</title></head><body><p>x</p><img alt="" src="http://192.0.2.1/fetched.png"></body></html>\n' >fetch.html
printf '<!DOCTYPE html><html><head><meta charset="utf-8"><title>script</title></head><body><p>x</p><script>noSuchFunction();</script></body></html>\n' >script.html

if check_in_browser clean.html clean.png 2>browser.err; then
    pass "a clean page passes the browser checks"
else
    fail "a clean page fails the browser checks" "$(cat browser.err)"
fi
grep -q '<p>fine</p>' "$browser_dom" && pass "the DOM is printed" || fail "no DOM printed" "$(cat "$browser_dom")"
[ -s clean.png ] && pass "a screenshot is written" || fail "no screenshot"
for page in blocked fetch script; do
    if check_in_browser $page.html $page.png 2>browser.$page.err; then
        fail "$page.html passes the browser checks"
    else
        pass "$page.html fails the browser checks"
    fi
done
grep -q 'console: .*blocked.png.*Content Security Policy' browser.blocked.err &&
    pass "a load blocked by the CSP is a console error" ||
    fail "the blocked load is not reported as a console error" "$(cat browser.blocked.err)"
grep -q 'network request: http://192.0.2.1/fetched.png' browser.fetch.err &&
    pass "a request to the network is reported" ||
    fail "the request to the network is not reported" "$(cat browser.fetch.err)"
grep -q 'console: .*noSuchFunction' browser.script.err && pass "a script error is a console error" ||
    fail "the script error is not reported" "$(cat browser.script.err)"

# --- three runs ------------------------------------------------------------------
mkdir -p runs/raft-oracle runs/base-rag runs/base-closed train/lora
cat >runs/raft-oracle/metrics.json <<'EOF'
{"name": "RAFT <oracle> & \"friends\"", "model": "models/tiny-chat", "adapter": "train/lora",
 "mode": "oracle", "data": "data/test.eval.jsonl", "kb": null, "index": null, "k": null,
 "train_log": "train/lora/train_log.jsonl", "n": 4, "unknown_ids": 0, "missing": 0,
 "em": 50.0, "em_ci": [0.0, 100.0], "f1": 62.5, "f1_ci": [25.0, 100.0], "answer_tag": 100.0,
 "quoting": 75.0, "grounded": 50.0, "grounded_ci": [0.0, 100.0], "quotes_oracle": 75.0,
 "answer_in_context": 100.0, "recall": null, "mrr": null}
EOF
doc_o='{"chunk_id": 7, "title": "Z\u00fcrich <notes>", "text": "The lake is 40 km long & <b>deep</b>. It is called Z\u00fcrichsee.", "oracle": true}'
doc_d='{"chunk_id": 9, "title": null, "text": "Tokyo \u6771\u4eac has 14 million people \ud83d\ude80.", "oracle": false}'
cat >runs/raft-oracle/predictions.jsonl <<EOF
{"id": "q1", "question": "How long is the lake <in km>?", "golds": ["40 km", "forty km"], "output": "##Reason: the text says ##begin_quote## The lake is 40 km long ##end_quote## so.\n<ANSWER>: 40 km", "answer": "40 km", "answer_tag": true, "em": 1, "f1": 1.0, "quotes": 1, "quotes_found": 1, "quotes_oracle": 1, "answer_in_context": true, "documents": [$doc_o, $doc_d], "rank": null}
{"id": "q2", "question": "What is the lake called? <script>alert(1)</script>", "golds": ["Z\u00fcrichsee"], "output": "##begin_quote## It is called Z\u00fcrichsee ##end_quote##\n<ANSWER>: Z\u00fcrichsee", "answer": "Z\u00fcrichsee", "answer_tag": true, "em": 1, "f1": 1.0, "quotes": 1, "quotes_found": 1, "quotes_oracle": 1, "answer_in_context": true, "documents": [$doc_o], "rank": null}
{"id": "q3", "question": "How many people live in Tokyo?", "golds": ["14 million"], "output": "##begin_quote## Tokyo has lots ##end_quote## <ANSWER>: many & more", "answer": "many & more", "answer_tag": true, "em": 0, "f1": 0.0, "quotes": 1, "quotes_found": 0, "quotes_oracle": 0, "answer_in_context": true, "documents": [$doc_d], "rank": null}
{"id": "q4", "question": "Is it \"deep\"?", "golds": ["yes"], "output": "<ANSWER>: yes it's deep", "answer": "yes it's deep", "answer_tag": true, "em": 0, "f1": 0.5, "quotes": 0, "quotes_found": 0, "quotes_oracle": 0, "answer_in_context": true, "documents": [$doc_o], "rank": null}
EOF
for s in 1 2 3 4 5 6 7 8 9 10; do
    loss=$(awk -v s=$s 'BEGIN { printf "%.3f", 7 - 0.4 * s }')
    if [ $((s % 5)) -eq 0 ]; then
        printf '{"step":%d,"epoch":%s,"loss":%s,"lr":0.001,"grad_norm":0.5,"tokens_per_s":4000.0,"eval_loss":%s}\n' \
            $s "0.$s" "$loss" "$(awk -v l="$loss" 'BEGIN { print l + 0.3 }')"
    else
        printf '{"step":%d,"epoch":%s,"loss":%s,"lr":0.001,"grad_norm":0.5,"tokens_per_s":4000.0}\n' $s "0.$s" "$loss"
    fi
done >train/lora/train_log.jsonl

cat >runs/base-rag/metrics.json <<'EOF'
{"name": "base rag \u00fcn\u00efc\u00f6d\u00e9", "model": "http:http://127.0.0.1:8080/v1", "adapter": null,
 "mode": "rag", "data": "data/test.eval.jsonl", "kb": "kb", "index": "flat", "k": 5,
 "train_log": "gone/train_log.jsonl", "n": 2, "unknown_ids": 1, "missing": 0,
 "em": 0.0, "em_ci": [0.0, 0.0], "f1": 33.3, "f1_ci": [0.0, 66.7], "answer_tag": 50.0,
 "quoting": 50.0, "grounded": 12.5, "grounded_ci": [0.0, 50.0], "quotes_oracle": 0.0,
 "answer_in_context": 50.0, "recall": {"1": 50.0, "5": 100.0, "10": 100.0}, "mrr": 0.75}
EOF
cat >runs/base-rag/predictions.jsonl <<EOF
{"id": "q1", "question": "How long is the lake <in km>?", "golds": ["40 km"], "output": "It is long.", "answer": "It is long.", "answer_tag": false, "em": 0, "f1": 0.0, "quotes": 0, "quotes_found": 0, "quotes_oracle": 0, "answer_in_context": true, "documents": [$doc_d, $doc_o], "rank": 2}

{"id": "q3", "question": "How many people live in Tokyo?", "golds": ["14 million"], "output": "##begin_quote## Tokyo has 14 million people ##end_quote## <ANSWER>: 14 million people", "answer": "14 million people", "answer_tag": true, "em": 0, "f1": 0.8, "quotes": 1, "quotes_found": 1, "quotes_oracle": 0, "answer_in_context": false, "documents": [$doc_d], "rank": null}
EOF

cat >runs/base-closed/metrics.json <<'EOF'
{"name": "base closed", "model": "models/tiny-chat", "adapter": null, "mode": "closed",
 "data": "data/test.eval.jsonl", "kb": null, "index": null, "k": null, "train_log": null,
 "n": 2, "unknown_ids": 0, "missing": 1, "em": 50.0, "em_ci": [0.0, 100.0], "f1": 50.0,
 "f1_ci": [0.0, 100.0], "answer_tag": 0.0, "quoting": 0.0, "grounded": null, "grounded_ci": null,
 "quotes_oracle": 0.0, "answer_in_context": null, "recall": null, "mrr": null}
EOF
cat >runs/base-closed/predictions.jsonl <<'EOF'
{"id": "q1", "question": "How long is the lake <in km>?", "golds": ["40 km"], "output": "40 km", "answer": "40 km", "answer_tag": false, "em": 1, "f1": 1.0, "quotes": 0, "quotes_found": 0, "quotes_oracle": 0, "answer_in_context": null, "documents": [], "rank": null}
{"id": "q2", "question": "What is the lake called?", "golds": ["Z\u00fcrichsee"], "output": "Lake Geneva", "answer": "Lake Geneva", "answer_tag": false, "em": 0, "f1": 0.0, "quotes": 0, "quotes_found": 0, "quotes_oracle": 0, "answer_in_context": null, "documents": [], "rank": null}
EOF

runs=(runs/raft-oracle runs/base-rag runs/base-closed)
# Each run's name as the Markdown table writes it (<, >, & and | escaped
# with a backslash) and as a browser serializes the text ("<" as "&lt;").
md_names=('RAFT \<oracle\> \& "friends"' 'base rag ünïcödé' 'base closed')
dom_names=('RAFT &lt;oracle&gt; &amp; "friends"' 'base rag ünïcödé' 'base closed')

# --- the report ------------------------------------------------------------------------
expect_rc 0 "raft-eval report" "$evalx" report "${runs[@]}" --out reports/nested --seed 7
for f in report.html report.md; do
    [ -s "reports/nested/$f" ] && pass "$f written (its directory made)" || fail "$f is missing"
done
expect_eq 0 "$(find reports -name '*.tmp' | wc -l | tr -d ' ')" "no temporary file left"
md=reports/nested/report.md
html=reports/nested/report.html

# report.md: a header, a separator and one row per run.
grep -q '^| Run | Model | Mode | n | EM \[95% CI\] | F1 \[95% CI\] |' $md && pass "report.md has the table's header" ||
    fail "report.md lacks the table's header" "$(cat $md)"
expect_eq 3 "$(grep '^| ' $md | grep -vc '^| Run |' || true)" "report.md's table has one row per run"
for name in "${md_names[@]}"; do
    grep -qF "| $name | " $md && pass "report.md's table lists $name" || fail "report.md lacks $name" "$(cat $md)"
done
row=$(grep -F '| RAFT \<oracle\>' $md)
for want in 'models/tiny-chat + train/lora' '| oracle |' '| 4 |' '| 50.0 [0.0, 100.0] |' '| 62.5 [25.0, 100.0] |' \
    '| 100.0 |' '| 75.0 |'; do
    case "$row" in *"$want"*) pass "the oracle row has '$want'" ;; *) fail "the oracle row lacks '$want'" "$row" ;; esac
done
row=$(grep -F '| base rag' $md)
for want in '| rag (k=5) |' '| 50.0 | 100.0 | 100.0 | 0.750 |' 'http:http://127.0.0.1:8080/v1'; do
    case "$row" in *"$want"*) pass "the rag row has '$want'" ;; *) fail "the rag row lacks '$want'" "$row" ;; esac
done
row=$(grep -F '| base closed' $md)
case "$row" in *'| 50.0 [0.0, 100.0] | 0.0 | — | 0.0 | — | — | — | — | — |') pass "nulls are dashes in report.md" ;;
*) fail "the closed row does not end in dashes for its nulls" "$row" ;; esac
grep -qF 'How long is the lake \<in km\>?' $md && pass "report.md has the sampled questions, escaped" ||
    fail "report.md lacks the question" "$(cat $md)"
grep -qF 'Right answers (2 of 2)' $md && grep -qF 'Wrong answers (1 of 1)' $md &&
    pass "report.md samples right and wrong answers" || fail "report.md's samples are not counted" "$(cat $md)"
grep -qF -e '🚀' -e 'b\>deep' $md && fail "report.md shows documents" || pass "report.md shows no documents"

# report.html, as text: the policy, nothing to fetch, no script, escaped.
grep -qF "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">" $html &&
    pass "report.html sets the Content-Security-Policy" || fail "report.html lacks the CSP meta tag"
grep -qiE '<script|<link|<img|<iframe|@import|url\(' $html && fail "report.html refers to something to load" \
    "$(grep -inE '<script|<link|<img|<iframe|@import|url\(' $html | head)" || pass "report.html refers to nothing to load"
grep -qF '<oracle>' $html && fail "a name is not escaped in report.html" || pass "names are escaped in report.html"

# report.html in the browser.
if check_in_browser $html "$shot" 2>browser.err; then
    pass "report.html loads without a console message or a network request"
else
    fail "report.html fails the browser checks" "$(cat browser.err)"
fi
[ -s "$shot" ] && pass "screenshot kept at $shot" || fail "no screenshot at $shot"
dom=$browser_dom
table=$(tr '\n' ' ' <"$dom" | grep -o '<table id="runs">.*</table>' || true)
expect_eq 3 "$(printf '%s' "$table" | grep -o '<tbody>.*</tbody>' | grep -o '<tr>' | wc -l | tr -d ' ')" \
    "the page's table has one row per run"
for name in "${dom_names[@]}"; do
    case "$table" in *"<strong>$name</strong>"*) pass "the page's table lists $name" ;;
    *) fail "the page's table lacks $name" "$table" ;; esac
done
expect_eq 2 "$(grep -o '<svg' "$dom" | wc -l | tr -d ' ')" "two charts: the bars and one training curve"
# 3 runs x (EM, F1, grounded), less the closed run's null grounded; as many
# error bars, since every non-null share has its interval.
expect_eq 8 "$(grep -o '<rect[^>]*><title>' "$dom" | wc -l | tr -d ' ')" "a bar per non-null share"
expect_eq 1 "$(grep -o '>n/a<' "$dom" | wc -l | tr -d ' ')" "the null share is marked n/a"
expect_eq 8 "$(grep -o '<path d="M[^"]*V' "$dom" | wc -l | tr -d ' ')" "an error bar per interval"
for label in EM F1 grounded percent; do
    grep -q ">$label[ <]" "$dom" && pass "the bar chart has '$label'" || fail "the bar chart lacks '$label'"
done
points=$(grep -o '<polyline[^>]*stroke="#4e79a7"[^>]*>' "$dom" | grep -o 'points="[^"]*"' | head -n 1 | wc -w)
expect_eq 10 "$points" "the training loss has a point per logged step"
expect_eq 2 "$(grep -o '<title>step [0-9]*: ' "$dom" | wc -l | tr -d ' ')" "the eval loss has a point per eval"
for label in 'training loss' 'eval loss' '>step<' '>loss<'; do
    grep -qF "$label" "$dom" && pass "the loss chart has '$label'" || fail "the loss chart lacks '$label'"
done
grep -qF 'Training log not found: gone/train_log.jsonl' "$dom" && pass "a missing training log is noted" ||
    fail "the missing training log is not noted"
grep -qF 'No training log for base closed' "$dom" && pass "a run without a training log is noted" ||
    fail "the run without a training log is not noted"
# right: 2 of raft-oracle, 1 of base-closed; wrong: 2, 2 and 1 (3 at most each).
expect_eq 3 "$(grep -o '<article class="sample right">' "$dom" | wc -l | tr -d ' ')" "every right answer is shown"
expect_eq 5 "$(grep -o '<article class="sample wrong">' "$dom" | wc -l | tr -d ' ')" "every wrong answer is shown"
grep -qF '<mark class="quote"> The lake is 40 km long </mark>' "$dom" && pass "quotes in an output are marked" ||
    fail "the quote is not marked" "$(grep -o '<pre class="output">[^<]*<[^>]*>[^<]*' "$dom" | head -3)"
grep -qF '<summary>Documents (2)</summary>' "$dom" && pass "documents are in <details>" ||
    fail "no <details> of documents"
grep -qF 'The lake is 40 km long &amp; &lt;b&gt;deep&lt;/b&gt;. It is called Zürichsee.' "$dom" &&
    pass "a document is shown as text, escaped" || fail "the document's text is missing or not escaped"
grep -qF 'What is the lake called? &lt;script&gt;alert(1)&lt;/script&gt;' "$dom" &&
    pass "a question with markup is shown as text" || fail "the question with markup is missing or not escaped"
grep -qiF '<script' "$dom" && fail "the page's DOM has a script element" || pass "the page's DOM has no script element"
grep -qF 'Tokyo 東京 has 14 million people 🚀.' "$dom" && pass "non-ASCII text survives" ||
    fail "non-ASCII text is garbled"
grep -qF '<span class="gold">forty km</span>' "$dom" && pass "every gold is shown" || fail "a gold is missing"

# The same seed draws the same samples; --samples bounds them.
expect_rc 0 "the report again" "$evalx" report "${runs[@]}" --out again --seed 7
expect_same_file $html again/report.html "the same runs and seed: the same page"
expect_same_file $md again/report.md "the same runs and seed: the same report.md"
expect_rc 0 "one sample of each" "$evalx" report runs/raft-oracle --out one --samples 1 --seed 3 --quiet
grep -qF 'Right answers (1 of 2)' one/report.md && grep -qF 'Wrong answers (1 of 2)' one/report.md &&
    pass "--samples 1 shows one of each" || fail "--samples 1 is not honoured" "$(cat one/report.md)"
expect_eq 1 "$(grep -c '<article class="sample right">' one/report.html)" "one right answer on the page"
expect_rc 0 "the same, again" "$evalx" report runs/raft-oracle --out one-again --samples 1 --seed 3 --quiet
expect_same_file one/report.md one-again/report.md "one sample: the same seed draws the same"

# --- what it refuses ------------------------------------------------------------------
mkdir -p runs/empty
expect_rc 1 "a directory without metrics.json" "$evalx" report runs/raft-oracle runs/empty --out bad1
expect_err_has "runs/empty" "the directory is named"
expect_err_has "metrics.json" "metrics.json is named as missing"
[ -e bad1/report.html ] && fail "a failed report wrote report.html" || pass "a failed report writes nothing"
expect_rc 1 "a run directory that does not exist" "$evalx" report runs/nowhere --out bad2
expect_err_has "runs/nowhere" "the missing directory is named"

cp -r runs/raft-oracle runs/badline
sed -i '3s/.*/{"id": "q3", "question": oops}/' runs/badline/predictions.jsonl
expect_rc 1 "a malformed predictions line" "$evalx" report runs/badline --out bad3
expect_err_has "runs/badline/predictions.jsonl:3" "the file and line are named"
cp -r runs/raft-oracle runs/badfield
sed -i '2s/"em": 1,/"em": "yes",/' runs/badfield/predictions.jsonl
expect_rc 1 "a predictions line with a string for em" "$evalx" report runs/badfield --out bad4
expect_err_has "runs/badfield/predictions.jsonl:2" "the file and line are named"
expect_err_has '"em" is not a number' "the field is named"
cp -r runs/base-closed runs/badmetrics
printf '{"name": "x",
 "em": 5,,
}
' >runs/badmetrics/metrics.json
expect_rc 1 "a malformed metrics.json" "$evalx" report runs/badmetrics --out bad5
expect_err_has "runs/badmetrics/metrics.json: line 2" "metrics.json and the line are named"
cp -r runs/base-rag runs/badlog
printf '{"step": 1, "loss": 2.0}
not json
' >runs/badlog/train_log.jsonl
sed -i 's|"gone/train_log.jsonl"|"runs/badlog/train_log.jsonl"|' runs/badlog/metrics.json
expect_rc 1 "a malformed training log" "$evalx" report runs/badlog --out bad6
expect_err_has "runs/badlog/train_log.jsonl:2" "the training log and line are named"

expect_rc 2 "no --out" "$evalx" report runs/raft-oracle
expect_err_has "--out" "the missing option is named"
expect_rc 2 "no run directory" "$evalx" report --out bad7
expect_rc 2 "--samples 0" "$evalx" report runs/raft-oracle --out bad8 --samples 0

finish
