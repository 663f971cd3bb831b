"""Writes the parity fixtures of model/ (tests/unit/test_model.c): tiny random GPT-2, Llama
(GQA, Llama 3 rope scaling) and Qwen2 (q/k/v bias, tied) models made with
transformers, each with the logits, loss and gradients PyTorch computes on
one batch, ten AdamW steps of full and LoRA fine-tuning, a PEFT adapter and a
greedy generation.

Run by hand (see tests/parity/README.md):
    /work/pyparity/bin/python tests/parity/make_models.py
Everything is float32 and seeded, so a rerun with the same package versions
writes the same numbers."""
import copy
import json
import math
import os
import shutil
import sys

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "models")

V, C, L, NH, MAXPOS, INTER = 96, 32, 2, 4, 64, 64
B, T = 2, 12
STEPS, LR, WD, CLIP = 10, 3e-3, 0.1, 1.0
PROMPT_LEN, NEW_TOKENS = 5, 10

LLAMA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
GPT2_TARGETS = ["c_attn", "c_proj", "c_fc"]


def make_gpt2():
    cfg = GPT2Config(vocab_size=V, n_embd=C, n_layer=L, n_head=NH, n_positions=MAXPOS, n_inner=None,
                     activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     layer_norm_epsilon=1e-5, bos_token_id=0, eos_token_id=0)
    return GPT2LMHeadModel(cfg), GPT2_TARGETS, True, False


def make_llama_gqa():
    cfg = LlamaConfig(vocab_size=V, hidden_size=C, intermediate_size=INTER, num_hidden_layers=L,
                      num_attention_heads=NH, num_key_value_heads=2, max_position_embeddings=MAXPOS,
                      rope_theta=10000.0, tie_word_embeddings=False, rms_norm_eps=1e-5,
                      rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                    "high_freq_factor": 4.0, "original_max_position_embeddings": 16})
    return LlamaForCausalLM(cfg), LLAMA_TARGETS, False, False


def make_qwen2_bias():
    cfg = Qwen2Config(vocab_size=V, hidden_size=C, intermediate_size=INTER, num_hidden_layers=L,
                      num_attention_heads=NH, num_key_value_heads=2, max_position_embeddings=MAXPOS,
                      tie_word_embeddings=True, rms_norm_eps=1e-6, rope_theta=1000000.0,
                      bos_token_id=1, eos_token_id=2)
    return Qwen2ForCausalLM(cfg), LLAMA_TARGETS, False, True


