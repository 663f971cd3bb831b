/* raft-train — fine-tunes a Hugging Face model on JSONL data (rk_train), and
 * `raft-train generate` for a quick look at what a model says. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/cli.h"
#include "raftkit/dataset.h"
#include "raftkit/json.h"
#include "raftkit/log.h"
#include "raftkit/sample.h"
#include "raftkit/trainer.h"

static const char HELP[] =
    "Usage: raft-train --model DIR --data FILE.jsonl --out DIR [options]\n"
    "       raft-train generate --model DIR [--adapter DIR] --prompt TEXT [options]\n"
    "\n"
    "Fine-tunes a Hugging Face model directory (config.json, model.safetensors or\n"
    "its shards, tokenizer.json; families gpt2 and llama: Llama 2/3, Mistral,\n"
    "Qwen2, SmolLM) on JSONL records, and writes a model directory (full) or a\n"
    "PEFT adapter (lora) that transformers and peft load.\n"
    "\n"
    "Records, by their fields: messages (a chat); instruction + cot_answer\n"
    "(raft-assemble's raft format); prompt + completion; instruction + input +\n"
    "output (Alpaca); text.\n"
    "\n"
    "What is trained:\n"
    "  --method M          full (every weight) or lora (default full)\n"
    "  --objective O       lm (every token) or sft (only assistant turns and\n"
    "                      completions count in the loss; default sft)\n"
    "  --template T        chat template: chatml, llama3 or plain (default: the\n"
    "                      one tokenizer_config.json names, else plain)\n"
    "  --max-len N         tokens per sequence (default 1024, at most the model's)\n"
    "  --drop-long         drop longer examples (default: truncate, and count them)\n"
    "  --packing           concatenate examples and cut them into --max-len blocks\n"
    "\n"
    "LoRA (PEFT's semantics and names):\n"
    "  --lora-r N          rank (default 8)\n"
    "  --lora-alpha A      scale numerator (default 8): updates scale by alpha/r\n"
    "  --lora-dropout P    dropout on the adapter's input (default 0)\n"
    "  --lora-targets L    modules: q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,\n"
    "                      down_proj (llama) or c_attn,c_proj,c_fc (gpt2); default\n"
    "                      q_proj,v_proj or c_attn, as PEFT\n"
    "  --rslora            scale by alpha/sqrt(r)\n"
    "  --merge             write the merged model instead of the adapter\n"
    "\n"
    "Optimization (AdamW, as torch):\n"
    "  --lr X              peak learning rate (default 5e-5 full, 2e-4 lora)\n"
    "  --schedule S        constant, linear (default) or cosine, after warmup\n"
    "  --warmup N          warmup steps (default 0)\n"
    "  --epochs N          passes over the data (default 3)\n"
    "  --max-steps N       optimizer steps, overriding --epochs\n"
    "  --batch N           sequences per micro-batch (default 8)\n"
    "  --grad-accum N      micro-batches per optimizer step (default 1)\n"
    "  --clip X            max gradient norm, 0 for none (default 1.0)\n"
    "  --weight-decay X    AdamW decay, not on norms and biases (default 0)\n"
    "  --eval-data FILE    held-out JSONL, its loss logged as eval_loss\n"
    "  --eval-every N      steps between evaluations (default: at the end)\n"
    "\n"
    "Output and resume:\n"
    "  --out DIR           the model or adapter, the tokenizer files, train_log.jsonl\n"
    "  --save-every N      write DIR/checkpoint every N steps (weights, optimizer,\n"
    "                      data position; atomically)\n"
    "  --resume            continue from DIR/checkpoint: the losses are those of an\n"
    "                      uninterrupted run\n"
    "\n"
    "generate:\n"
    "  --adapter DIR       a PEFT adapter on the model (raftkit's or peft's)\n"
    "  --prompt TEXT       what to continue\n"
    "  --chat              send it as a user turn in the chat template\n"
    "  --max-tokens N      new tokens at most (default 128)\n"
    "  --temperature T     0 for greedy (default 0)\n"
    "  --top-k K, --top-p P sampling filters (default off)\n"
    "  --stop S            stop before S (repeatable)\n"
    "\n"
    "Common:\n"
    "  --seed N            the same data, options and seed give the same model\n"
    "  --threads N         compute threads (default: all cores)\n"
    "  --json              print the summary as JSON on stdout\n"
    "  --quiet             warnings and errors only\n"
    "  -h, --help          this text;  --version\n"
    "\n"
    "Example:\n"
    "  raft-train --model smollm-135m --data data/train.chat.jsonl --out out \\\n"
    "      --method lora --lora-targets q_proj,v_proj --epochs 1 --save-every 50\n"
    "  raft-train generate --model smollm-135m --adapter out --chat \\\n"
    "      --prompt 'What does the KB say about backups?'\n";

enum {
    OPT_MODEL = RK_OPT_USER,
    OPT_DATA,
    OPT_OUT,
    OPT_METHOD,
    OPT_OBJECTIVE,
    OPT_TEMPLATE,
    OPT_MAX_LEN,
    OPT_DROP_LONG,
    OPT_PACKING,
    OPT_LORA_R,
    OPT_LORA_ALPHA,
    OPT_LORA_DROPOUT,
    OPT_LORA_TARGETS,
    OPT_RSLORA,
    OPT_MERGE,
    OPT_LR,
    OPT_SCHEDULE,
    OPT_WARMUP,
    OPT_EPOCHS,
    OPT_MAX_STEPS,
    OPT_BATCH,
    OPT_GRAD_ACCUM,
    OPT_CLIP,
    OPT_WEIGHT_DECAY,
    OPT_EVAL_DATA,
    OPT_EVAL_EVERY,
    OPT_SAVE_EVERY,
    OPT_RESUME,
    OPT_ADAPTER,
    OPT_PROMPT,
    OPT_CHAT,
    OPT_MAX_TOKENS,
    OPT_TEMPERATURE,
    OPT_TOP_K,
    OPT_TOP_P,
    OPT_STOP,
};

static int cmd_generate(rk_cli *cli, int argc, char **argv) {
    static const struct option longopts[] = {RK_CLI_COMMON_LONGOPTS,
                                             {"model", required_argument, 0, OPT_MODEL},
                                             {"adapter", required_argument, 0, OPT_ADAPTER},
                                             {"prompt", required_argument, 0, OPT_PROMPT},
                                             {"chat", no_argument, 0, OPT_CHAT},
                                             {"template", required_argument, 0, OPT_TEMPLATE},
                                             {"max-tokens", required_argument, 0, OPT_MAX_TOKENS},
                                             {"temperature", required_argument, 0, OPT_TEMPERATURE},
                                             {"top-k", required_argument, 0, OPT_TOP_K},
                                             {"top-p", required_argument, 0, OPT_TOP_P},
                                             {"stop", required_argument, 0, OPT_STOP},
                                             {0, 0, 0, 0}};
    const char *model = NULL, *adapter = NULL, *prompt = NULL, *tpl_name = NULL;
    const char *stops[16];
    int chat = 0;
    rk_sample_opts so = {.max_new_tokens = 128, .top_p = 1, .stop = stops};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (rk_cli_common(cli, opt, optarg)) continue;
        switch (opt) {
        case OPT_MODEL: model = optarg; break;
        case OPT_ADAPTER: adapter = optarg; break;
        case OPT_PROMPT: prompt = optarg; break;
        case OPT_CHAT: chat = 1; break;
        case OPT_TEMPLATE: tpl_name = optarg; break;
        case OPT_MAX_TOKENS:
            so.max_new_tokens = (int)rk_cli_long(cli, "--max-tokens", optarg, 1, 1 << 20);
            break;
        case OPT_TEMPERATURE:
            so.temperature = (float)rk_cli_real(cli, "--temperature", optarg, 0, 100);
            break;
        case OPT_TOP_K: so.top_k = (int)rk_cli_long(cli, "--top-k", optarg, 0, 1 << 30); break;
        case OPT_TOP_P: so.top_p = (float)rk_cli_real(cli, "--top-p", optarg, 0, 1); break;
        case OPT_STOP:
            if (so.nstop == sizeof stops / sizeof *stops)
                rk_cli_usage(cli, "--stop: at most 16 stop strings");
            stops[so.nstop++] = optarg;
            break;
        default: rk_cli_usage(cli, "unexpected option");
        }
    }
    if (!model || !prompt) rk_cli_usage(cli, "--model and --prompt are required");
    so.seed = cli->seed;
    rk_error err = {0};
    rk_model *m = NULL;
    rk_tokenizer *tok = NULL;
    rk_template tpl = RK_TPL_PLAIN;
    rk_ids ids = {0};
    rk_buf text = {0};
    rk_status s = rk_model_load(model, &m, &err);
    if (!s) s = rk_tok_load(model, &tok, &err);
    if (!s && adapter) s = rk_model_lora_load(m, adapter, &err);
    if (!s && chat)
        s = tpl_name ? rk_template_parse(tpl_name, &tpl, &err) : rk_template_detect(model, &tpl, &err);
    if (!s) s = rk_template_prompt(tok, tpl, chat, NULL, prompt, &ids, &err);
    if (!s) s = rk_generate(m, tok, ids.v, ids.n, &so, NULL, &text, &err);
    if (!s) {
        if (cli->json) {
            json_t *j = json_object();
            json_object_set_new(j, "prompt", json_string(prompt));
            json_object_set_new(j, "text", json_stringn(text.p ? text.p : "", text.n));
            rk_json_print_line(stdout, j);
            json_decref(j);
        } else {
            printf("%.*s\n", (int)text.n, text.p ? text.p : "");
        }
    }
    free(text.p);
    rk_ids_free(&ids);
    rk_tok_free(tok);
    rk_model_free(m);
    if (s) rk_cli_fail(cli, &err);
    return RK_EXIT_OK;
}

static void print_summary(const rk_cli *cli, const rk_train_opts *o, const rk_train_result *r) {
    json_t *j = json_object();
    json_object_set_new(j, "out", json_string(o->out));
    json_object_set_new(j, "steps", json_integer(r->steps));
    json_object_set_new(j, "resumed_from",
                        r->resumed_from >= 0 ? json_integer(r->resumed_from) : json_null());
    json_object_set_new(j, "loss", isfinite(r->last_loss) ? json_real(r->last_loss) : json_null());
    json_object_set_new(j, "eval_loss", isfinite(r->eval_loss) ? json_real(r->eval_loss) : json_null());
    json_object_set_new(j, "tokens_per_s", json_real(r->tokens_per_s));
    json_object_set_new(j, "examples", json_integer((json_int_t)r->examples));
    json_object_set_new(j, "truncated", json_integer((json_int_t)r->truncated));
    json_object_set_new(j, "dropped", json_integer((json_int_t)r->dropped));
    if (cli->json)
        rk_json_print_line(stdout, j);
    else
        rk_log_info(
            "%ld steps on %zu examples (%zu truncated, %zu dropped); loss %.4f%s; %.0f tokens/s; wrote %s",
            r->steps, r->examples, r->truncated, r->dropped, r->last_loss,
            isfinite(r->eval_loss) ? ", eval loss below" : "", r->tokens_per_s, o->out);
    if (!cli->json && isfinite(r->eval_loss)) rk_log_info("eval loss %.4f", r->eval_loss);
    json_decref(j);
}

int main(int argc, char **argv) {
    rk_cli cli;
    rk_cli_init(&cli, "raft-train", HELP);
    if (argc > 1 && !strcmp(argv[1], "generate")) {
        cli.prog = "raft-train generate";
        rk_log_set_program(cli.prog);
        return cmd_generate(&cli, argc - 1, argv + 1);
    }
    static const struct option longopts[] = {RK_CLI_COMMON_LONGOPTS,
                                             {"model", required_argument, 0, OPT_MODEL},
                                             {"data", required_argument, 0, OPT_DATA},
                                             {"out", required_argument, 0, OPT_OUT},
                                             {"method", required_argument, 0, OPT_METHOD},
                                             {"objective", required_argument, 0, OPT_OBJECTIVE},
                                             {"template", required_argument, 0, OPT_TEMPLATE},
                                             {"max-len", required_argument, 0, OPT_MAX_LEN},
                                             {"drop-long", no_argument, 0, OPT_DROP_LONG},
                                             {"packing", no_argument, 0, OPT_PACKING},
                                             {"lora-r", required_argument, 0, OPT_LORA_R},
                                             {"lora-alpha", required_argument, 0, OPT_LORA_ALPHA},
                                             {"lora-dropout", required_argument, 0, OPT_LORA_DROPOUT},
                                             {"lora-targets", required_argument, 0, OPT_LORA_TARGETS},
                                             {"rslora", no_argument, 0, OPT_RSLORA},
                                             {"merge", no_argument, 0, OPT_MERGE},
                                             {"lr", required_argument, 0, OPT_LR},
                                             {"schedule", required_argument, 0, OPT_SCHEDULE},
                                             {"warmup", required_argument, 0, OPT_WARMUP},
                                             {"epochs", required_argument, 0, OPT_EPOCHS},
                                             {"max-steps", required_argument, 0, OPT_MAX_STEPS},
                                             {"batch", required_argument, 0, OPT_BATCH},
                                             {"grad-accum", required_argument, 0, OPT_GRAD_ACCUM},
                                             {"clip", required_argument, 0, OPT_CLIP},
                                             {"weight-decay", required_argument, 0, OPT_WEIGHT_DECAY},
                                             {"eval-data", required_argument, 0, OPT_EVAL_DATA},
                                             {"eval-every", required_argument, 0, OPT_EVAL_EVERY},
                                             {"save-every", required_argument, 0, OPT_SAVE_EVERY},
                                             {"resume", no_argument, 0, OPT_RESUME},
                                             {0, 0, 0, 0}};
    rk_train_opts o = {.data_opts = {.objective = RK_OBJ_SFT, .max_len = 1024},
                       .lora = {.r = 8, .alpha = 8},
                       .lr = NAN,
                       .schedule = RK_SCHED_LINEAR,
                       .epochs = 3,
                       .batch = 8,
                       .grad_accum = 1,
                       .clip = 1.0f,
                       .progress = 1};
    rk_error err = {0};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (rk_cli_common(&cli, opt, optarg)) continue;
        switch (opt) {
        case OPT_MODEL: o.model_dir = optarg; break;
        case OPT_DATA: o.data = optarg; break;
        case OPT_OUT: o.out = optarg; break;
        case OPT_METHOD:
            if (!strcmp(optarg, "full"))
                o.method = RK_METHOD_FULL;
            else if (!strcmp(optarg, "lora"))
                o.method = RK_METHOD_LORA;
            else
                rk_cli_usage(&cli, "--method: expected full or lora, got '%s'", optarg);
            break;
        case OPT_OBJECTIVE:
            if (!strcmp(optarg, "lm"))
                o.data_opts.objective = RK_OBJ_LM;
            else if (!strcmp(optarg, "sft"))
                o.data_opts.objective = RK_OBJ_SFT;
            else
                rk_cli_usage(&cli, "--objective: expected lm or sft, got '%s'", optarg);
            break;
        case OPT_TEMPLATE:
            if (rk_template_parse(optarg, &o.data_opts.tpl, &err))
                rk_cli_usage(&cli, "--template: %s", err.msg);
            o.template_given = 1;
            break;
        case OPT_MAX_LEN:
            o.data_opts.max_len = (int)rk_cli_long(&cli, "--max-len", optarg, 2, 1 << 20);
            break;
        case OPT_DROP_LONG: o.data_opts.drop_long = 1; break;
        case OPT_PACKING: o.data_opts.packing = 1; break;
        case OPT_LORA_R: o.lora.r = (int)rk_cli_long(&cli, "--lora-r", optarg, 1, 4096); break;
        case OPT_LORA_ALPHA:
            o.lora.alpha = (float)rk_cli_real(&cli, "--lora-alpha", optarg, 1e-6, 1e6);
            break;
        case OPT_LORA_DROPOUT:
            o.lora.dropout = (float)rk_cli_real(&cli, "--lora-dropout", optarg, 0, 0.99);
            break;
        case OPT_LORA_TARGETS: o.lora.targets = optarg; break;
        case OPT_RSLORA: o.lora.rslora = 1; break;
        case OPT_MERGE: o.merge = 1; break;
        case OPT_LR: o.lr = (float)rk_cli_real(&cli, "--lr", optarg, 0, 10); break;
        case OPT_SCHEDULE:
            if (rk_schedule_parse(optarg, &o.schedule, &err)) rk_cli_usage(&cli, "--schedule: %s", err.msg);
            break;
        case OPT_WARMUP: o.warmup = rk_cli_long(&cli, "--warmup", optarg, 0, 1L << 40); break;
        case OPT_EPOCHS: o.epochs = (int)rk_cli_long(&cli, "--epochs", optarg, 1, 1 << 20); break;
        case OPT_MAX_STEPS: o.max_steps = rk_cli_long(&cli, "--max-steps", optarg, 1, 1L << 40); break;
        case OPT_BATCH: o.batch = (int)rk_cli_long(&cli, "--batch", optarg, 1, 4096); break;
        case OPT_GRAD_ACCUM: o.grad_accum = (int)rk_cli_long(&cli, "--grad-accum", optarg, 1, 1 << 20); break;
        case OPT_CLIP: o.clip = (float)rk_cli_real(&cli, "--clip", optarg, 0, 1e9); break;
        case OPT_WEIGHT_DECAY:
            o.weight_decay = (float)rk_cli_real(&cli, "--weight-decay", optarg, 0, 10);
            break;
        case OPT_EVAL_DATA: o.eval_data = optarg; break;
        case OPT_EVAL_EVERY: o.eval_every = rk_cli_long(&cli, "--eval-every", optarg, 1, 1L << 40); break;
        case OPT_SAVE_EVERY: o.save_every = rk_cli_long(&cli, "--save-every", optarg, 1, 1L << 40); break;
        case OPT_RESUME: o.resume = 1; break;
        default: rk_cli_usage(&cli, "unexpected option");
        }
    }
    if (optind < argc) rk_cli_usage(&cli, "unexpected argument '%s'", argv[optind]);
    if (!o.model_dir || !o.data || !o.out) rk_cli_usage(&cli, "--model, --data and --out are required");
    if (o.merge && o.method != RK_METHOD_LORA) rk_cli_usage(&cli, "--merge goes with --method lora");
    if (isnan(o.lr)) o.lr = o.method == RK_METHOD_LORA ? 2e-4f : 5e-5f;
    o.seed = cli.seed;
    o.lora.seed = cli.seed;
    o.progress = !cli.quiet;
    rk_train_result r;
    if (rk_train(&o, &r, &err)) rk_cli_fail(&cli, &err);
    print_summary(&cli, &o, &r);
    return RK_EXIT_OK;
}
