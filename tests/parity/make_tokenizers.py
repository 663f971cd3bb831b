#!/usr/bin/env python3
"""make_tokenizers.py — the reference for model/tokenizer.c.

There is no access to the Hugging Face hub here, so this script *trains* one
small tokenizer per model family with the Python `tokenizers` library,
configured the way the real models' tokenizer.json files are (normalizer,
pre-tokenizer, decoder, model options, added tokens), and records what the
library itself does with them:

    fixtures/tokenizers/<name>/tokenizer.json         the tokenizer
    fixtures/tokenizers/<name>/tokenizer_config.json  bos/eos (some families)
    fixtures/tokenizers/<name>/expected.json          ids and decodes

Families: gpt2, llama3, qwen2, smollm (byte-level BPE), llama2 (SentencePiece
style: Prepend/Replace normalizer, byte fallback) and mistral (the newer
SentencePiece-style form: Metaspace pre-tokenizer, prepend_scheme "first").
gpt2's merges are rewritten to the older "a b" string form; the others keep
the ["a", "b"] pairs the library writes.

expected.json holds, per tokenizer:
    cases:   [{name, text, ids, tokens, decode, decode_skip, roundtrip}]
             hand-written multilingual texts;
    random:  [{text, ids}] random strings drawn from a pool of characters
             and fragments of every class the pre-tokenizers distinguish;
    decodes: [{ids, decode, decode_skip}] random id sequences (byte tokens
             favoured, so that invalid UTF-8 appears) and their decodes;
    vocab_size, bos, eos (ids, -1 when none), special (ids of special tokens);
    variants: [{name, edits, cases, decodes}] the same tokenizer with some
             members replaced (edits: [["a.b", value], ...]), for options no
             family uses (add_prefix_space, Metaspace split and decoder,
             unknown tokens without byte fallback, NFKC, no decoder, ...).

Run by hand:  /work/pyparity/bin/python tests/parity/make_tokenizers.py
It is deterministic: running it twice writes the same bytes.
"""
import json
import os
import random

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "tokenizers")

# GPT-2's pattern is built into ByteLevel(use_regex=True); a variant below
# also writes it out as a Split.
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# ---- the training corpus ----

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "I'm sure you're right, but we've seen that they'll say he'd never do it.",
    "DON'T PANIC! It's only a test; THEY'RE WATCHING and WE'LL KNOW.",
    "Retrieval-augmented generation combines a retriever with a language model.",
    "The model reads the question, the documents and the answer, then learns.",
    "In 2023, the dataset had 1,234,567 rows and 89 columns; 3.14159 is pi.",
    "Call 555-0123 or write to info@example.com before 12/31/2024 at 23:59.",
    "Ça va très bien, merci ! L'élève a déjà lu « Les Misérables » à Noël.",
    "Où est la bibliothèque ? Je voudrais un café crème et une crêpe.",
    "Größe, Straße und Übermäßig: die Bücher liegen auf dem Tisch.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "El niño comió una manzana y la señora bebió café en España.",
    "日本語のテキストを分割します。東京は日本の首都です。",
    "中文字符也需要正确处理，例如：你好，世界！",
    "한국어 문장도 포함합니다. 안녕하세요.",
    "Привет, мир! Это тест на русском языке.",
    "Γειά σου κόσμε, αυτό είναι ελληνικά.",
    "مرحبا بالعالم، هذا نص عربي.",
    "नमस्ते दुनिया, यह हिंदी पाठ है।",
    "Emoji: 👍 😀 🎉 🚀 ❤️ 👨‍👩‍👧‍👦 👍🏽 🏳️‍🌈",
    "def f(x):\n    return x ** 2 // 3  # square, then divide\n",
    "for (int i = 0; i < n; i++) { sum += a[i] * b[i]; }",
    "if __name__ == \"__main__\":\n\tmain()\n",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    "   leading spaces and trailing spaces   ",
    "tabs\tand\t\ttabs, newlines\n\nand\r\nwindows line ends",
    "Numbers: 0 7 42 123 4567 89012 345678 9999999 2¹⁰ ½ Ⅻ",
    "Prices: $5.99, €12,50, £3, ¥1000 — 50% off!!!",
    "Hyphen-ated words, snake_case_names and CamelCaseNames are common.",
    "Questions? Answers! Quotes \"like this\" and 'like that'.",
]

