"""Overview tokens, word vectors (file or trained Word2Vec), mean vectors and OOV rates."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recsys.errors import DataError
from recsys.features.text import load_word_vectors, mean_vectors, tokenize, train_word2vec
from tests.conftest import REPO
from tests.recsys.features.conftest import OVERVIEWS


def test_tokenize_lower_case_without_stop_words() -> None:
    assert tokenize("The Alien's SHIP lands in 1999, and it's over!") == ["alien", "ship", "lands"]
    assert tokenize("") == [] and tokenize(None) == []
    assert tokenize("The end", stop_words=None) == ["the", "end"]


def test_text_file_mean_vectors_and_oov(word_vectors_file: Path) -> None:
    vectors = load_word_vectors(word_vectors_file)
    assert vectors.vector_size == 3 and len(vectors) == 5
    tokens = [tokenize(t) for t in OVERVIEWS.values()]
    values, mask, report = mean_vectors(tokens, vectors)
    # "An alien lands in space." -> alien (0.8, 0.2, 0), space (1, 0, 0); "lands" unknown
    np.testing.assert_allclose(values[0], [0.9, 0.1, 0.0], atol=1e-6)
    np.testing.assert_allclose(values[2], [0.0, 0.4, 0.6], atol=1e-6)  # ghost, wedding
    assert mask.tolist() == [True, True, True, True, False, False]
    assert values[4].tolist() == [0, 0, 0] and report.n_no_known_token == 1
    assert report.n_empty == 1  # only stop words
    # tokens: alien lands space | love wedding | ghost haunts wedding |
    # space love alien ghost | zyxx qwerty -> 14 tokens, 4 unknown
    assert (report.n_tokens, report.n_oov_tokens) == (14, 4)
    assert report.oov_rate == pytest.approx(4 / 14)
    assert "4/6 texts got a vector" in report.summary()


def test_binary_format_round_trip(tmp_path: Path, word_vectors_file: Path) -> None:
    text = load_word_vectors(word_vectors_file)
    binary = tmp_path / "vectors.bin"
    text.save_word2vec_format(str(binary), binary=True)
    again = load_word_vectors(binary)  # binary guessed from .bin
    np.testing.assert_array_equal(again["ghost"], text["ghost"])
    with pytest.raises(DataError, match="not a text word2vec-format"):
        load_word_vectors(binary, binary=False)


@pytest.mark.parametrize(
    "content",
    [
        "space 1 0 0\nlove 0 1 0\n",  # GloVe, no header
        "2 3\nspace 1 0\nlove 0 1 0\n",  # short row
        "nonsense\n",
    ],
)
def test_corrupt_word_vector_files(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(DataError, match=r"word2vec-format|damaged word2vec text file"):
        load_word_vectors(path)


def test_missing_word_vector_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_word_vectors(tmp_path / "GoogleNews-vectors-negative300.bin")


CORPUS = [
    tokenize(t)
    for t in (
        "An alien ship lands in space and the crew fights the alien",
        "Love blooms at a wedding where the bride finds love",
        "A ghost haunts the old house and the family fears the ghost",
        "Space crew meets an alien ghost on the ship",
        "The wedding of two lovers, love and heartbreak",
    )
] * 4


def test_word2vec_same_seed_same_vectors() -> None:
    a = train_word2vec(CORPUS, vector_size=8, min_count=2, epochs=3, seed=1)
    b = train_word2vec(CORPUS, vector_size=8, min_count=2, epochs=3, seed=1)
    c = train_word2vec(CORPUS, vector_size=8, min_count=2, epochs=3, seed=2)
    assert a.index_to_key == b.index_to_key
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert not np.allclose(a.vectors, c.vectors)
    assert "rain" not in a and "alien" in a


def test_word2vec_same_vectors_in_another_process(tmp_path: Path) -> None:
    """Python's str hash differs per process; the vectors must not."""
    here = train_word2vec(CORPUS, vector_size=8, min_count=2, epochs=3, seed=1)
    out = tmp_path / "w.npy"
    code = (
        "import numpy as np\n"
        "from recsys.features.text import train_word2vec\n"
        f"wv = train_word2vec({CORPUS!r}, vector_size=8, min_count=2, epochs=3, seed=1)\n"
        f"np.save({str(out)!r}, wv.vectors)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True, timeout=120)
    np.testing.assert_array_equal(np.load(out), here.vectors)


def test_word2vec_bad_settings() -> None:
    with pytest.raises(DataError, match="no word occurs 50 times"):
        train_word2vec(CORPUS, min_count=50)
    with pytest.raises(DataError, match="vector_size must be a positive"):
        train_word2vec(CORPUS, vector_size=0)


def test_glove_file_on_real_overviews(shared_data: Path) -> None:
    import pandas as pd

    vectors = load_word_vectors(shared_data / "word-vectors" / "glove-6B-50d-5k.txt")
    assert vectors.vector_size == 50
    overviews = pd.read_csv(
        shared_data / "tmdb-overviews" / "movies_enriched.csv", usecols=["overview"], nrows=300
    )["overview"].fillna("")
    values, mask, report = mean_vectors([tokenize(t) for t in overviews], vectors)
    assert values.shape == (300, 50) and mask.sum() == report.n_present
    assert 0.1 < report.oov_rate < 0.7  # a 5k-word vocabulary misses many words
    assert np.isfinite(values).all() and (values[~mask] == 0).all()


def test_case_sensitive_vocabulary_falls_back_to_capitalised() -> None:
    from gensim.models import KeyedVectors

    vectors = KeyedVectors(2)
    vectors.add_vectors(["Paris", "NASA", "love"], [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    tokens = [tokenize("Love in paris, says nasa")]
    values, mask, report = mean_vectors(tokens, vectors)
    np.testing.assert_allclose(values[0], [2 / 3, 2 / 3])
    assert mask.tolist() == [True]
    assert report.n_oov_tokens == 1  # "says"
    _, _, strict = mean_vectors(tokens, vectors, case_fallback=False)
    assert strict.n_oov_tokens == 3
