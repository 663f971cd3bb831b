"""A tiny chat model for raft-train's end-to-end tests and the demo: a
byte-level BPE tokenizer trained here (1024 ids, ChatML special tokens) and a
random Qwen2-style model over it (2 layers, d=64, GQA, qkv bias, tied
embeddings). Written as a Hugging Face directory that transformers loads.
Run by hand; writes tests/parity/fixtures/tiny-chat/.

    /work/pyparity/bin/python tests/parity/make_tiny_chat.py
"""
import json
import os

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

OUT = os.path.join(os.path.dirname(__file__), "fixtures", "tiny-chat")
os.makedirs(OUT, exist_ok=True)
DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "pipelines", "demo", "docs")

corpus = []
for root, _, files in os.walk(DOCS):
    for f in sorted(files):
        with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
            corpus.append(fh.read())
corpus.append("Question? Answer: ##begin_quote## quote ##end_quote## <ANSWER>: yes")

specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=1024, special_tokens=specials,
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
tok.train_from_iterator(corpus, trainer)
tok.save(os.path.join(OUT, "tokenizer.json"))

chatml = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
fast.chat_template = chatml
fast.save_pretrained(OUT)

torch.manual_seed(0)
cfg = Qwen2Config(vocab_size=tok.get_vocab_size(), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                  tie_word_embeddings=True, eos_token_id=tok.token_to_id("<|endoftext|>"), bos_token_id=None)
model = Qwen2ForCausalLM(cfg).float()
model.save_pretrained(OUT, safe_serialization=True)
for f in sorted(os.listdir(OUT)):
    print(f, os.path.getsize(os.path.join(OUT, f)))
