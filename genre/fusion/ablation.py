"""Ablation of the fused genre model: which feature blocks help, alone and together, beside
the classical text models.

On one labelled set (one split) the fused model is trained and evaluated
(:func:`genre.fusion.experiment.run_fusion_experiment`: thresholds on validation, test
scored once) for every single block, every block left out of all blocks (or every pair)
and all blocks together; the classical TF-IDF models (:mod:`genre.text`: nb, svm,
logreg, tuned and thresholded on validation) are rows of the same table, on the same
labelled set, split and threshold protocol. Each row is run for every seed (the seed of
the network's initialisers, dropout and batch order, and of the classical solvers); the
summary gives each row's mean and spread (standard deviation, minimum, maximum) over the
seeds. A last row gives the ``prior`` benchmark (each genre's training frequency, no
features).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from genre.data.dataset import LabelledSet
from genre.fusion.block_inputs import BlockInputs
from genre.fusion.experiment import run_fusion_experiment
from recsys.errors import DataError, InvalidParameterError, RecsysError
from recsys.fileio import atomic_directory, atomic_write, write_json_atomic

__all__ = [
    "CLASSICAL_MODELS",
    "COLUMNS",
    "INTEGER_COLUMNS",
    "MARKER",
    "PRIOR_ROW",
    "SUMMARY_METRICS",
    "AblationResult",
    "block_sets",
    "classical_label",
    "run_ablation",
    "summarise",
    "write_ablation",
]

#: The columns of ``ablation.csv``, in order (the first six are the required ones).
COLUMNS = (
    "blocks",
    "micro_f1",
    "macro_f1",
    "samples_f1",
    "mean_roc_auc",
    "hamming_loss",
    "weighted_f1",
    "top1_accuracy",
    "n_blocks",
    "val_micro_f1",
    "val_macro_f1",
    "best_val_loss",
    "epochs_run",
    "best_epoch",
    "kind",
    "seed",
    "seconds",
)
#: The files that mark a directory as an ablation output ``write_ablation`` may replace.
MARKER = ("ablation.csv", "ablation.json")
#: Columns holding counts (integers; empty where they do not apply).
INTEGER_COLUMNS = ("n_blocks", "epochs_run", "best_epoch", "seed")
#: Label of the benchmark row.
PRIOR_ROW = "prior benchmark (no features)"
#: The classical text models of the table (:mod:`genre.text`).
CLASSICAL_MODELS = ("nb", "svm", "logreg")
#: Metrics the summary gives with their spread over seeds.
SUMMARY_METRICS = (
    "micro_f1",
    "macro_f1",
    "samples_f1",
    "mean_roc_auc",
    "hamming_loss",
    "val_micro_f1",
    "val_macro_f1",
)
_SEPARATOR = "+"


def block_sets(
    names: Sequence[str], *, pairs: bool = True, leave_one_out: bool = False
) -> list[tuple[str, ...]]:
    """Every single block, every pair (if ``pairs``), all blocks but one (if
    ``leave_one_out``) and all blocks, without repeats.

    >>> block_sets(["a", "b", "c"])
    [('a',), ('b',), ('c',), ('a', 'b'), ('a', 'c'), ('b', 'c'), ('a', 'b', 'c')]
    >>> block_sets(["a", "b", "c"], pairs=False, leave_one_out=True)
    [('a',), ('b',), ('c',), ('b', 'c'), ('a', 'c'), ('a', 'b'), ('a', 'b', 'c')]
    >>> block_sets(["a", "b"])
    [('a',), ('b',), ('a', 'b')]
    """
    names = list(dict.fromkeys(names))
    if not names:
        raise DataError("the ablation needs at least one block.")
    sets: list[tuple[str, ...]] = [(n,) for n in names]
    if pairs:
        sets += list(itertools.combinations(names, 2))
    if leave_one_out and len(names) > 2:
        sets += [tuple(n for n in names if n != left) for left in names]
    sets.append(tuple(names))
    return list(dict.fromkeys(sets))


def classical_label(model: str, text: str) -> str:
    """The ``blocks`` label of a classical row.

    >>> classical_label("svm", "overview")
    'classical: svm (TF-IDF, overview)'
    """
    return f"classical: {model} (TF-IDF, {text})"


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and spread over seeds of each row of an ablation table.

    Returns
    -------
    DataFrame, one row per label of ``table`` (first-seen order): ``blocks``, ``kind``,
    ``n_blocks``, ``n_seeds``, then for each of :data:`SUMMARY_METRICS` its mean (under
    the metric's name), ``<metric>_std`` (standard deviation over seeds, ddof 1; 0 for
    one seed), ``<metric>_min`` and ``<metric>_max``, and the mean ``seconds``.

    >>> t = pd.DataFrame({"blocks": ["a", "a"], "kind": "fused", "n_blocks": 1,
    ...                   "micro_f1": [0.5, 0.7], "seconds": 1.0})
    >>> row = summarise(t).iloc[0]
    >>> float(row["micro_f1"]), round(float(row["micro_f1_std"]), 4), int(row["n_seeds"])
    (0.6, 0.1414, 2)
    """
    rows = []
    for label in dict.fromkeys(table["blocks"]):
        group = table[table["blocks"] == label]
        first = group.iloc[0]
        row: dict[str, Any] = {
            "blocks": label,
            "kind": first.get("kind"),
            "n_blocks": first.get("n_blocks"),
            "n_seeds": len(group),
        }
        for metric in SUMMARY_METRICS:
            if metric not in group:
                continue
            values = pd.to_numeric(group[metric], errors="coerce").to_numpy(dtype=float)
            known = values[np.isfinite(values)]
            row[metric] = float(known.mean()) if len(known) else np.nan
            row[f"{metric}_std"] = float(known.std(ddof=1)) if len(known) > 1 else 0.0
            row[f"{metric}_min"] = float(known.min()) if len(known) else np.nan
            row[f"{metric}_max"] = float(known.max()) if len(known) else np.nan
        if "seconds" in group:
            row["seconds"] = float(pd.to_numeric(group["seconds"], errors="coerce").mean())
        rows.append(row)
    out = pd.DataFrame(rows)
    return out.astype({"n_blocks": "Int64"}) if "n_blocks" in out else out


