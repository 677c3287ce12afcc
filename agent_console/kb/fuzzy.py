"""Typo tolerance: words of the knowledge base within one edit of what was typed.

The vocabulary (every word of every article, with the number of articles that use it) lives in
the ``kb_vocab`` table; a :class:`Vocabulary` is its in-memory form with a deletion index
(SymSpell-style): two words are within one edit (insert, delete, substitute, transpose) only
if they share a one-deletion variant, which is then verified exactly.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Mapping

MIN_FUZZY = 4  # shorter words are too ambiguous to correct
MAX_CORRECTIONS = 4


def within_one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance (optimal string alignment) ≤ 1."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        if len(diff) == 2:
            i, j = diff
            return j == i + 1 and a[i] == b[j] and a[j] == b[i]
        return False
    if la > lb:
        a, b = b, a
        la, lb = lb, la
    # b is one longer: deleting one character of b gives a
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class Vocabulary:
    """Immutable snapshot of the knowledge base's words."""

    def __init__(self, df: Mapping[str, int], stems: Mapping[str, str] | None = None) -> None:
        self.df = dict(df)
        self.sorted = sorted(self.df)
        self.stems = dict(stems or {})
        self._index: dict[str, list[str]] | None = None
        self._by_stem: dict[str, list[str]] | None = None
        self._stems_sorted: list[str] = []

    def __len__(self) -> int:
        return len(self.df)

    def _deletion_index(self) -> dict[str, list[str]]:
        if self._index is None:
            index: dict[str, list[str]] = defaultdict(list)
            for w in self.df:
                if len(w) >= MIN_FUZZY - 1:
                    index[w].append(w)
                    for d in _deletes(w):
                        index[d].append(w)
            self._index = dict(index)
        return self._index

    def _stem_index(self) -> dict[str, list[str]]:
        if self._by_stem is None:
            by_stem: dict[str, list[str]] = defaultdict(list)
            for w, s in self.stems.items():
                by_stem[s].append(w)
            self._by_stem = dict(by_stem)
            self._stems_sorted = sorted(self._by_stem)
        return self._by_stem

    def forms(self, word: str) -> list[str]:
        """The known words the index stems like ``word`` (``refunds`` → refund, refunded…)."""
        stem = self.stems.get(word)
        if stem is None:
            return [word]
        return self._stem_index().get(stem, [word])

    def stems_starting(self, root: str, limit: int) -> list[str] | None:
        """One known word for each stem that starts with ``root`` (what an index prefix query
        ``root*`` finds); None when there are more than ``limit`` stems, or when a word of
        the vocabulary has no known stem (then the list could be incomplete)."""
        by_stem = self._stem_index()
        if len(self.stems) != len(self.df):
            return None
        stems = self._stems_sorted
        out: list[str] = []
        for i in range(bisect.bisect_left(stems, root), len(stems)):
            if not stems[i].startswith(root):
                break
            if len(out) >= limit:
                return None
            out.append(min(by_stem[stems[i]], key=lambda w: (len(w), w)))
        return out

    def _rank(self, words: set[str]) -> list[str]:
        return sorted(words, key=lambda w: (-self.df.get(w, 0), w))[:MAX_CORRECTIONS]

    def corrections(self, word: str) -> list[str]:
        """Known words one edit away from ``word`` (not ``word`` itself), most used first."""
        if len(word) < MIN_FUZZY:
            return []
        index = self._deletion_index()
        found: set[str] = set()
        for key in _deletes(word) | {word}:
            for cand in index.get(key, ()):
                if cand != word and within_one_edit(word, cand):
                    found.add(cand)
        return self._rank(found)

    def completions(self, prefix: str, limit: int = 20) -> list[str]:
        """Known words starting with ``prefix``, most used first."""
        out = []
        words = self.sorted
        for i in range(bisect.bisect_left(words, prefix), len(words)):
            if not words[i].startswith(prefix):
                break
            out.append(words[i])
        return sorted(out, key=lambda w: (-self.df[w], w))[:limit]

    def stem_completions(self, prefix: str, limit: int, max_extra: int) -> list[str]:
        """Known words starting with ``prefix``, at most ``max_extra`` characters longer, that
        the prefix itself does not find in the index because their stem is shorter than it
        (``maintenan`` → ``maintenance``, indexed as ``mainten``). Most used first; usually
        none. Words without a known stem count as needing it."""
        out = []
        words, n = self.sorted, len(prefix)
        for i in range(bisect.bisect_left(words, prefix), len(words)):
            w = words[i]
            if not w.startswith(prefix):
                break
            if len(w) - n <= max_extra and not self.stems.get(w, "").startswith(prefix):
                out.append(w)
        return sorted(out, key=lambda w: (-self.df[w], w))[:limit]

    def prefix_corrections(self, prefix: str) -> list[str]:
        """Prefixes of known words one edit away from a typed prefix (``pasw`` → ``passw``)."""
        if len(prefix) < MIN_FUZZY:
            return []
        found: dict[str, int] = {}
        n = len(prefix)
        for w in self.df:
            if len(w) < n:
                continue
            for k in (n + 1, n):
                head = w[:k]
                if len(head) == k and head != prefix and within_one_edit(prefix, head):
                    found[head] = found.get(head, 0) + self.df[w]
                    break
        return sorted(found, key=lambda h: (-found[h], h))[:MAX_CORRECTIONS]
