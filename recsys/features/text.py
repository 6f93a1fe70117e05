"""Overview text as vectors: tokenising, word vectors and their mean per movie.

Word vectors come from a pretrained file in word2vec format, read with gensim's
``KeyedVectors.load_word2vec_format`` (binary ``.bin`` such as
GoogleNews-vectors-negative300.bin, or text such as a GloVe file converted to word2vec
format), or from a gensim ``Word2Vec`` trained on the overviews themselves
(:func:`train_word2vec`, seeded and single-threaded so the same corpus and seed give the
same vectors).

Trained vectors are transductive: ``recsys features build --word-vectors train`` fits
Word2Vec on the overviews of *every* movie in the store, validation and test movies
included. This is unsupervised (no ratings, no genres) and the usual practice for word
embeddings, but a model evaluated on those movies has seen their words' co-occurrences;
for a strictly inductive evaluation use a pretrained file (GoogleNews, GloVe), whose
vectors never saw the overviews.

A movie's vector is the mean of the vectors of its known tokens (:func:`mean_vectors`).
A movie with no known token gets no vector: its mask is False (never a silent row of
zeros), and :class:`TextVectorReport` says how many tokens and movies were out of
vocabulary.
"""

from __future__ import annotations

import gzip
import os
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from recsys.errors import DataError

if TYPE_CHECKING:  # gensim is imported lazily: it is slow to import
    from gensim.models import KeyedVectors

__all__ = [
    "STOP_WORDS",
    "TextVectorReport",
    "load_word_vectors",
    "mean_vectors",
    "tokenize",
    "train_word2vec",
]

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)*")


def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


#: The English stop words removed by :func:`tokenize` (scikit-learn's list, 318 words).
STOP_WORDS: frozenset[str] = _stop_words()


def tokenize(
    text: str | None, *, stop_words: Iterable[str] | None = STOP_WORDS, min_length: int = 2
) -> list[str]:
    """Lower-case word tokens of ``text`` without stop words.

    Tokens are runs of letters and digits (an apostrophe inside a word is kept and a
    trailing possessive ``'s`` dropped); tokens shorter than ``min_length`` and pure
    numbers are removed.

    Parameters
    ----------
    text : the overview (``None`` or empty gives no tokens).
    stop_words : words to drop (default :data:`STOP_WORDS`; ``None`` keeps every word).
    min_length : shortest token kept.

    Returns
    -------
    list of str

    Examples
    --------
    >>> tokenize("Woody's toys come to LIFE in 1995!")
    ['woody', 'toys', 'come', 'life']
    """
    if not text:
        return []
    stop = stop_words if isinstance(stop_words, (set, frozenset)) else frozenset(stop_words or ())
    out = []
    for token in _WORD.findall(str(text).lower().replace("’", "'")):
        if token.endswith("'s"):
            token = token[:-2]
        if len(token) < min_length or token.isdigit() or token in stop:
            continue
        out.append(token)
    return out