@dataclass
class AblationResult:
    """The ablation table, its summary over seeds and the full report of every run.

    Attributes
    ----------
    table : DataFrame with :data:`COLUMNS`: one row per (seed, row), the fused rows'
        ``kind`` is ``"fused"``, the classical rows' ``"classical"``; then the prior row
        (``"benchmark"``).
    summary : :func:`summarise` of ``table`` (mean and spread over seeds).
    reports : row label (with `` [seed s]`` when there are several seeds) -> the run's
        ``metrics.json`` payload.
    config : what was run (model settings, seeds, threshold criterion, dataset sizes, the
        Keras backend and library versions).
    """

    table: pd.DataFrame
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __post_init__(self) -> None:
        if self.summary.empty and not self.table.empty:
            self.summary = summarise(self.table)

    def _rows(self, kind: str) -> pd.DataFrame:
        rows = self.summary[self.summary["kind"] == kind]
        if rows.empty:
            raise DataError(f"the ablation has no {kind} row.")
        return rows

    def best_single(self, metric: str = "micro_f1") -> pd.Series:
        """The single-block fused row with the best mean test ``metric``."""
        rows = self._rows("fused")
        singles = rows[rows["n_blocks"] == 1]
        return singles.loc[singles[metric].idxmax()]

    def best_classical(self, metric: str = "micro_f1") -> pd.Series:
        """The classical row with the best mean test ``metric``."""
        rows = self._rows("classical")
        return rows.loc[rows[metric].idxmax()]

    def all_blocks(self) -> pd.Series:
        """The row of the largest block set."""
        runs = self._rows("fused")
        return runs.loc[runs["n_blocks"].astype(int).idxmax()]

    def row(self, blocks: Sequence[str] | str) -> pd.Series:
        """The summary row of one block set (``"a+b"`` or ``["a", "b"]``)."""
        label = blocks if isinstance(blocks, str) else _SEPARATOR.join(blocks)
        found = self.summary[self.summary["blocks"] == label]
        if found.empty:
            raise DataError(f"the ablation has no row {label!r}.")
        return found.iloc[0]


