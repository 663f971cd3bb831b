"""Reference values for raftkit's answer metrics (eval/metrics.c): the
official SQuAD v1.1 evaluation script's normalization, exact match and F1,
and percentile bootstrap intervals with numpy's quantiles. Run by hand;
writes tests/parity/fixtures/squad.json.

    /work/pyparity/bin/python tests/parity/make_squad.py

The four functions below are copied verbatim from evaluate-v1.1.py (the
script distributed with SQuAD v1.1; checked against the copy kept in
allenai/bi-att-flow, squad/evaluate-v1.1.py). Everything else here only
feeds them inputs.

What the fixture holds:
  cases      hand-picked tricky predictions with their gold answers;
  random     a few hundred strings drawn from a mixed alphabet;
  contains   answer-in-context checks (normalized gold, padded with spaces,
             inside the normalized text, padded likewise);
  single     every code point whose normalize_answer is not itself;
  sweep      every code point of Unicode, in blocks of 1024: the FNV-1a 64
             hash of normalize_answer over probe strings built around it
             (so its lower-casing, word-character, whitespace, Cased and
             Case_Ignorable properties all show), for the code points this
             Python's Unicode database assigns; for the unassigned ones, the
             outputs they all share (checked here for every one of them);
  bootstrap  intervals from a port of rng.h's splitmix64 and numpy.quantile.
"""
import json
import os
import random
import re
import string
import sys
import unicodedata
from collections import Counter

import numpy as np


# ---- evaluate-v1.1.py, verbatim ----------------------------------------------

def normalize_answer(s):
    """Lower text and remove punctuation, articles and extra whitespace."""
    def remove_articles(text):
        return re.sub(r'\b(a|an|the)\b', ' ', text)

    def white_space_fix(text):
        return ' '.join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return ''.join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def f1_score(prediction, ground_truth):
    prediction_tokens = normalize_answer(prediction).split()
    ground_truth_tokens = normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1


def exact_match_score(prediction, ground_truth):
    return (normalize_answer(prediction) == normalize_answer(ground_truth))


def metric_max_over_ground_truths(metric_fn, prediction, ground_truths):
    scores_for_ground_truths = []
    for ground_truth in ground_truths:
        score = metric_fn(prediction, ground_truth)
        scores_for_ground_truths.append(score)
    return max(scores_for_ground_truths)

# ------------------------------------------------------------------------------


def scored(pred, golds):
    return {"pred": pred, "golds": golds, "norm": normalize_answer(pred),
            "gold_norms": [normalize_answer(g) for g in golds],
            "em": int(metric_max_over_ground_truths(exact_match_score, pred, golds)),
            "f1": float(metric_max_over_ground_truths(f1_score, pred, golds))}


