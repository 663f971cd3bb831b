#!/usr/bin/env bash
# raft-train from the command line on the tiny chat model
# (tests/parity/fixtures/tiny-chat) and data raft-assemble makes from the demo
# documents: LoRA and full fine-tuning write what transformers and peft load,
# the log, a resumed run (also after kill -9) that matches an uninterrupted
# one, --merge agreeing with the adapter, generate, and the inputs it refuses.
set -euo pipefail
source "$RK_SRC/tests/e2e/lib.sh"
train="$RK_BIN/raft-train"
model="$RK_SRC/tests/parity/fixtures/tiny-chat"

must "$ingest" --kb kb --quiet "$RK_SRC/pipelines/demo/docs"
must "$assemble" --kb kb --out data --format chat,raft,completion --split 0.8,0.2,0 --distractors 1 --seed 1 --quiet
[ -s data/train.chat.jsonl ] || { echo "setup: no chat data" >&2; exit 1; }

common=(--model "$model" --data data/train.chat.jsonl --batch 2 --max-len 1024 --seed 5 --quiet)
lora=(--method lora --lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj --lora-r 4
    --lora-alpha 8 --lr 1e-2 --schedule constant)

# --- LoRA --------------------------------------------------------------------
expect_rc 0 "LoRA training" "$train" "${common[@]}" "${lora[@]}" --max-steps 6 --out lora \
    --eval-data data/val.chat.jsonl --eval-every 1 --json
for f in adapter_config.json adapter_model.safetensors tokenizer.json tokenizer_config.json train_log.jsonl; do
    [ -s "lora/$f" ] && pass "lora/$f written" || fail "lora/$f is missing"
done
expect_out_has '"steps":6' "the summary counts the steps"
expect_eq 6 "$(wc -l <lora/train_log.jsonl | tr -d ' ')" "one log line per step"
grep -q '"peft_type": *"LORA"' lora/adapter_config.json && pass "adapter_config.json is PEFT's" ||
    fail "adapter_config.json lacks peft_type LORA" "$(cat lora/adapter_config.json)"
first=$(head -n 1 lora/train_log.jsonl | grep -o '"eval_loss":[0-9.eE+-]*' | cut -d: -f2)
last=$(tail -n 1 lora/train_log.jsonl | grep -o '"eval_loss":[0-9.eE+-]*' | cut -d: -f2)
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }' && pass "eval loss falls ($first -> $last)" ||
    fail "eval loss did not fall: $first -> $last"
for key in step loss lr grad_norm tokens_per_s epoch; do
    grep -q "\"$key\":" lora/train_log.jsonl && pass "the log has $key" || fail "the log lacks $key"
done

# --- resume: stopped at a checkpoint, and killed ------------------------------
losses() { grep -o '"loss":[0-9.eE+-]*' "$1" | tr '\n' ' '; }
expect_rc 0 "uninterrupted run" "$train" "${common[@]}" "${lora[@]}" --max-steps 8 --save-every 2 --out a
expect_rc 0 "a run stopped at step 4" "$train" "${common[@]}" "${lora[@]}" --max-steps 4 --save-every 2 --out b
expect_rc 0 "the same run resumed to step 8" "$train" "${common[@]}" "${lora[@]}" --max-steps 8 --save-every 2 \
    --out b --resume --json
expect_out_has '"resumed_from":4' "the summary says where it resumed"
expect_eq "$(losses a/train_log.jsonl)" "$(losses b/train_log.jsonl)" "resumed losses equal the uninterrupted ones"
expect_same_file a/adapter_model.safetensors b/adapter_model.safetensors "resumed adapter equals the uninterrupted one"

"$train" "${common[@]}" "${lora[@]}" --max-steps 40 --save-every 1 --out k >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do
    [ -s k/checkpoint/state.bin ] && break
    sleep 0.05
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
expect_rc 0 "a killed run resumes" "$train" "${common[@]}" "${lora[@]}" --max-steps 40 --save-every 1 --out k --resume
expect_rc 0 "the same run uninterrupted" "$train" "${common[@]}" "${lora[@]}" --max-steps 40 --save-every 1 --out u
expect_eq "$(losses u/train_log.jsonl)" "$(losses k/train_log.jsonl)" "killed and resumed: the same losses"
expect_eq 0 "$(find k -name '*.tmp' | wc -l | tr -d ' ')" "no temporary file left behind"

# --- merge and generate ---------------------------------------------------------
# --out names a directory whose parents do not exist yet: they are made.
expect_rc 0 "--merge writes a full model" "$train" "${common[@]}" "${lora[@]}" --max-steps 6 --out models/v1/merged --merge
[ -s models/v1/merged/model.safetensors ] && [ -s models/v1/merged/config.json ] && pass "merged model written" ||
    fail "merged model missing"