def randomize(model, g):
    """Every parameter away from its default, so each path (norm weights,
    biases, positions) shows up in the logits and gradients."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1 and name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif p.ndim == 1:  # norm weights
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif "wte" in name or "embed_tokens" in name:
                p.copy_(0.25 * torch.randn(p.shape, generator=g))
            elif "wpe" in name:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            else:
                # Conv1D stores [in, out], nn.Linear [out, in]: scale by fan-in either way.
                fan_in = p.shape[0] if ".c_" in name else p.shape[1]
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))


def train(model, params, input_ids, labels):
    """STEPS AdamW steps on one batch: the loss before each step and the total
    gradient norm that clip_grad_norm_ returns (before clipping)."""
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": WD}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, lr=LR, betas=(0.9, 0.999), eps=1e-8)
    losses, norms = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = model(input_ids=input_ids, labels=labels).loss
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(params, CLIP)))
        losses.append(loss.item())
        opt.step()
    return torch.tensor(losses), torch.tensor(norms)


def greedy(model, prompt):
    """generate()'s greedy continuation, checked against a plain argmax loop
    over full forwards, with a margin between the two best logits so that
    float32 rounding in another implementation cannot change the argmax."""
    out = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                         max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, eos_token_id=None,
                         pad_token_id=0)
    new = out[0, prompt.shape[1]:]
    seq = prompt.clone()
    margin = float("inf")
    with torch.no_grad():
        for _ in range(NEW_TOKENS):
            logits = model(input_ids=seq).logits[0, -1]
            top = torch.topk(logits, 2).values
            margin = min(margin, float(top[0] - top[1]))
            seq = torch.cat([seq, logits.argmax().view(1, 1)], dim=1)
    assert torch.equal(seq[0, prompt.shape[1]:], new), (seq, new)
    return new, margin


def build(name, maker, rslora, seed):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model, targets, fan_in_fan_out, _ = maker()
    model.config._attn_implementation = "eager"
    randomize(model, g)
    model.eval()  # no dropout anywhere; configs have zero dropout too

    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    model.save_pretrained(d, safe_serialization=True)

    ex = {}
    input_ids = torch.randint(0, V, (B, T), generator=g)
    labels = input_ids.clone()
    labels[0, :4] = -100
    ex["input_ids"] = input_ids.float()
    ex["labels"] = labels.float()

    base = copy.deepcopy(model)
    model.zero_grad()
    out = model(input_ids=input_ids, labels=labels)
    out.loss.backward()
    ex["logits"] = out.logits.detach().clone()
    ex["loss"] = out.loss.detach().view(1).clone()
    for pname, p in model.named_parameters():
        ex["grad." + pname] = p.grad.detach().clone()

    full = copy.deepcopy(base)
    ex["train.full.losses"], ex["train.full.gradnorm"] = train(full, list(full.parameters()), input_ids, labels)

    # LoRA on every target module, A and B both random (B = 0 would hide B's
    # gradient path and A's).
    lcfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=targets, fan_in_fan_out=fan_in_fan_out,
                      init_lora_weights=False, use_rslora=rslora, task_type="CAUSAL_LM", bias="none")
    peft_model = get_peft_model(copy.deepcopy(base), lcfg)
    with torch.no_grad():
        for pname, p in peft_model.named_parameters():
            if "lora_A" in pname:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))
            elif "lora_B" in pname:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
    peft_model.eval()
    adir = os.path.join(d, "adapter")
    peft_model.save_pretrained(adir)
    if os.path.exists(os.path.join(adir, "README.md")):
        os.remove(os.path.join(adir, "README.md"))
    # PEFT keeps target_modules as a set, whose order follows Python's string
    # hashing: sorted, reruns write the same bytes.
    cpath = os.path.join(adir, "adapter_config.json")
    with open(cpath) as f:
        acfg = json.load(f)
    acfg["target_modules"] = sorted(acfg["target_modules"])
    with open(cpath, "w") as f:
        json.dump(acfg, f, indent=2, sort_keys=True)
    lora_init = copy.deepcopy(peft_model)
    peft_model.zero_grad()
    out = peft_model(input_ids=input_ids, labels=labels)
    out.loss.backward()
    ex["lora.logits"] = out.logits.detach().clone()
    ex["lora.loss"] = out.loss.detach().view(1).clone()
    for pname, p in peft_model.named_parameters():
        if p.requires_grad:
            ex["lora.grad." + pname.replace(".default", "")] = p.grad.detach().clone()
    lp = [p for p in lora_init.parameters() if p.requires_grad]
    ex["train.lora.losses"], ex["train.lora.gradnorm"] = train(lora_init, lp, input_ids, labels)

    prompt = torch.randint(0, V, (1, PROMPT_LEN), generator=g)
    new, margin = greedy(base, prompt)
    ex["generate.prompt"] = prompt[0].float()
    ex["generate.greedy"] = new.float()

    save_file({k: v.contiguous().float() for k, v in ex.items()}, os.path.join(d, "expected.safetensors"))
    print(f"{name}: loss {float(ex['loss']):.6f} lora.loss {float(ex['lora.loss']):.6f} "
          f"full {float(ex['train.full.losses'][0]):.4f}->{float(ex['train.full.losses'][-1]):.4f} "
          f"lora {float(ex['train.lora.losses'][0]):.4f}->{float(ex['train.lora.losses'][-1]):.4f} "
          f"greedy margin {margin:.4f}")
    if margin < 1e-3:
        sys.exit(f"{name}: greedy argmax margin {margin} too small: change the seed")


if __name__ == "__main__":
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    build("gpt2", make_gpt2, rslora=False, seed=1)
    build("llama_gqa", make_llama_gqa, rslora=False, seed=2)
    build("qwen2_bias", make_qwen2_bias, rslora=True, seed=3)