CASES = [
    # articles: alone, in every position and case, inside words
    ("The Eiffel Tower", ["Eiffel Tower"]),
    ("a", ["A"]), ("AN", ["the"]), ("The", [""]),
    ("an apple a day", ["Apple Day"]), ("apple, an", ["apple"]),
    ("THE THE the", ["a an the"]), ("a a a a", [""]),
    ("theatre", ["the atre"]), ("banana", ["ban an a"]), ("Anathema", ["anathema"]),
    ("athena then", ["athena then"]), ("thea", ["the a"]),
    ("a1", ["a 1"]), ("the2nd", ["2nd"]), ("1a", ["1 a"]),
    # punctuation: removed (ASCII) or kept (Unicode), articles next to it
    ("a.b", ["ab"]), ("the-the", ["thethe"]), ("a-team", ["team"]),
    ("state-of-the-art", ["state of the art"]), ("snake_case_the", ["snakecasethe"]),
    ("(the) [answer]!", ["answer"]), ("\"the\" answer?", ["answer"]),
    ("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", [""]),
    ("a\u2014team", ["\u2014team"]), ("\u201cThe\u201d answer", ["answer"]),
    ("\u201cthe answer\u201d", ["the answer"]), ("l\u2019amour", ["lamour"]),
    ("the\u2019s", ["\u2019s"]), ("\u00abla\u00bb \u00bfqu\u00e9?", ["la qu\u00e9"]),
    ("\u3001the\u3002", ["the"]), ("\uff01the\uff1f", [""]), ("the\u02bcs", ["thes"]),
    # accents, combining marks (not word characters)
    ("Caf\u00e9", ["cafe"]), ("CAF\u00c9", ["caf\u00e9"]), ("Cafe\u0301", ["caf\u00e9"]),
    ("a\u0301", ["\u00e1"]), ("the\u0308 end", ["end"]), ("\u0301a\u0301", [""]),
    ("AN\u0303", ["an"]),
    # Greek sigma: final, medial, alone, across punctuation and marks
    ("\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3", ["\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c2"]),
    ("\u03a3", ["\u03c3"]), ("A\u03a3", ["a\u03c2"]), ("A\u03a3B", ["a\u03c3b"]),
    ("\u03a3\u0391\u03a3 \u03a3\u0391\u03a3.", ["\u03c3\u03b1\u03c2 \u03c3\u03b1\u03c2"]),
    ("A\u03a3'S", ["a\u03c3s"]), ("A'\u03a3", ["a\u03c2"]), ("A.\u03a3.", ["a\u03c2"]),
    ("A \u03a3", ["a \u03c3"]), ("\u0391\u03a3\u0301\u0391", ["\u03b1\u03c3\u0301\u03b1"]),
    ("\u0391\u03a3\u0301", ["\u03b1\u03c2\u0301"]), ("1\u03a3", ["1\u03c3"]), ("\u02b0\u03a3", ["\u02b0\u03c3"]),
    ("\u00aa\u03a3", ["\u00aa\u03c2"]), ("\u2160\u03a3", ["\u2170\u03c2"]), ("\u24b6\u03a3", ["\u24d0\u03c2"]),
    ("A\u00ad\u03a3\u00ad", ["a\u00ad\u03c2\u00ad"]), ("A\u03a3\u00adB", ["a\u03c3\u00adb"]),
    ("\u1f88\u03a3", ["\u1f80\u03c2"]), ("\u03a3\u03a3", ["\u03c3\u03c2"]),
    # Turkish dotted and dotless i, German sharp s, other special mappings
    ("\u0130stanbul", ["istanbul"]), ("\u0130", ["i\u0307"]), ("I\u0131", ["i\u0131"]),
    ("STRASSE", ["stra\u00dfe"]), ("Stra\u00dfe", ["STRA\u00dfE"]), ("\u1e9e", ["\u00df"]),
    ("\u01c4\u01c5\u01c6", ["\u01c6\u01c6\u01c6"]), ("\u212a\u212b", ["k\u00e5"]), ("\ufb01", ["fi"]),
    ("\u13a0\u13a1", ["\uab70\uab71"]), ("\u1c90", ["\u10d0"]), ("\U00010400", ["\U00010428"]),
    ("\u2167 \u216b", ["\u2177 \u217b"]), ("\u24b6\u24b7", ["\u24d0\u24d1"]), ("\U0001e900", ["\U0001e922"]),
    # fullwidth forms
    ("\uff34\uff28\uff25 \uff21\uff2e\uff33\uff37\uff25\uff32", ["the answer"]),
    ("\uff21", ["\uff41"]), ("\uff11\uff10\uff10", ["100"]),
    # whitespace: ASCII, Unicode, and look-alikes that are not whitespace
    ("the\u00a0answer", ["answer"]), ("one\u2003two", ["one two"]), ("x\u3000y", ["x y"]),
    ("x\u200by", ["x y"]), ("x\u0085y", ["x y"]), ("x\u2028y\u2029z", ["x y z"]),
    ("x\x1cy\x1dz\x1e\x1f", ["x y z"]), ("x\ufeffy", ["xy"]), ("x\u180ey", ["x y"]),
    ("x\u1680y\u202fz\u205f", ["x y z"]), ("\t the \n answer \r\x0b\x0c", ["answer"]),
    ("x\u200dy", ["x y"]), ("x\u2060y", ["x y"]),
    # empty and whitespace-only
    ("", [""]), ("   ", [""]), ("\t\n", ["the"]), ("", ["answer"]), ("answer", [""]),
    ("\u3000\u00a0", ["   "]),
    # several golds, repeated tokens
    ("Paris", ["paris, France", "Paris", "the city of Paris"]),
    ("the city of Paris", ["Paris", "city Paris", "London"]),
    ("cat cat cat", ["cat cat"]), ("the the cat cat cat", ["cat", "cat dog"]),
    ("a b c d", ["d c b a"]), ("x y x y", ["y x y x z"]), ("one", ["two", "three", ""]),
    # numbers
    ("1,000", ["1000"]), ("3.14", ["314"]), ("1 000", ["1000"]), ("\u00bd \u00b2", ["\u00bd"]),
    ("\u0663\u0665", ["\u0663\u0665"]), ("\u096b", ["5"]), ("\u216b", ["\u217b"]),
    # emoji, CJK and other scripts
    ("\U0001f44d yes", ["yes"]), ("a \U0001f600", ["\U0001f600"]),
    ("\U0001f468\u200d\U0001f469\u200d\U0001f467 family", ["family"]), ("\U0001f44d\U0001f3fd", ["\U0001f44d"]),
    ("\u5317\u4eac", ["\u5317\u4eac\u5e02"]), ("\u6771\u4eac \u30bf\u30ef\u30fc", ["\u6771\u4eac"]),
    ("\u4e00 a \u4e8c", ["\u4e00 \u4e8c"]), ("\u0627\u0644\u0642\u0627\u0647\u0631\u0629", ["\u0627\u0644\u0642\u0627\u0647\u0631\u0629"]),
    ("\u0a85 the \u0e01", ["\u0a85 \u0e01"]), ("\u0410 \u042f", ["\u0430 \u044f"]), ("\u0531", ["\u0561"]),
]