gen=(--prompt "What is raftkit?" --chat --max-tokens 12 --quiet)
expect_rc 0 "generate with the adapter" "$train" generate --model "$model" --adapter lora "${gen[@]}"
cp "$tmp/out" with_adapter.txt
expect_rc 0 "generate with the merged model" "$train" generate --model models/v1/merged "${gen[@]}"
expect_same_file with_adapter.txt "$tmp/out" "merged and unmerged adapters say the same"
expect_rc 0 "generate from the base" "$train" generate --model "$model" "${gen[@]}" --stop "the"
expect_err_lacks "error" "generate with a stop string"

# --- full fine-tuning and the other formats ---------------------------------------
expect_rc 0 "full fine-tuning on raft records" "$train" --model "$model" --data data/train.raft.jsonl \
    --out full --method full --objective lm --max-steps 2 --batch 2 --max-len 64 --quiet --json
for f in config.json model.safetensors tokenizer.json; do
    [ -s "full/$f" ] && pass "full/$f written" || fail "full/$f is missing"
done
truncated=$(json_num truncated "$tmp/out")
awk -v t="$truncated" 'BEGIN { exit !(t > 0) }' && pass "long examples are truncated and counted ($truncated)" ||
    fail "no truncation counted at --max-len 64"
expect_rc 0 "--drop-long drops them" "$train" --model "$model" --data data/train.completion.jsonl --out drop \
    --max-steps 1 --max-len 500 --drop-long --quiet --json
dropped=$(json_num dropped "$tmp/out")
awk -v d="$dropped" 'BEGIN { exit !(d > 0) }' && pass "long examples are dropped and counted ($dropped)" ||
    fail "no example dropped at --max-len 500"
expect_eq 0 "$(json_num truncated "$tmp/out")" "--drop-long truncates nothing"
expect_rc 0 "--packing" "$train" --model "$model" --data data/train.completion.jsonl --out pack \
    --max-steps 1 --max-len 1024 --packing --objective lm --quiet --json
packed=$(json_num examples "$tmp/out")
awk -v p="$packed" 'BEGIN { exit !(p > 0 && p < 96) }' && pass "packing makes fewer, fuller sequences ($packed)" ||
    fail "packing gave $packed sequences from 96 records"
expect_rc 0 "the fine-tuned model generates" "$train" generate --model full --prompt "hello" --max-tokens 4 --quiet

# --- bad input ------------------------------------------------------------------
mkdir empty
expect_rc 1 "a model directory without config.json" "$train" --model empty --data data/train.chat.jsonl --out x
expect_err_has "config.json" "the message names config.json"
mkdir arch && cp "$model"/* arch/ && sed -i 's/"model_type": "qwen2"/"model_type": "mamba"/' arch/config.json
expect_rc 1 "an unsupported architecture" "$train" --model arch --data data/train.chat.jsonl --out x
expect_err_has "mamba" "the message names the architecture"
expect_err_has "llama" "the message names the supported ones"
printf '{"text": "fine"}\n{"text": oops}\n' >bad.jsonl
expect_rc 1 "a line that is not JSON" "$train" --model "$model" --data bad.jsonl --out x
expect_err_has "bad.jsonl:2" "the message names file and line"
printf '{"question": "q"}\n' >fields.jsonl
expect_rc 1 "a line without the fields" "$train" --model "$model" --data fields.jsonl --out x
expect_err_has "fields.jsonl:1" "the message names file and line"
expect_rc 2 "an unknown method" "$train" --model "$model" --data bad.jsonl --out x --method qlora2
expect_rc 2 "--merge without lora" "$train" --model "$model" --data bad.jsonl --out x --merge

# NaN: a base whose final norm is NaN, under a LoRA run resumed from a good checkpoint.
mkdir nan && cp "$model"/* nan/
st=nan/model.safetensors
hdr=$(od -An -tu8 -N8 "$st" | tr -d ' ')
start=$(head -c $((8 + hdr)) "$st" | tail -c "$hdr" | grep -a -o '"model.norm.weight":{[^}]*}' | grep -o 'data_offsets":\[[0-9]*' |
    grep -o '[0-9]*$')
printf '\x00\x00\xc0\x7f' | dd of="$st" bs=1 seek=$((8 + hdr + start)) conv=notrunc status=none
must "$train" "${common[@]}" "${lora[@]}" --max-steps 2 --save-every 2 --out n
cp n/checkpoint/state.bin good.bin
expect_rc 1 "a NaN loss stops the run" "$train" --model nan --data data/train.chat.jsonl --batch 2 --max-len 1024 \
    --seed 5 --quiet "${lora[@]}" --max-steps 4 --save-every 2 --out n --resume
expect_err_has "step 3" "the message names the step"
expect_err_has "NaN" "the message says NaN"
expect_err_has "step 2" "the message names the checkpoint kept"
expect_same_file good.bin n/checkpoint/state.bin "the last good checkpoint is kept"

finish