def run_ablation(
    data: LabelledSet,
    inputs: BlockInputs,
    sets: Sequence[Sequence[str]] | None = None,
    *,
    classical: Sequence[str] = (),
    classical_text: Literal["overview", "tags", "overview+tags"] = "overview",
    seeds: Sequence[int] | None = None,
    threshold_by: Literal["f1", "accuracy"] = "f1",
    on_row: Callable[[dict[str, Any]], None] | None = None,
    n_jobs: int = 1,
    posters: str | None = None,
    poster_params: dict[str, Any] | None = None,
    **params: Any,
) -> AblationResult:
    """Train and evaluate the fused model on each block set, and the classical models.

    Parameters
    ----------
    data : the labelled set.
    inputs : block inputs aligned on ``data.frame.movie_id`` holding every block used.
    sets : the block sets (default :func:`block_sets` of ``inputs.names``).
    classical : classical text models (of :data:`CLASSICAL_MODELS`) to add as rows:
        TF-IDF on ``classical_text``, hyper-parameters and thresholds chosen on
        validation (:func:`genre.text.experiment.run_text_experiment`).
    classical_text : their text field.
    seeds : run every row once per seed (default: ``params["seed"]``, else 0).
    threshold_by : criterion of the validation thresholds.
    on_row : called with each finished row (progress output), in the order the rows
        finish.
    n_jobs : number of rows run at once. With more than one, the rows (every classical
        and fused row of every seed) are shared out to ``n_jobs`` worker processes
        (``spawn``, on the same Keras backend); each row is the same computation with
        the same seed as in one process, and the table keeps its order. As with any
        ``spawn`` pool, a script that calls this with ``n_jobs > 1`` keeps its top-level
        code under ``if __name__ == "__main__":`` (the workers import the main module).
    posters : a posters folder: add a ``poster-cnn`` row per seed, the poster CNN trained
        end to end (:func:`genre.poster.experiment.run_poster_experiment`, movies without
        a poster scored with the prior) with ``poster_params``.
    params : :class:`~genre.fusion.model.FusionClassifier` hyper-parameters, the same for
        every run.

    Returns
    -------
    AblationResult

    Raises
    ------
    InvalidParameterError
        An unknown classical model (``parameter="classical"``), no seed, or
        ``n_jobs`` below 1.
    DataError
        A block set with a block ``inputs`` lacks, or a block fitted on another
        labelled set (:func:`genre.fusion.experiment.split_inputs`), before any row runs.

    Examples
    --------
    >>> from genre.data.dataset import build_labelled
    >>> from genre.fusion.block_inputs import BlockInputs
    >>> words = {"Comedy": "joke laugh fun", "Horror": "ghost blood fear"}
    >>> genres = [("Comedy",), ("Horror",)] * 20
    >>> meta = pd.DataFrame({"movie_id": range(1, 41), "title": "", "year": pd.NA,
    ...                      "overview": [words[g[0]] + " story" for g in genres],
    ...                      "tmdb_genres": [()] * 40})
    >>> ml = pd.DataFrame({"movie_id": range(1, 41), "title": "T", "year": 2000,
    ...                    "genres": genres})
    >>> data = build_labelled(meta, ml, fractions=(0.5, 0.25, 0.25), min_genre_fraction=0.0)
    >>> rng = np.random.default_rng(0)
    >>> Y = data.Y()
    >>> inputs = BlockInputs(
    ...     data.frame["movie_id"].to_numpy(),
    ...     {"a": (Y + rng.normal(0, 0.3, Y.shape)).astype("float32"),
    ...      "b": rng.normal(0, 1, (40, 3)).astype("float32")},
    ...     {"a": np.ones(40, bool), "b": np.ones(40, bool)})
    >>> result = run_ablation(data, inputs, [("a",)], epochs=2, units=(4,), batch_size=8)
    >>> result.table["blocks"].tolist()
    ['a', 'prior benchmark (no features)']
    """
    chosen = [tuple(s) for s in (sets if sets is not None else block_sets(inputs.names))]
    if not chosen and not classical:
        raise DataError("no block set to evaluate; give at least one.")
    unknown = [m for m in classical if m not in CLASSICAL_MODELS]
    if unknown:
        raise InvalidParameterError(
            "classical",
            f"unknown classical model {unknown[0]!r}; expected some of "
            f"{', '.join(CLASSICAL_MODELS)}.",
        )
    if int(n_jobs) < 1:
        raise InvalidParameterError("n_jobs", f"n_jobs must be at least 1, received {n_jobs}.")
    fixed_seed = params.pop("seed", None)
    seed_list = [int(s) for s in (seeds if seeds is not None else [fixed_seed or 0])]
    if not seed_list:
        raise InvalidParameterError("seeds", "give at least one seed.")
    if chosen:
        # Refuse blocks that are not loaded (or a split block of another labelled set)
        # here, before any row runs.
        from genre.fusion.experiment import split_inputs

        split_inputs(data, inputs.select(list(dict.fromkeys(n for s in chosen for n in s))))
    tasks: list[_Task] = [
        task
        for seed in seed_list
        for task in (
            *[("classical", (model,), seed) for model in classical],
            *[("fused", block_set, seed) for block_set in chosen],
            *([("poster", ("poster-cnn",), seed)] if posters else []),
        )
    ]
    settings = {"classical_text": classical_text, "threshold_by": threshold_by, "params": params,
                "posters": posters, "poster_params": poster_params or {}}  # fmt: skip
    several = len(seed_list) > 1
    done: dict[int, dict[str, Any]] = {}

    def finished(index: int, outcome: dict[str, Any]) -> None:
        done[index] = outcome
        if on_row is not None:
            on_row(outcome["row"])

    workers = min(int(n_jobs), len(tasks))
    if workers <= 1:
        for index, task in enumerate(tasks):
            finished(index, _run_task(data, inputs, task, settings))
    else:
        _run_in_processes(data, inputs, tasks, settings, workers, finished)
    rows, reports = [], {}
    prior: dict[str, Any] = {}
    params_used: dict[str, Any] = {}
    for index in range(len(tasks)):
        outcome = done[index]
        row = outcome["row"]
        rows.append(row)
        label = row["blocks"]
        reports[f"{label} [seed {row['seed']}]" if several else label] = outcome["report"]
        prior = outcome["prior"]
        params_used = outcome.get("params") or params_used
    rows.append(
        {
            "blocks": PRIOR_ROW,
            **{k: prior[k] for k in COLUMNS[1:8]},
            "n_blocks": 0,
            "kind": "benchmark",
        }
    )
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    # Counts stay integers; rows without them (prior, classical) have missing cells.
    table = table.astype({c: "Int64" for c in INTEGER_COLUMNS})
    from genre.fusion.provenance import library_versions

    config = {
        "sets": [list(s) for s in chosen],
        "classical": list(classical),
        "classical_text": classical_text,
        "seeds": seed_list,
        "threshold_by": threshold_by,
        "params": {k: v for k, v in params_used.items() if k != "seed"},
        "counts": data.counts(),
        "genres": list(data.genres),
        "provenance": {n: inputs.provenance.get(n, {}) for n in inputs.names},
        "versions": library_versions(),
    }
    return AblationResult(table, reports, config)