CONTAINS = [
    ("The Eiffel Tower is in Paris.", "paris"), ("Parisian cafes", "paris"),
    ("a b c", "b c"), ("ab c", "b c"), ("", ""), ("the answer", "the"), ("anything", "  "),
    ("He said: \u201cthe answer\u201d.", "answer"), ("\u201canswer\u201d", "answer"),
    ("one two three", "one two three"), ("one two three", "two  three."), ("one two three", "three four"),
    ("STRASSE", "strasse"), ("\u0130stanbul", "istanbul"), ("\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3 sailed",
                                                           "\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c2"),
    ("x\u00a0y\u2003z", "y z"), ("state-of-the-art", "art"), ("the cat", "a cat"),
]

# The random strings' alphabet: pieces of text, most of them troublemakers.
ALPHABET = (
    list(string.ascii_letters) + list(string.digits) + list(string.punctuation) +
    ["a", "an", "the", "A", "An", "The", "THE", "AN", " a ", " the ", " an "] * 4 +
    [" "] * 20 + ["\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u1680", "\u2000",
                  "\u2003", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u200b", "\ufeff",
                  "\u180e", "\u200d"] +
    ["\u00e9", "\u00c9", "\u00df", "\u1e9e", "\u0130", "\u0131", "\u03a3", "\u03c3", "\u03c2", "\u03a9",
     "\u01c4", "\u01c5", "\u01c6", "\u212a", "\u212b", "\ufb01", "\u0531", "\u13a0", "\u24b6", "\u2167",
     "\U00010400", "\U0001e900", "\u00aa", "\u02b0", "\u1f88", "\u0410", "\u05d0", "\u0627", "\u0915",
     "\u0e01", "\u4e2d", "\u6587", "\u4e00", "\u3042", "\uff21", "\uff41", "\uff11", "\u0663", "\u00bd",
     "\u00b2", "\u2160"] * 2 +
    ["\u0301", "\u0307", "\u0308", "\u0345", "\u20dd", "\u00ad", "\u02c6", "\u00b7", "\u2019", "\u2018",
     "\u2024", "\uff0e", "\u0387", "\u05f4", "\u200c"] * 2 +
    ["\u201c", "\u201d", "\u2014", "\u2013", "\u00ab", "\u00bb", "\u00bf", "\u00a1", "\u3001", "\u3002",
     "\u30fb", "\uff02", "\uff03", "\u2026", "\u00a7", "\U0001f600", "\U0001f44d", "\U0001f3fd",
     "\U0001f468\u200d\U0001f469"]
)


def random_string(rng):
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 24)))


def random_cases(rng, count):
    out = []
    for _ in range(count):
        pred = random_string(rng)
        golds = []
        for _ in range(rng.randrange(1, 4)):
            r = rng.random()
            if r < 0.4:
                # Built from the prediction's words, so that F1 is often neither 0 nor 1.
                words = pred.split(" ")
                rng.shuffle(words)
                golds.append(" ".join(words[:rng.randrange(0, len(words) + 1)] +
                                      [random_string(rng) for _ in range(rng.randrange(0, 2))]))
            elif r < 0.5:
                golds.append(pred.upper() if rng.random() < 0.5 else pred.swapcase())
            else:
                golds.append(random_string(rng))
        out.append(scored(pred, golds))
    return out


# ---- the code point sweep ----------------------------------------------------

PROBES = ["{c}", "a{c}a", "A{c}\u03a3", "A\u03a3{c}", "{c}\u03a3"]
BLOCK = 1024


def fnv1a(h, data):
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def probe_bytes(ch):
    return b"".join(normalize_answer(p.replace("{c}", ch)).encode("utf-8") + b"\xff" for p in PROBES)