WORDS = (
    "the of and to in is that for it as with was on be by this are from or have an they which one you were her "
    "all she there would their we him been has when who will more no if out so said what up its about into than "
    "them can only other new some could time these two may then do first any my now such like our over man me "
    "model data answer question document retrieval training token tokenizer merge vocabulary"
).split()


def corpus(rng):
    lines = []
    for _ in range(4000):
        k = rng.randint(1, 3)
        parts = [rng.choice(SENTENCES) for _ in range(k)]
        if rng.random() < 0.5:
            parts.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))))
        if rng.random() < 0.2:
            parts.append(str(rng.randint(0, 10 ** rng.randint(1, 9))))
        sep = rng.choice([" ", "  ", "\n", "\t", " \n "])
        line = sep.join(parts)
        if rng.random() < 0.1:
            line = line.upper()
        lines.append(line)
    return lines


# ---- what is encoded ----

CASES = [
    ("english", "Hello world! The quick brown fox jumps over the lazy dog."),
    ("contractions", "I'm here, you're there, we've won, they'll go, he'd said, it's, don't. DON'T I'M WE'VE 'S 'll x'ſ it'ſelf"),
    ("french", "Ça déjà vu : l'élève naïve a mangé une crème brûlée à Noël."),
    ("german", "Größe Straße Übermäßig ÄÖÜ äöü ß ẞ"),
    ("decomposed", "e\u0301le\u0300ve cafe\u0301 A\u030a n\u0303"),
    ("cjk", "日本語のテキスト、中文字符，한국어 문장。"),
    ("emoji", "👍 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️ 🎉🎉🎉 🫠"),
    ("digits", "1 12 123 1234 12345 123456 1234567 3.14159 1,000,000 2024-01-31 x2 ²³ ½ Ⅻ ٣٤٥"),
    ("whitespace", "a  b   c\t\td\n\ne\r\nf \n  g\u00a0h\u3000i\u2003j   "),
    ("trailing", "trailing spaces   \n\n  "),
    ("leading", "   leading and \t mixed"),
    ("newlines", "line one\nline two\n\n\nline five\r\n\r\nend\n"),
    ("code", "def f(x):\n    return x**2 // 3  # comment\n\nfor i in range(10):\n\tprint(f(i), end='')\n"),
    ("punct", "Wait... what?! (yes) [no] {maybe} <tag> \"quote\" 'single' -- — … @#$%^&*"),
    ("mixed", "Model v2.5 scored 97.3% on MMLU (5-shot); GPT-4o: 88.7%. 東京 2020 🚀"),
    ("controls", "bell\x07 esc\x1b[0m nul-free \x1c\x1d\x1e\x1f del\x7f"),
    ("unreachable", "an unreachable word, unreachable again"),
    ("empty", ""),
    ("space", " "),
    ("specials", None),  # filled per family with its own special tokens
    ("long", None),  # a few kilobytes of prose: one word for SentencePiece-style models
]


def long_text():
    rng = random.Random(7)
    paras = []
    for _ in range(12):
        paras.append(" ".join(rng.choice(SENTENCES[:12] + SENTENCES[24:]) for _ in range(rng.randint(2, 5))))
    return "\n\n".join(paras)


def random_texts(rng, specials, n=150):
    pool = [
        "a", "b", "z", "Q", "the", " the", "The", "ing", "tion", "model", " model", "HELLO",
        "0", "1", "7", "42", "123", "4567", "99999", "3.5", "²", "½", "Ⅻ", "٣",
        " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\r", " \n", "\u00a0", "\u3000", "\u2003", "\u0085",
        "'", "'s", "'S", "'t", "'re", "'RE", "'ve", "'m", "'ll", "'LL", "'d", "'D", "'x", "ſ",
        ".", ",", "!", "?", "...", "--", "(", ")", "[", "]", "{", "}", "<", ">", "|", "_", "-", "/", "\\", "#", "@",
        "é", "e\u0301", "ü", "ß", "Ç", "ñ", "ø", "Å", "A\u030a", "\u0301", "\u0308",
        "日", "本", "語", "中文", "한", "국", "어", "я", "Ж", "λ", "Ω", "م", "ر", "न", "म", "स्", "ते",
        "👍", "🏽", "\u200d", "👨", "👩", "\ufe0f", "🏳", "🌈", "❤", "🚀", "🫠", "\u200b",
        "\x07", "\x1b", "\x1f", "\x7f", "$", "€", "%", "^", "*", "+", "=", "~", "`", ";", ":",
    ] + specials
    out = []
    for _ in range(n):
        k = rng.randint(1, 14)
        out.append("".join(rng.choice(pool) for _ in range(k)))
    return out


