"""The genre command line: a full run on a small CSV, and bad input (one line, exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from genre.cli import main
from tests.genre.conftest import write_metadata_csv

FAST = ["--alpha", "0.1", "--min-df", "1", "--ngram-max", "1", "--quiet"]


def _fails(capsys, argv, message):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert message in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def dataset_dir(tmp_path, metadata_csv, capsys):
    out = tmp_path / "ds"
    assert (
        main(
            [
                "dataset",
                "--metadata",
                str(metadata_csv),
                "--min-genre-fraction",
                "0.1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    capsys.readouterr()
    return out


def test_dataset_explore_train_predict(tmp_path, dataset_dir, capsys):
    manifest = json.loads((dataset_dir / "manifest.json").read_text())
    assert manifest["dropped_genres"] and manifest["min_genre_fraction"] == 0.1

    explore = tmp_path / "explore"
    assert (
        main(["explore", "--dataset", str(dataset_dir), "--clusters", "3", "--out", str(explore)])
        == 0
    )
    for stem in ("genre_counts", "cooccurrence", "cooccurrence_coclustered", "genres_by_decade"):
        assert (explore / f"{stem}.csv").is_file() and (explore / f"{stem}.png").is_file()
    counts = pd.read_csv(explore / "genre_counts.csv")
    assert counts["genre"].tolist() == manifest["genres"]

    model = tmp_path / "nb"
    assert (
        main(["train", "--dataset", str(dataset_dir), "--model", "nb", *FAST, "--out", str(model)])
        == 0
    )
    out = capsys.readouterr().out
    assert "prior" in out and "all-negative" in out
    metrics = json.loads((model / "metrics.json").read_text())
    for key in (
        "micro_f1",
        "macro_f1",
        "weighted_f1",
        "samples_f1",
        "samples_precision",
        "samples_recall",
        "hamming_loss",
        "mean_roc_auc",
        "mean_accuracy",
        "top1_accuracy",
        "top3_precision",
        "per_genre",
        "benchmarks",
        "n_train",
        "n_val",
        "n_test",
        "genres",
    ):
        assert key in metrics
    assert metrics["genres"] == manifest["genres"]
    assert metrics["n_test"] == manifest["counts"]["test"]
    assert {"support", "precision", "recall", "f1", "roc_auc", "threshold"} <= set(
        metrics["per_genre"][0]
    )
    # The made-up overviews carry genre words: the model must beat the benchmarks.
    assert metrics["mean_roc_auc"] > 0.8
    assert metrics["micro_f1"] > metrics["benchmarks"]["prior"]["micro_f1"]

    assert main(["predict", "--model", str(model), "--movie", "1", "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert "Toy Story" in out and "probability" in out and "true genres" in out
    assert (
        len(
            [
                line
                for line in out.splitlines()
                if line.startswith("  ") and "true genres" not in line
            ]
        )
        == 2
    )
    assert main(["predict", "--model", str(model), "--text", "love wedding heart"]) == 0
    out = capsys.readouterr().out
    assert "Romance" in out.splitlines()[1] and "note:" not in out
    assert main(["predict", "--model", str(model), "--text", "zzzqqq xyzzy"]) == 0
    assert "note: none of the words is in the model's vocabulary" in capsys.readouterr().out
    # A bad -k is one error line and nothing on stdout (no header first).
    for what in (["--text", "love"], ["--movie", "1"]):
        assert main(["predict", "--model", str(model), *what, "-k", "50"]) == 2
        printed = capsys.readouterr()
        assert printed.out == "" and "k=50 must be between 1 and" in printed.err
        assert printed.err.rstrip().endswith("(set by -k)")


def test_svm_predict_says_scores(tmp_path, dataset_dir, capsys):
    model = tmp_path / "svm"
    assert (
        main(
            [
                "train",
                "--dataset",
                str(dataset_dir),
                "--model",
                "svm",
                "--C",
                "0.1",
                "--min-df",
                "1",
                "--ngram-max",
                "1",
                "--quiet",
                "--out",
                str(model),
            ]
        )
        == 0
    )
    assert main(["predict", "--model", str(model), "--text", "ghost blood"]) == 0
    assert "SVM decision score" in capsys.readouterr().out
    thresholds = json.loads((model / "thresholds.json").read_text())
    assert thresholds["score_kind"] == "decision"


def test_missing_text_column(tmp_path, capsys):
    path = tmp_path / "m.csv"
    path.write_text("movieId,title,genres\n1,Toy Story (1995),Comedy\n")
    _fails(
        capsys,
        ["dataset", "--metadata", str(path), "--out", str(tmp_path / "o")],
        "no 'overview' text column",
    )
    assert not (tmp_path / "o").exists()


def test_empty_text_for_every_movie(tmp_path, movielens, capsys):
    path = write_metadata_csv(tmp_path / "m.csv", movielens, n=30, empty_every=1)
    frame = pd.read_csv(path, keep_default_na=False)
    frame["overview"] = ""
    frame.to_csv(path, index=False)
    _fails(
        capsys,
        ["dataset", "--metadata", str(path), "--out", str(tmp_path / "o")],
        "the CSV has no overviews",
    )


def test_empty_tags_for_every_training_movie(tmp_path, metadata_csv, capsys):
    data = tmp_path / "notags"
    assert (
        main(
            [
                "dataset",
                "--metadata",
                str(metadata_csv),
                "--no-tags",
                "--min-genre-fraction",
                "0.1",
                "--out",
                str(data),
            ]
        )
        == 0
    )
    _fails(
        capsys,
        [
            "train",
            "--dataset",
            str(data),
            "--text",
            "tags",
            "--model",
            "nb",
            *FAST,
            "--out",
            str(tmp_path / "m"),
        ],
        "every training movie has an empty 'tags' text; choose another text field "
        "(e.g. 'overview'). (set by --text)",
    )
    assert not (tmp_path / "m").exists()


def test_sparse_text_field_is_noted(tmp_path, dataset_dir, capsys):
    frame = pd.read_parquet(next(dataset_dir.glob("*.parquet")))
    tagged = sum(len(t) > 0 for t in frame["tags"])
    assert 0 < tagged < len(frame) / 2  # the fixture: MovieLens tags on few movies
    assert (
        main(
            [
                "train",
                "--dataset",
                str(dataset_dir),
                "--text",
                "tags",
                "--model",
                "nb",
                *FAST,
                "--out",
                str(tmp_path / "m"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "note: only " in out and "training movies have --text tags" in out
    assert (
        main(
            [
                "train",
                "--dataset",
                str(dataset_dir),
                "--model",
                "nb",
                *FAST,
                "--out",
                str(tmp_path / "m2"),
            ]
        )
        == 0
    )
    assert "note: only" not in capsys.readouterr().out


def test_min_genre_fraction_dropping_every_genre(tmp_path, metadata_csv, capsys):
    _fails(
        capsys,
        [
            "dataset",
            "--metadata",
            str(metadata_csv),
            "--min-genre-fraction",
            "0.95",
            "--out",
            str(tmp_path / "o"),
        ],
        "drops every genre",
    )


def test_min_genre_fraction_keeping_one_genre_is_refused_and_nothing_written(
    tmp_path, dataset_dir, metadata_csv, capsys
):
    manifest = json.loads((dataset_dir / "manifest.json").read_text())
    n = manifest["n_train_before_filter"]
    shares = sorted(
        (c / n for c in manifest["train_genre_counts_before_filter"].values()), reverse=True
    )
    between = (shares[0] + shares[1]) / 2  # keeps the most common genre only
    out = tmp_path / "one"
    _fails(
        capsys,
        [
            "dataset",
            "--metadata",
            str(metadata_csv),
            "--min-genre-fraction",
            f"{between:.6f}",
            "--out",
            str(out),
        ],
        "a genre model needs at least 2 genres, received 1",
    )
    assert not out.exists()
    assert "use a smaller fraction. (set by --min-genre-fraction)" in _fails(
        capsys,
        [
            "dataset",
            "--metadata",
            str(metadata_csv),
            "--min-genre-fraction",
            f"{between:.6f}",
            "--out",
            str(out),
        ],
        "keeps too few genres",
    )


def test_genre_vocabulary_mismatch(tmp_path, dataset_dir, metadata_csv, capsys):
    model = tmp_path / "nb"
    assert (
        main(["train", "--dataset", str(dataset_dir), "--model", "nb", *FAST, "--out", str(model)])
        == 0
    )
    other = tmp_path / "other"
    assert (
        main(
            [
                "dataset",
                "--metadata",
                str(metadata_csv),
                "--min-genre-fraction",
                "0.2",
                "--out",
                str(other),
            ]
        )
        == 0
    )
    capsys.readouterr()
    _fails(
        capsys,
        ["predict", "--model", str(model), "--movie", "1", "--dataset", str(other)],
        "genre vocabulary mismatch",
    )
    _fails(
        capsys,
        ["predict", "--model", str(model), "--movie", "999999"],
        "movie 999999 is not in the labelled set",
    )
    (model / "genres.json").write_text(json.dumps({"genres": ["Drama", "Comedy"]}))
    _fails(capsys, ["predict", "--model", str(model), "--text", "x"], "disagree on the genres")
    (model / "model.joblib").write_bytes(b"not a pickle")
    _fails(capsys, ["predict", "--model", str(model), "--text", "x"], "damaged")


def _real_store(path, records):
    """A metadata store written through recsys.metadata (as fetch/import write it)."""
    from recsys.metadata import MetadataStore

    with MetadataStore(path) as store:
        store.upsert_movies(records)
    return path


def test_metadata_store_without_overviews(tmp_path, capsys):
    """A real store whose movies have no overviews (e.g. links registered, never fetched)."""
    store = _real_store(
        tmp_path / "metadata.sqlite",
        [
            {
                "movie_id": 1,
                "tmdb_id": 862,
                "title": "Toy Story",
                "overview": "",
                "genre_ids": (16,),
                "status": "ok",
            },
            {"movie_id": 2, "tmdb_id": 8844, "title": "Jumanji", "status": "missing"},
        ],
    )
    _fails(
        capsys,
        ["dataset", "--metadata", str(store), "--out", str(tmp_path / "o")],
        "the metadata store has no overviews",
    )
    assert not (tmp_path / "o").exists()


def test_store_with_tmdb_genres(tmp_path, capsys):
    n = 40
    store = _real_store(
        tmp_path / "metadata.sqlite",
        [
            {
                "movie_id": i + 1,
                "tmdb_id": 1000 + i,
                "title": f"Movie {i}",
                "release_date": "1995-10-30",
                "status": "ok",
                "overview": f"story {'alien space' if i % 2 else 'love heart'}",
                "genre_ids": (878,) if i % 2 else (10749, 10770),
            }
            for i in range(n)
        ],
    )
    out = tmp_path / "o"
    assert (
        main(["dataset", "--metadata", str(store), "--labels", "tmdb-mapped", "--out", str(out)])
        == 0
    )
    assert "TMDB genres without a MovieLens name, dropped: TV Movie (20)" in capsys.readouterr().out
    assert json.loads((out / "genres.json").read_text())["genres"] == ["Romance", "Sci-Fi"]
    assert json.loads((out / "manifest.json").read_text())["unmapped_tmdb_genres"] == {
        "TV Movie": 20
    }
    frame = pd.read_parquet(out / "movies.parquet")
    assert len(frame) == n and set(frame["year"]) == {1995}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["dataset", "--metadata", "x.csv", "--split", "0.8,0.3"],
            "genre dataset: error: --split must be three positive fractions summing to 1, "
            "like 0.8,0.1,0.1; received '0.8,0.3'.",
        ),
        (
            ["train", "--dataset", "d", "--out", "o", "--model", "nb", "--C", "1"],
            "genre train: error: C does not apply to model 'nb'; its strength is alpha. "
            "(set by --C)",
        ),
        (
            ["train", "--dataset", "d", "--out", "o", "--min-df", "2.5"],
            "genre train: error: min_df values are counts (integers >= 1) or fractions "
            "below 1, received 2.5. (set by --min-df)",
        ),
        (
            ["train", "--dataset", "d", "--out", "o", "--C", "-1"],
            "genre train: error: --C must be a comma-separated list of positive numbers, "
            "received '-1'.",
        ),
        (
            ["train", "--dataset", "d", "--out", "o", "--model", "nb", "--features", "pca"],
            "genre train: error: model 'nb' is a text model: features must be tfidf or bow, "
            "received 'pca' (a feature store is for the fusion and mlp models). "
            "(set by --features)",
        ),
        (
            ["train", "--dataset", "d", "--out", "o", "--blocks", "poster"],
            "genre train: error: blocks apply to the fusion and mlp models, not to model "
            "'logreg'. (set by --blocks)",
        ),
        (
            ["predict", "--model", "nowhere", "--text", "a story"],
            "genre predict: error: 'nowhere' is not a genre model directory. Train one with: "
            "genre train --dataset DIR --out MODEL_DIR. (set by --model)",
        ),
    ],
)
def test_bad_options(argv, message, capsys):
    """Exit code 2, one line without a traceback, and the message naming the option."""
    assert _fails(capsys, argv, message) == message


def test_console_entry_point_one_line(tmp_path):
    """Through a real process: exit code 2 and one line, no traceback."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "genre",
            "train",
            "--dataset",
            str(tmp_path / "missing"),
            "--out",
            str(tmp_path / "m"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "not a labelled-set directory" in result.stderr


def test_same_seed_same_dataset_and_model(tmp_path, metadata_csv, capsys):
    """Determinism: the same inputs and seed give the same split, thresholds and metrics."""
    outputs = []
    for run in ("a", "b"):
        data, model = tmp_path / f"ds-{run}", tmp_path / f"m-{run}"
        assert (
            main(
                [
                    "dataset",
                    "--metadata",
                    str(metadata_csv),
                    "--min-genre-fraction",
                    "0.1",
                    "--seed",
                    "3",
                    "--out",
                    str(data),
                ]
            )
            == 0
        )
        assert (
            main(
                [
                    "train",
                    "--dataset",
                    str(data),
                    "--model",
                    "svm",
                    "--C",
                    "0.1,1",
                    "--min-df",
                    "1",
                    "--ngram-max",
                    "1",
                    "--quiet",
                    "--seed",
                    "3",
                    "--out",
                    str(model),
                ]
            )
            == 0
        )
        outputs.append(
            (
                pd.read_parquet(data / "movies.parquet")["split"].tolist(),
                (model / "thresholds.json").read_text(),
                (model / "metrics.json").read_text(),
            )
        )
    assert outputs[0] == outputs[1]


def test_csv_genres_column_with_tmdb_names_and_labels_tmdb(tmp_path, movielens, capsys):
    """The CSV reader is the store's: TMDB names in ``genres`` are TMDB genres."""
    movies = movielens.movies.head(40)
    path = tmp_path / "tmdbgenres.csv"
    pd.DataFrame(
        {
            "movieId": movies["movie_id"],
            "tmdbId": movies["tmdb_id"],
            "genres": ["Science Fiction" if i % 2 else "Romance|History" for i in range(40)],
            "overview": [f"story {i}" for i in range(40)],
        }
    ).to_csv(path, index=False)
    out = tmp_path / "o"
    assert (
        main(["dataset", "--metadata", str(path), "--labels", "tmdb-mapped", "--out", str(out)])
        == 0
    )
    assert json.loads((out / "genres.json").read_text())["genres"] == ["Romance", "Sci-Fi"]
    assert json.loads((out / "manifest.json").read_text())["unmapped_tmdb_genres"] == {
        "History": 20
    }


def test_predict_with_a_rating_model_directory(tmp_path, capsys):
    """A ``recsys train`` directory also holds model.keras: it is not a fused genre model."""
    from recsys.models.persistence import save_model
    from recsys.models.rating_model import RatingModel
    from tests.recsys.models.synthetic import planted_ratings

    rating = save_model(
        RatingModel("bias", factors=4, epochs=1, seed=0).fit(
            planted_ratings(n_users=20, n_movies=15)
        ),
        tmp_path / "rating-model",
    )
    assert (rating / "model.keras").is_file()
    _fails(
        capsys,
        ["predict", "--model", str(rating), "--text", "a ghost story"],
        "is not a genre model directory",
    )


def test_every_command_has_documented_register_and_run():
    import importlib

    from genre.cli import COMMANDS

    for name in COMMANDS:
        module = importlib.import_module(name)
        for function in (module.register, module.run):
            assert (function.__doc__ or "").strip(), f"{name}.{function.__name__}"


def test_explore_on_a_tiny_set_prints_a_note_not_a_warning(tmp_path, capsys, recwarn):
    from genre.data.dataset import LabelledSet, save_labelled
    from genre.data.labels import GenreVocabulary

    # Comedy and Drama always come together: no 4 distinct groups among 4 genres.
    genres = (
        [("Comedy", "Drama")] * 4 + [("War",)] * 3 + [("Horror", "War")] * 2 + [("Horror",)] * 3
    )
    n = len(genres)
    frame = pd.DataFrame(
        {
            "movie_id": range(1, n + 1),
            "title": [f"M{i}" for i in range(n)],
            "year": pd.array([1990 + i for i in range(n)], dtype="Int64"),
            "overview": "words",
            "tags": [()] * n,
            "genres": genres,
            "split": ["train"] * (n - 4) + ["val", "val", "test", "test"],
        }
    )
    data = save_labelled(
        LabelledSet(frame, GenreVocabulary(["Comedy", "Drama", "Horror", "War"])), tmp_path / "tiny"
    )
    assert (
        main(["explore", "--dataset", str(data), "--clusters", "4", "--out", str(tmp_path / "ex")])
        == 0
    )
    captured = capsys.readouterr()
    assert captured.err == ""
    notes = [line for line in captured.out.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "distinct genre group(s), not the 4 asked" in notes[0]
    assert not [w for w in recwarn if "sklearn" in str(w.filename)]
