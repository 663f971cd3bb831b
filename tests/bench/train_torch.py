"""PyTorch's side of bench-train: trains the same model directory the same
way (float32, AdamW, clipping, random tokens) on the same thread count and
prints tokens/s. Run by bench-train when RK_TORCH_PYTHON is set."""
import argparse
import os
import time

import torch
from transformers import AutoModelForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--batch", type=int, default=4)
ap.add_argument("--seq", type=int, default=256)
ap.add_argument("--steps", type=int, default=4)
a = ap.parse_args()

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count())))
torch.manual_seed(0)
# No dropout: raftkit has none outside LoRA.
model = AutoModelForCausalLM.from_pretrained(a.model, torch_dtype=torch.float32, attn_implementation="eager",
                                             resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
model.train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
x = torch.randint(0, model.config.vocab_size, (a.batch, a.seq))
t0 = 0.0
for s in range(a.steps + 1):
    if s == 1:
        t0 = time.perf_counter()
    loss = model(input_ids=x, labels=x).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
dt = time.perf_counter() - t0
print(a.steps * a.batch * a.seq / dt)