def sweep():
    unassigned, hashes, single = [], [], []
    ref = chr(0x0378)  # unassigned in every Unicode version so far
    assert unicodedata.category(ref) == "Cn"
    shared = [normalize_answer(p.replace("{c}", ref)).replace(ref, "{c}") for p in PROBES]
    for start in range(0, 0x110000, BLOCK):
        h, count = 0xCBF29CE484222325, 0
        for c in range(start, start + BLOCK):
            if 0xD800 <= c <= 0xDFFF:
                continue
            ch = chr(c)
            if unicodedata.category(ch) == "Cn":
                want = [s.replace("{c}", ch) for s in shared]
                got = [normalize_answer(p.replace("{c}", ch)) for p in PROBES]
                assert got == want, (hex(c), got, want)
                if unassigned and unassigned[-1][1] == c - 1:
                    unassigned[-1][1] = c
                else:
                    unassigned.append([c, c])
                continue
            h = fnv1a(h, probe_bytes(ch))
            count += 1
            n = normalize_answer(ch)
            if n != ch:
                single.append([c, n])
        if count:
            hashes.append([start, count, "%016x" % h])
    return {"probes": PROBES, "block": BLOCK, "unassigned": unassigned, "unassigned_outputs": shared,
            "hashes": hashes}, single


# ---- bootstrap ---------------------------------------------------------------

M64 = 0xFFFFFFFFFFFFFFFF


class SplitMix64:
    """include/raftkit/rng.h: rk_rng_next and rk_rng_below."""

    def __init__(self, seed):
        self.s = seed & M64

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n


def bootstrap(x, B, level, seed):
    rng = SplitMix64(seed)
    means = []
    for _ in range(B):
        s = 0.0
        for _ in range(len(x)):
            s += x[rng.below(len(x))]
        means.append(s / len(x))
    lo, hi = np.quantile(np.array(means), [(1 - level) / 2, (1 + level) / 2])
    return {"x": x, "B": B, "level": level, "seed": "%016x" % seed, "lo": float(lo), "hi": float(hi)}


def bootstrap_cases(rng):
    em = [float(rng.random() < 0.6) for _ in range(50)]
    f1 = [rng.choice([0.0, 1.0, rng.random()]) for _ in range(37)]
    wide = [rng.uniform(-1e3, 1e3) for _ in range(23)]
    return [
        bootstrap(em, 1000, 0.95, 42),
        bootstrap(em, 999, 0.9, 0xFFFFFFFFFFFFFFFF),
        bootstrap(f1, 2000, 0.95, 7),
        bootstrap(f1, 10, 0.5, 0x8000000000000001),
        bootstrap(wide, 257, 0.99, 123456789),
        bootstrap(wide, 100, 0.0, 3),
        bootstrap(wide, 100, 1.0, 3),
        bootstrap([0.25], 50, 0.95, 1),
        bootstrap([1.0, 0.0], 1, 0.95, 9),
        bootstrap([1.0, 0.0], 2, 0.95, 9),
        bootstrap([0.1, 0.2, 0.7], 3, 0.8, 0),
    ]


def dump(v, depth=0):
    """JSON with one list item per line down to the second level, so that a
    regenerated fixture diffs by case."""
    if depth < 2 and isinstance(v, dict):
        return "{\n" + ",\n".join(json.dumps(k) + ":" + dump(x, depth + 1) for k, x in v.items()) + "\n}"
    if depth < 3 and isinstance(v, list) and v and isinstance(v[0], (dict, list)):
        return "[\n" + ",\n".join(dump(x, 3) for x in v) + "\n]"
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def main():
    rng = random.Random(20240611)
    sw, single = sweep()
    out = {
        "python": sys.version.split()[0], "unidata_version": unicodedata.unidata_version,
        "numpy": np.__version__,
        "cases": [scored(p, g) for p, g in CASES],
        "random": random_cases(rng, 300),
        "contains": [{"text": t, "gold": g,
                      "want": int(normalize_answer(g) != "" and
                                  (" " + normalize_answer(g) + " ") in (" " + normalize_answer(t) + " "))}
                     for t, g in CONTAINS],
        "single": single,
        "sweep": sw,
        "bootstrap": bootstrap_cases(rng),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "squad.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write(dump(out) + "\n")
    print("wrote", path, os.path.getsize(path), "bytes;", len(out["cases"]), "cases,",
          len(out["random"]), "random,", len(single), "single,", len(sw["hashes"]), "blocks,",
          len(sw["unassigned"]), "unassigned ranges")


if __name__ == "__main__":
    main()