def load_word_vectors(
    path: str | os.PathLike[str], *, binary: bool | None = None, limit: int | None = None
) -> KeyedVectors:
    """Read pretrained word vectors in word2vec format with gensim.

    Parameters
    ----------
    path : a word2vec-format file: binary (``.bin``, ``.bin.gz``, e.g.
        GoogleNews-vectors-negative300.bin.gz) or text (anything else, e.g.
        ``glove-6B-50d-5k.txt``: a ``"<count> <dim>"`` header line, then one word and
        its numbers per line).
    binary : force the format; ``None`` guesses from the file name.
    limit : read only the first ``limit`` vectors (the most frequent ones in the
        GoogleNews file), to save memory.

    Returns
    -------
    gensim.models.KeyedVectors

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DataError
        If the file is not in word2vec format (a GloVe file without the header line,
        a damaged download, the wrong ``binary`` setting).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> file = Path(tempfile.mkdtemp()) / "tiny.txt"
    >>> lines = ["2 3", "cat 0.1 0.2 0.3", "dog 0.3 0.2 0.1"]  # count and size, then vectors
    >>> _ = file.write_text("".join(line + chr(10) for line in lines))
    >>> vectors = load_word_vectors(file)
    >>> vectors.vector_size, vectors.index_to_key
    (3, ['cat', 'dog'])
    """
    from gensim.models import KeyedVectors

    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(2, "no such file", str(file))
    if binary is None:
        binary = file.name.lower().endswith((".bin", ".bin.gz"))
    try:
        vectors = KeyedVectors.load_word2vec_format(str(file), binary=binary, limit=limit)
    except (ValueError, UnicodeDecodeError, EOFError, OSError, IndexError) as error:
        kind = "binary" if binary else "text"
        other = "--word-vectors-format text" if binary else "--word-vectors-format binary"
        cause = f"{type(error).__name__}: {str(error)[:120]}"
        if not binary and not isinstance(error, UnicodeDecodeError) and _has_word2vec_header(file):
            raise DataError(
                f"{str(file)!r} is a damaged word2vec text file ({cause}): its header is "
                "there but a line does not hold a word and the announced number of values "
                "(a truncated or edited file?); download it again."
            ) from None
        raise DataError(
            f"{str(file)!r} is not a {kind} word2vec-format file ({cause}); a GloVe file "
            f"needs the '<count> <dim>' header line of the word2vec text format, or try "
            f"{other}."
        ) from None
    if len(vectors) == 0 or vectors.vector_size == 0:
        raise DataError(f"{str(file)!r} holds no word vectors; check the file.")
    if not np.isfinite(vectors.vectors).all():
        raise DataError(f"{str(file)!r} holds NaN or infinite numbers; the file is damaged.")
    return vectors


def _has_word2vec_header(file: Path) -> bool:
    """Whether the first line of a (possibly gzipped) text file is ``"<count> <dim>"``."""
    opener: Any = gzip.open if file.name.lower().endswith(".gz") else open
    try:
        with opener(file, "rt", encoding="utf-8", errors="replace") as handle:
            parts = handle.readline().split()
    except (OSError, EOFError):
        return False
    return len(parts) == 2 and all(part.isdigit() for part in parts)


def _stable_hash(text: str) -> int:
    """A hash that does not change between processes (Python's ``hash`` of a str does)."""
    return zlib.crc32(text.encode("utf-8"))


def train_word2vec(
    sentences: Sequence[Sequence[str]],
    *,
    vector_size: int = 100,
    window: int = 5,
    min_count: int = 2,
    epochs: int = 20,
    sg: bool = True,
    seed: int = 0,
) -> KeyedVectors:
    """Train gensim ``Word2Vec`` on tokenised texts and return its word vectors.

    Training uses one worker thread and a fixed hash function, so the same sentences
    and ``seed`` give the same vectors in every process.

    Parameters
    ----------
    sentences : token lists (e.g. :func:`tokenize` of every overview).
    vector_size : dimension of the vectors.
    window : context window on each side.
    min_count : words seen fewer times are ignored.
    epochs : passes over the corpus.
    sg : skip-gram (True) or CBOW (False).
    seed : seed of the initial vectors and of negative sampling.

    Returns
    -------
    gensim.models.KeyedVectors

    Raises
    ------
    DataError
        If no word occurs ``min_count`` times (empty vocabulary) or a setting is not
        positive.

    Examples
    --------
    >>> docs = [["space", "alien", "ship"], ["alien", "ship", "crew"]] * 5
    >>> vectors = train_word2vec(docs, vector_size=8, min_count=1, epochs=2)
    >>> vectors["alien"].shape
    (8,)
    """
    from gensim.models import Word2Vec

    for name, value in (
        ("vector_size", vector_size),
        ("window", window),
        ("min_count", min_count),
        ("epochs", epochs),
    ):
        if int(value) < 1:
            raise DataError(f"Word2Vec {name} must be a positive integer, received {value}.")
    corpus = [list(s) for s in sentences if len(s)]
    counts: dict[str, int] = {}
    for sentence in corpus:
        for token in sentence:
            counts[token] = counts.get(token, 0) + 1
    if not any(c >= min_count for c in counts.values()):
        raise DataError(
            f"cannot train Word2Vec: no word occurs {min_count} times in the "
            f"{len(corpus)} non-empty texts; use more texts or a lower "
            "min_count."
        )
    model = Word2Vec(
        corpus,
        vector_size=int(vector_size),
        window=int(window),
        min_count=int(min_count),
        epochs=int(epochs),
        sg=int(bool(sg)),
        seed=int(seed),
        workers=1,
        hashfxn=_stable_hash,
    )
    return model.wv