# ---- building the tokenizers ----


def save_json(path, obj, indent=1):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, ensure_ascii=False, indent=indent, separators=None if indent else (",", ":"))
        f.write("\n")


def train(tok, lines, trainer):
    tok.train_from_iterator(lines, trainer=trainer, length=len(lines))
    return json.loads(tok.to_str())


def byte_level(lines, pre_tokenizer, normalizer=None, vocab_size=1200, ignore_merges=False):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    j = train(tok, lines, trainer)
    vocab = j["model"]["vocab"]
    # A vocabulary entry no merge sequence produces: with ignore_merges a
    # pre-token equal to it comes out whole, without it is split.
    vocab["Ġunreachable"] = len(vocab)
    j["model"]["ignore_merges"] = ignore_merges
    return j


def sentencepiece(lines, vocab_size=1000, alphabet=90):
    # Only the most frequent characters are learned (ties broken by code
    # point, so that the file is deterministic; the trainer's own
    # limit_alphabet breaks them by hash order): the rest come out through
    # byte fallback.
    counts = {}
    for line in lines:
        for c in line.replace(" ", "▁"):
            counts[c] = counts.get(c, 0) + 1
    keep = set(sorted(counts, key=lambda c: (-counts[c], c))[:alphabet])
    lines = ["".join(c for c in line if c == " " or c in keep) for line in lines]
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    # Training splits words at "▁" (as sentencepiece does); the saved
    # tokenizer has no pre-tokenizer and merges over the whole segment.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        show_progress=False,
        special_tokens=["<unk>", "<s>", "</s>"],
    )
    j = train(tok, lines, trainer)
    old = j["model"]["vocab"]
    assert [old["<unk>"], old["<s>"], old["</s>"]] == [0, 1, 2]
    # Llama's layout: <unk> <s> </s>, then the 256 byte pieces, then the rest.
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = 3 + b
    for piece, i in sorted(old.items(), key=lambda kv: kv[1]):
        if piece not in vocab:
            vocab[piece] = len(vocab)
    j["model"]["vocab"] = vocab
    j["decoder"] = {
        "type": "Sequence",
        "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"},
            {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0},
        ],
    }
    return j


def finish(j, special, added=(), post_processor=None):
    """Adds the added tokens through the library (ids after the vocabulary)."""
    j["post_processor"] = post_processor
    tok = Tokenizer.from_str(json.dumps(j))
    tok.add_special_tokens(list(special))
    if added:
        tok.add_tokens(list(added))
    return json.loads(tok.to_str())