#: One row to run: ``("classical", (model,), seed)`` or ``("fused", blocks, seed)``.
_Task = tuple[str, tuple[str, ...], int]


def _run_task(
    data: LabelledSet, inputs: BlockInputs, task: _Task, settings: dict[str, Any]
) -> dict[str, Any]:
    """Run one row; return its table ``row``, ``report``, the ``prior`` benchmark and
    (fused rows) the classifier ``params``."""
    import time

    kind, what, seed = task
    threshold_by = settings["threshold_by"]
    start = time.perf_counter()
    if kind == "classical":
        from genre.text.experiment import run_text_experiment

        model = what[0]
        text_run = run_text_experiment(
            data,
            model=model,  # type: ignore[arg-type]  # checked against CLASSICAL_MODELS
            text=settings["classical_text"],
            seed=seed,
            threshold_by=threshold_by,
        )
        report = text_run.report
        val = _validation_metrics(data, text_run.tuned.val_scores, text_run.tuned.thresholds)
        row = {
            "blocks": classical_label(model, settings["classical_text"]),
            **{k: report[k] for k in COLUMNS[1:8]},
            "n_blocks": None,
            "val_micro_f1": val["micro_f1"],
            "val_macro_f1": val["macro_f1"],
            "kind": "classical",
            "seed": seed,
            "seconds": round(time.perf_counter() - start, 2),
        }
        return {
            "row": row,
            "report": {**report, "validation": val, "chosen": text_run.tuned.params},
            "prior": report["benchmarks"]["prior"],
        }
    if kind == "poster":
        from genre.poster.experiment import run_poster_experiment

        run = run_poster_experiment(data, settings["posters"], seed=seed,
                                    threshold_by=threshold_by, without_poster="prior",
                                    **settings["poster_params"])  # fmt: skip
        report = run.report
        row = {"blocks": f"poster-cnn {run.classifier.architecture}",
               **{k: report[k] for k in COLUMNS[1:8]}, "n_blocks": None,
               "val_micro_f1": report["validation"]["micro_f1"],
               "val_macro_f1": report["validation"]["macro_f1"],
               "epochs_run": report["training"]["epochs_run"],
               "best_epoch": report["training"]["best_epoch"], "kind": "poster-cnn",
               "seed": seed, "seconds": round(time.perf_counter() - start, 2)}  # fmt: skip
        return {"row": row, "report": report, "prior": report["benchmarks"]["prior"]}
    result = run_fusion_experiment(
        data,
        inputs,
        model="fusion",
        blocks=what,
        threshold_by=threshold_by,
        seed=seed,
        **settings["params"],
    )
    report = result.report
    row = {
        "blocks": _SEPARATOR.join(what),
        **{k: report[k] for k in COLUMNS[1:8]},
        "n_blocks": len(what),
        "val_micro_f1": report["validation"]["micro_f1"],
        "val_macro_f1": report["validation"]["macro_f1"],
        "best_val_loss": report["training"]["best_val_loss"],
        "epochs_run": report["training"]["epochs_run"],
        "best_epoch": report["training"]["best_epoch"],
        "kind": "fused",
        "seed": seed,
        "seconds": round(time.perf_counter() - start, 2),
    }
    return {
        "row": row,
        "report": report,
        "prior": report["benchmarks"]["prior"],
        "params": result.config["params"],
    }