@dataclass(frozen=True)
class TextVectorReport:
    """Out-of-vocabulary statistics of :func:`mean_vectors`.

    Attributes
    ----------
    n_texts : texts given.
    n_empty : texts without any token (after stop words).
    n_no_known_token : texts with tokens, none of them in the vocabulary (masked).
    n_tokens : tokens in all texts.
    n_oov_tokens : tokens not in the vocabulary.
    """

    n_texts: int
    n_empty: int
    n_no_known_token: int
    n_tokens: int
    n_oov_tokens: int

    @property
    def n_present(self) -> int:
        """Texts that got a vector."""
        return self.n_texts - self.n_empty - self.n_no_known_token

    @property
    def oov_rate(self) -> float:
        """Share of tokens that are out of vocabulary (0 when there is no token)."""
        return self.n_oov_tokens / self.n_tokens if self.n_tokens else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form, with the derived rates."""
        return {
            "n_texts": self.n_texts,
            "n_empty": self.n_empty,
            "n_no_known_token": self.n_no_known_token,
            "n_present": self.n_present,
            "n_tokens": self.n_tokens,
            "n_oov_tokens": self.n_oov_tokens,
            "token_oov_rate": round(self.oov_rate, 6),
        }

    def summary(self) -> str:
        """One line for the terminal."""
        return (
            f"{self.n_present}/{self.n_texts} texts got a vector; "
            f"{self.oov_rate:.1%} of {self.n_tokens} tokens out of vocabulary; "
            f"masked: {self.n_empty} without tokens, {self.n_no_known_token} without "
            "a known token"
        )


def mean_vectors(
    token_lists: Sequence[Sequence[str]], vectors: KeyedVectors, *, case_fallback: bool = True
) -> tuple[NDArray[np.float32], NDArray[np.bool_], TextVectorReport]:
    """The mean word vector of each token list, with a mask and OOV statistics.

    Parameters
    ----------
    token_lists : one token list per text (:func:`tokenize`, lower case).
    vectors : word vectors (:func:`load_word_vectors` or :func:`train_word2vec`).
    case_fallback : a token missing in lower case is looked up as ``Capitalised`` and
        then ``UPPER`` (case-sensitive vocabularies such as GoogleNews hold many names
        only capitalised).

    Returns
    -------
    values : ndarray of float32, shape (n_texts, vector_size); rows without a known
        token are zeros.
    mask : ndarray of bool, shape (n_texts,); False where no token is known.
    report : :class:`TextVectorReport`.

    Examples
    --------
    >>> from gensim.models import KeyedVectors
    >>> kv = KeyedVectors(2)
    >>> kv.add_vectors(["alien", "love"], [[1.0, 0.0], [0.0, 1.0]])
    >>> values, mask, report = mean_vectors([["alien", "love", "zzz"], ["zzz"], []], kv)
    >>> values.tolist(), mask.tolist(), report.n_oov_tokens
    ([[0.5, 0.5], [0.0, 0.0], [0.0, 0.0]], [True, False, False], 2)
    """
    dim = int(vectors.vector_size)
    values = np.zeros((len(token_lists), dim), dtype=np.float32)
    mask = np.zeros(len(token_lists), dtype=bool)
    n_empty = n_unknown = n_tokens = n_oov = 0
    index = vectors.key_to_index
    table = vectors.vectors
    for row, tokens in enumerate(token_lists):
        n_tokens += len(tokens)
        if not tokens:
            n_empty += 1
            continue
        known = []
        for token in tokens:
            row_index = index.get(token)
            if row_index is None and case_fallback:
                row_index = index.get(token.capitalize(), index.get(token.upper()))
            if row_index is not None:
                known.append(row_index)
        n_oov += len(tokens) - len(known)
        if not known:
            n_unknown += 1
            continue
        values[row] = table[known].mean(axis=0)
        mask[row] = True
    report = TextVectorReport(len(token_lists), n_empty, n_unknown, n_tokens, n_oov)
    return values, mask, report
