# t/malloc-programs.py - an allocation-heavy Python script for
# t/malloc-programs-t.sh: many small objects, dicts, strings, lists that
# grow and shrink, JSON round trips.  Its output is deterministic.
import hashlib
import json
import random

rng = random.Random(42)
table = {}
for i in range(60000):
    key = "k%d-%s" % (i, "x" * (i % 37))
    table[key] = [rng.random() for _ in range(i % 13)]
    if i % 3 == 0:
        table.pop("k%d-%s" % (i // 2, "x" * ((i // 2) % 37)), None)
text = json.dumps(table, sort_keys=True)
back = json.loads(text)
words = [w * (n % 5 + 1) for n, w in enumerate(text[:200000].split(","))]
digest = hashlib.sha256("".join(sorted(words)).encode()).hexdigest()
print(len(table), len(back), len(words), digest)