def build(lines):
    out = {}

    j = byte_level(lines, pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True))
    j = finish(
        j,
        [
            AddedToken("<|endoftext|>", special=True, normalized=False),
            AddedToken("<mask>", special=True, lstrip=True, normalized=False),
            AddedToken("<sep>", special=True, rstrip=True, normalized=False),
        ],
        [AddedToken("xyzzy", single_word=True, special=False, normalized=True)],
        post_processor={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
    )
    # GPT-2's own file has its merges as "a b" strings: the older encoding.
    j["model"]["merges"] = [a + " " + b for a, b in j["model"]["merges"]]
    out["gpt2"] = (j, {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"},
                   ["<|endoftext|>", "<mask>", " <mask> ", "<sep>", " xyzzy ", "xyzzy", "axyzzy"])

    pre = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
        ]
    )
    j = byte_level(lines, pre, ignore_merges=True)
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    specials += ["<|reserved_special_token_%d|>" % i for i in range(4)]
    j = finish(
        j,
        [AddedToken(s, special=True, normalized=False) for s in specials],
        post_processor={
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [0], "tokens": ["<|begin_of_text|>"]}},
        },
    )
    bot = j["added_tokens"][0]["id"]
    j["post_processor"]["special_tokens"]["<|begin_of_text|>"]["ids"] = [bot]
    out["llama3"] = (j, {"bos_token": "<|begin_of_text|>", "eos_token": {"content": "<|eot_id|>", "special": True}},
                     ["<|begin_of_text|>", "<|start_header_id|>user<|end_header_id|>\n\n", "<|eot_id|>",
                      "<|reserved_special_token_3|>", "<|reserved_special_token_", "<|eot_id|"])

    pre = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    j = byte_level(lines, pre, normalizer=normalizers.NFC())
    j = finish(j, [AddedToken(s, special=True, normalized=False) for s in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]])
    out["qwen2"] = (j, None, ["<|im_start|>system\n", "<|im_end|>", "<|endoftext|>", "<|im_start|>"])

    pre = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        ]
    )
    j = byte_level(lines, pre)
    j = finish(j, [AddedToken(s, special=True, normalized=False) for s in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]])
    out["smollm"] = (j, {"bos_token": {"content": "<|im_start|>"}, "eos_token": "<|im_end|>"},
                     ["<|im_start|>", "<|im_end|>", "<|endoftext|>"])

    j = sentencepiece(lines)
    j["normalizer"] = {
        "type": "Sequence",
        "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
        ],
    }
    j["pre_tokenizer"] = None
    j = finish(j, [], [AddedToken("<|tool|>", special=False, normalized=True)])
    out["llama2"] = (j, {"bos_token": {"content": "<s>", "lstrip": False}, "eos_token": {"content": "</s>"}},
                     ["<s>", "</s>", "<unk>", " <s> ", "<|tool|>", " <|tool|> ", "<0x41>"])

    j = sentencepiece(lines, vocab_size=900)
    j["normalizer"] = None
    j["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
    j = finish(j, [AddedToken(s, special=True, normalized=False) for s in ["[INST]", "[/INST]"]])
    out["mistral"] = (j, {"bos_token": "<s>", "eos_token": "</s>"},
                      ["<s>", "[INST]", " [/INST]", "</s>", "[INST] hi [/INST]"])
    return out


def special_case(specials):
    # A text around each family's special tokens (and other families', which
    # are plain text there), so that matching and the text between are seen.
    parts = ["Start"] + [s for s in specials] + ["<|endoftext|> <s>[INST] x [/INST]</s> end"]
    return " mid ".join(parts) + " " + "".join(specials)


# Variants: a family's tokenizer.json with members replaced ("a.b" paths into
# objects), for the options no family above uses. Their expectations go into
# the family's expected.json under "variants"; the C test makes the same edits.
META = "\u2581"
VARIANTS = [
    ("gpt2", "add_prefix_space", [("pre_tokenizer.add_prefix_space", True)]),
    ("gpt2", "gpt2_pattern_as_split", [("pre_tokenizer", {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"},
         "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": False}]})]),
    ("smollm", "digits_contiguous_nfkc", [
        ("pre_tokenizer", {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}),
        ("normalizer", {"type": "NFKC"})]),
    ("qwen2", "no_decoder_nfd", [("decoder", None), ("normalizer", {"type": "NFD"})]),
    ("llama3", "added_flags", [("added_tokens", None)]),  # filled in by added_flags()
    # (?i:'s) also matches "'ſ" (long s): seen when "'ſ" is a vocab entry and
    # ignore_merges takes it whole
    ("llama3", "contraction_long_s", [("model.vocab.'\u00c5\u00bf", 1300)]),
    # the library ignores the ids written in added_tokens: reversed, with
    # wrong ids, they are numbered again in the array's order
    ("gpt2", "added_ids_renumbered", [("added_tokens", None)]),  # filled in by renumbered()
    ("llama2", "unk_not_fused", [("model.byte_fallback", False), ("model.fuse_unk", False)]),
    ("llama2", "unk_fused", [("model.byte_fallback", False)]),
    ("mistral", "metaspace_split_always", [
        ("pre_tokenizer", {"type": "Metaspace", "replacement": META, "prepend_scheme": "always", "split": True}),
        ("decoder", {"type": "Metaspace", "replacement": META, "prepend_scheme": "always", "split": True})]),
    ("mistral", "metaspace_decoder_never", [
        ("decoder", {"type": "Metaspace", "replacement": META, "prepend_scheme": "never", "split": False})]),
    ("mistral", "strip_two", [("decoder", {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": META}, "content": " "}, {"type": "ByteFallback"},
        {"type": "Strip", "content": " ", "start": 2, "stop": 0}]})]),
]


def added_flags(j):
    """llama3's added tokens with lstrip/rstrip/single_word set, and two more."""
    out = []
    for a in j["added_tokens"]:
        a = dict(a)
        if a["content"] == "<|eot_id|>":
            a["lstrip"] = a["rstrip"] = True
        if a["content"] == "<|begin_of_text|>":
            a["single_word"] = True
        out.append(a)
    n = max(a["id"] for a in out) + 1
    out.append({"id": n, "content": "the", "single_word": True, "lstrip": False, "rstrip": False,
                "normalized": True, "special": False})
    out.append({"id": n + 1, "content": " é", "single_word": False, "lstrip": True, "rstrip": True,
                "normalized": False, "special": True})
    return out


