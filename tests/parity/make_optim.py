"""Reference values for raftkit's optimizer (train/optim.c), from torch and
transformers: learning-rate schedules, clip_grad_norm_, and AdamW steps with
a weight-decay mask. Run by hand; writes tests/parity/fixtures/optim.json.

    /work/pyparity/bin/python tests/parity/make_optim.py
"""
import json
import math
import os

import torch
import transformers
from transformers import (get_constant_schedule_with_warmup,
                          get_cosine_schedule_with_warmup,
                          get_linear_schedule_with_warmup)

out = {"torch": torch.__version__, "transformers": transformers.__version__}

# Schedules: the multiplier at each optimizer step, 0-based, as LambdaLR applies it.
sched = {}
for name, make in [("constant", lambda o: get_constant_schedule_with_warmup(o, 5)),
                   ("linear", lambda o: get_linear_schedule_with_warmup(o, 5, 20)),
                   ("cosine", lambda o: get_cosine_schedule_with_warmup(o, 5, 20))]:
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    s = make(opt)
    vals = []
    for _ in range(20):
        vals.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step()
    sched[name] = vals
out["schedules"] = {"warmup": 5, "total": 20, "lr": sched}

# AdamW with clipping and a decay mask over 5 steps on fixed gradients.
g = torch.Generator().manual_seed(0)
n = 37
p0 = torch.randn(n, generator=g)
grads = [torch.randn(n, generator=g) * (3.0 if k % 2 else 0.1) for k in range(5)]
mask = [1 if i % 3 else 0 for i in range(n)]
decay = torch.nn.Parameter(p0[[i for i in range(n) if mask[i]]].clone())
nodecay = torch.nn.Parameter(p0[[i for i in range(n) if not mask[i]]].clone())
opt = torch.optim.AdamW([{"params": [decay], "weight_decay": 0.1},
                         {"params": [nodecay], "weight_decay": 0.0}],
                        lr=1e-2, betas=(0.9, 0.999), eps=1e-8)
norms, params = [], []
for k in range(5):
    gd = grads[k][[i for i in range(n) if mask[i]]].clone()
    gn = grads[k][[i for i in range(n) if not mask[i]]].clone()
    decay.grad, nodecay.grad = gd, gn
    norms.append(float(torch.nn.utils.clip_grad_norm_([decay, nodecay], 1.0)))
    opt.step()
    full = torch.empty(n)
    full[[i for i in range(n) if mask[i]]] = decay.detach()
    full[[i for i in range(n) if not mask[i]]] = nodecay.detach()
    params.append(full.tolist())
out["adamw"] = {"lr": 1e-2, "weight_decay": 0.1, "clip": 1.0, "p0": p0.tolist(),
                "grads": [x.tolist() for x in grads], "mask": mask,
                "norms": norms, "params": params}

path = os.path.join(os.path.dirname(__file__), "fixtures", "optim.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print("wrote", path)