#: What a worker process of :func:`_run_in_processes` holds (set by its initializer).
_WORKER: dict[str, Any] = {}


def _start_worker(data: LabelledSet, inputs: BlockInputs, settings: dict[str, Any]) -> None:
    _WORKER.update(data=data, inputs=inputs, settings=settings)


def _worker_task(task: _Task) -> dict[str, Any]:
    try:
        return _run_task(_WORKER["data"], _WORKER["inputs"], task, _WORKER["settings"])
    except RecsysError as error:  # sent back as text: subclasses differ in their arguments
        return {"error": str(error), "parameter": error.parameter}


def _run_in_processes(
    data: LabelledSet,
    inputs: BlockInputs,
    tasks: Sequence[_Task],
    settings: dict[str, Any],
    workers: int,
    finished: Callable[[int, dict[str, Any]], None],
) -> None:
    """Run ``tasks`` in ``workers`` spawned processes (data sent once to each), calling
    ``finished(index, outcome)`` as each ends; stop them all on the first failure."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from recsys.backend import active_backend

    backend = active_backend()
    saved = os.environ.get("KERAS_BACKEND")
    # Spawned workers read KERAS_BACKEND when they import Keras: the parent's backend.
    os.environ["KERAS_BACKEND"] = backend
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(data, inputs, settings),
    )
    try:
        futures = {pool.submit(_worker_task, task): i for i, task in enumerate(tasks)}
        pending = set(futures)
        while pending:
            complete, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in complete:
                outcome = future.result()
                if "error" in outcome:
                    if outcome["parameter"] is not None:
                        raise InvalidParameterError(outcome["parameter"], outcome["error"])
                    raise DataError(outcome["error"])
                finished(futures[future], outcome)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if saved is None:
            os.environ.pop("KERAS_BACKEND", None)
        else:
            os.environ["KERAS_BACKEND"] = saved


def _validation_metrics(data: LabelledSet, scores: Any, thresholds: Any) -> dict[str, Any]:
    from genre.evaluation import metrics

    report = metrics.multilabel_report(data.Y("val"), scores, thresholds, data.genres)
    return {k: report[k] for k in metrics.METRIC_NAMES}


def write_ablation(
    result: AblationResult,
    out: str | os.PathLike[str],
    *,
    title: str = "Genre prediction: test F1 by feature blocks and classical models",
) -> dict[str, Path]:
    """Write ``ablation.csv`` (one row per seed and row), ``summary.csv`` (mean and spread
    over seeds), ``ablation.json`` (config, both tables, reports), ``ablation.md`` (the
    summary in Markdown) and ``ablation.png`` (bar chart of mean test micro- and
    macro-F1) as the directory ``out``.

    The directory is written as a whole (:func:`recsys.fileio.atomic_directory`): an
    existing ``out`` is replaced only if it is empty or a previous ablation output (it
    holds the :data:`MARKER` files).

    Returns
    -------
    dict of file kind -> path

    Raises
    ------
    DataError
        If ``out`` is a non-empty directory that is not an ablation output, the current
        directory or one of its parents.
    """
    from genre.analysis.plots import ablation_chart

    folder = Path(out).expanduser()
    names = {
        "csv": "ablation.csv",
        "summary": "summary.csv",
        "json": "ablation.json",
        "md": "ablation.md",
        "png": "ablation.png",
    }
    table, summary = result.table, result.summary
    with atomic_directory(folder, marker=MARKER, what="ablation") as tmp:
        with atomic_write(tmp / names["csv"]) as handle:
            table.to_csv(handle, index=False, float_format="%.6f")
        with atomic_write(tmp / names["summary"]) as handle:
            summary.to_csv(handle, index=False, float_format="%.6f")
        write_json_atomic(
            tmp / names["json"],
            {
                "config": result.config,
                "table": _records(table),
                "summary": _records(summary),
                "reports": result.reports,
            },
        )
        with atomic_write(tmp / names["md"]) as handle:
            handle.write(markdown_table(summary) + "\n")
        runs = summary[summary["kind"] != "benchmark"]
        prior = summary[summary["kind"] == "benchmark"]
        ablation_chart(
            runs, tmp / names["png"], title=title, baseline=prior.iloc[0] if len(prior) else None
        )
    return {kind: folder / name for kind, name in names.items()}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clean = frame.astype(object).where(frame.notna(), None)
    return [
        {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
        for r in clean.to_dict(orient="records")
    ]


def markdown_table(table: pd.DataFrame) -> str:
    """The required columns of an ablation table (or of its summary) as Markdown.

    With a summary over several seeds each cell is ``mean ± standard deviation`` and a
    last column gives the number of seeds of the row.
    """
    names = list(COLUMNS[:6])
    spread = "n_seeds" in table and bool((table["n_seeds"] > 1).any())
    header = names + (["seeds"] if spread else [])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in table.iterrows():
        cells = [str(row["blocks"])]
        for n in names[1:]:
            cell = f"{float(row[n]):.4f}"
            if spread and row.get("n_seeds", 1) > 1:
                cell += f" ± {float(row[f'{n}_std']):.4f}"
            cells.append(cell)
        if spread:
            cells.append(str(int(row["n_seeds"])))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