def renumbered(j):
    out = [dict(a) for a in reversed(j["added_tokens"])]
    for k, a in enumerate(out):
        a["id"] = 3 + 7 * k
    return out


def edit(j, edits):
    j = json.loads(json.dumps(j))
    for path, value in edits:
        keys = path.split(".")
        obj = j
        for k in keys[:-1]:
            obj = obj[k]
        obj[keys[-1]] = value
    return j


def cases_of(specials):
    out = []
    for cname, text in CASES:
        if text is None:
            text = special_case(specials) if cname == "specials" else long_text()
        out.append((cname, text))
    return out


def decode_cases(tok, rng, n):
    size = tok.get_vocab_size(with_added_tokens=True)
    vocab = tok.get_vocab(with_added_tokens=True)
    byteish = sorted(i for t, i in vocab.items() if t.startswith("<0x") or len(t) == 1)
    out = []
    for _ in range(n):
        ids = [rng.choice(byteish) if rng.random() < 0.7 else rng.randrange(size) for _ in range(rng.randint(1, 8))]
        out.append(
            {
                "ids": ids,
                "decode": tok.decode(ids, skip_special_tokens=False),
                "decode_skip": tok.decode(ids, skip_special_tokens=True),
            }
        )
    return out


def variant_expectations(name, j, specials):
    out = []
    for fam, vname, edits in VARIANTS:
        if fam != name:
            continue
        if vname == "added_flags":
            edits = [("added_tokens", added_flags(j))]
        if vname == "added_ids_renumbered":
            edits = [("added_tokens", renumbered(j))]
        tok = Tokenizer.from_str(json.dumps(edit(j, edits)))
        rng = random.Random(vname)
        texts = [t for _, t in cases_of(specials)] + random_texts(rng, specials + ["the", " é", "\u2581"], 60)
        cases = []
        for text in texts:
            ids = tok.encode(text, add_special_tokens=False).ids
            cases.append(
                {
                    "text": text,
                    "ids": ids,
                    "decode": tok.decode(ids, skip_special_tokens=False),
                    "decode_skip": tok.decode(ids, skip_special_tokens=True),
                }
            )
        out.append({"name": vname, "edits": [[p, v] for p, v in edits], "cases": cases,
                    "decodes": decode_cases(tok, rng, 40)})
    return out


def main():
    rng = random.Random(20240611)
    lines = corpus(rng)
    built = build(lines)
    for name, (j, config, specials) in built.items():
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "tokenizer.json")
        save_json(path, j)
        if config is not None:
            save_json(os.path.join(d, "tokenizer_config.json"), config)
        # The expectations come from the file as written, read back.
        tok = Tokenizer.from_file(path)

        def bos_eos(key):
            if config is None or config.get(key) is None:
                return -1
            v = config[key]
            return tok.token_to_id(v if isinstance(v, str) else v["content"])

        cases = []
        for cname, text in cases_of(specials):
            enc = tok.encode(text, add_special_tokens=False)
            dec = tok.decode(enc.ids, skip_special_tokens=False)
            cases.append(
                {
                    "name": cname,
                    "text": text,
                    "ids": enc.ids,
                    "tokens": enc.tokens,
                    "decode": dec,
                    "decode_skip": tok.decode(enc.ids, skip_special_tokens=True),
                    "roundtrip": dec == text,
                }
            )
        trng = random.Random(name)
        rand = []
        for text in random_texts(trng, specials):
            rand.append({"text": text, "ids": tok.encode(text, add_special_tokens=False).ids})
        vocab = tok.get_vocab(with_added_tokens=True)
        special = sorted(t["id"] for t in j["added_tokens"] if t["special"])
        expected = {
            "vocab_size": max(vocab.values()) + 1,
            "bos": bos_eos("bos_token"),
            "eos": bos_eos("eos_token"),
            "special": special,
            "cases": cases,
            "random": rand,
            "decodes": decode_cases(tok, trng, 120),
            "variants": variant_expectations(name, json.loads(open(path, encoding="utf-8").read()), specials),
        }
        save_json(os.path.join(d, "expected.json"), expected, indent=None)
        size = os.path.getsize(path)
        print("%-8s vocab %4d  tokenizer.json %6d bytes" % (name, expected["vocab_size"], size))


if __name__ == "__main__":
    main()
