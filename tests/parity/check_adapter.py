"""Loads a LoRA adapter written by raftkit (rk_model_lora_save) with
transformers + peft, and compares the logits PyTorch computes with the ones
raftkit wrote.

    check_adapter.py MODEL_DIR ADAPTER_DIR EXPECTED.safetensors

ADAPTER_DIR "-" loads MODEL_DIR alone (a model raftkit saved with
rk_model_save, e.g. after rk_model_lora_merge).

EXPECTED holds "input_ids" [B, T] (stored as F32) and "logits" [B, T, V] from
the C side (tests/unit/test_model.c writes both when RK_PARITY_OUT=dir is set,
see tests/parity/README.md). Prints the largest absolute difference and that
difference relative to the largest |logit|; exits 1 above 1e-4 relative."""
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

TOL = 1e-4


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    model_dir, adapter_dir, expected = sys.argv[1:]
    ex = load_file(expected)
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager")
    model = base if adapter_dir == "-" else PeftModel.from_pretrained(base, adapter_dir)
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=ex["input_ids"].long()).logits
    want = ex["logits"]
    if logits.shape != want.shape:
        sys.exit(f"shape {tuple(logits.shape)} from peft, {tuple(want.shape)} from raftkit")
    diff = (logits - want).abs().max().item()
    rel = diff / want.abs().max().item()
    print(f"{model_dir if adapter_dir == '-' else adapter_dir}: max abs diff {diff:.3e}, relative {rel:.3e} ({'ok' if rel <= TOL else 'FAIL'})")
    return 0 if rel <= TOL else 1


if __name__ == "__main__":
    sys.exit(main())
