"""Ablation of the fused genre model: which feature blocks help, alone and together.

On one labelled set (one split, one seed) the fused model is trained and evaluated
(:func:`genre.fusion.experiment.run_fusion_experiment`: thresholds on validation, test
scored once) for every single block, every pair of blocks and all blocks together.
The table has one row per block set, with the test metrics of genre prediction I, and
a last row for the ``prior`` benchmark (each genre's training frequency, no features).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from genre.data.dataset import LabelledSet
from genre.fusion.block_inputs import BlockInputs
from genre.fusion.experiment import run_fusion_experiment
from recsys.errors import DataError
from recsys.fileio import atomic_directory, atomic_write, write_json_atomic

__all__ = [
    "COLUMNS",
    "INTEGER_COLUMNS",
    "MARKER",
    "PRIOR_ROW",
    "AblationResult",
    "block_sets",
    "run_ablation",
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
)
#: The files that mark a directory as an ablation output ``write_ablation`` may replace.
MARKER = ("ablation.csv", "ablation.json")
#: Columns holding counts (integers; empty on the prior row where they do not apply).
INTEGER_COLUMNS = ("n_blocks", "epochs_run", "best_epoch")
#: Label of the benchmark row.
PRIOR_ROW = "prior benchmark (no features)"
_SEPARATOR = "+"


def block_sets(names: Sequence[str], *, pairs: bool = True) -> list[tuple[str, ...]]:
    """Every single block, every pair (if ``pairs``) and all blocks, without repeats.

    >>> block_sets(["a", "b", "c"])
    [('a',), ('b',), ('c',), ('a', 'b'), ('a', 'c'), ('b', 'c'), ('a', 'b', 'c')]
    >>> block_sets(["a", "b"])
    [('a',), ('b',), ('a', 'b')]
    """
    names = list(dict.fromkeys(names))
    if not names:
        raise DataError("the ablation needs at least one block.")
    sets: list[tuple[str, ...]] = [(n,) for n in names]
    if pairs:
        sets += list(itertools.combinations(names, 2))
    sets.append(tuple(names))
    return list(dict.fromkeys(sets))


@dataclass
class AblationResult:
    """The ablation table and the full report of every run.

    Attributes
    ----------
    table : DataFrame with :data:`COLUMNS`, one row per block set, then the prior row.
    reports : block-set label -> the run's ``metrics.json`` payload.
    config : what was run (model settings, seed, threshold criterion, dataset sizes, the
        Keras backend and library versions).
    """

    table: pd.DataFrame
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def best_single(self, metric: str = "micro_f1") -> pd.Series:
        """The single-block row with the best test ``metric``."""
        singles = self.table[self.table["n_blocks"] == 1]
        return singles.loc[singles[metric].idxmax()]

    def all_blocks(self) -> pd.Series:
        """The row of the largest block set."""
        runs = self.table[self.table["n_blocks"] > 0]
        return runs.loc[runs["n_blocks"].idxmax()]


def run_ablation(
    data: LabelledSet,
    inputs: BlockInputs,
    sets: Sequence[Sequence[str]] | None = None,
    *,
    threshold_by: Literal["f1", "accuracy"] = "f1",
    on_row: Callable[[dict[str, Any]], None] | None = None,
    **params: Any,
) -> AblationResult:
    """Train and evaluate the fused model on each block set.

    Parameters
    ----------
    data : the labelled set.
    inputs : block inputs aligned on ``data.frame.movie_id`` holding every block used.
    sets : the block sets (default :func:`block_sets` of ``inputs.names``).
    threshold_by : criterion of the validation thresholds.
    on_row : called with each finished row (progress output).
    params : :class:`~genre.fusion.model.FusionClassifier` hyper-parameters, the same for
        every run (the seed too).

    Returns
    -------
    AblationResult

    Examples
    --------
    >>> import numpy as np
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
    if not chosen:
        raise DataError("no block set to evaluate; give at least one.")
    rows, reports = [], {}
    prior: dict[str, Any] = {}
    params_used: dict[str, Any] = {}
    for block_set in chosen:
        result = run_fusion_experiment(
            data, inputs, model="fusion", blocks=block_set, threshold_by=threshold_by, **params
        )
        report = result.report
        label = _SEPARATOR.join(block_set)
        row = {
            "blocks": label,
            **{k: report[k] for k in COLUMNS[1:8]},
            "n_blocks": len(block_set),
            "val_micro_f1": report["validation"]["micro_f1"],
            "val_macro_f1": report["validation"]["macro_f1"],
            "best_val_loss": report["training"]["best_val_loss"],
            "epochs_run": report["training"]["epochs_run"],
            "best_epoch": report["training"]["best_epoch"],
        }
        rows.append(row)
        reports[label] = report
        prior = report["benchmarks"]["prior"]
        params_used = result.config["params"]
        if on_row is not None:
            on_row(row)
    rows.append({"blocks": PRIOR_ROW, **{k: prior[k] for k in COLUMNS[1:8]}, "n_blocks": 0})
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    # Counts stay integers; the prior row has none (missing, written as an empty cell).
    table = table.astype({c: "Int64" for c in INTEGER_COLUMNS})
    from genre.fusion.provenance import library_versions

    config = {
        "sets": [list(s) for s in chosen],
        "threshold_by": threshold_by,
        "params": params_used,
        "counts": data.counts(),
        "genres": list(data.genres),
        "provenance": {n: inputs.provenance.get(n, {}) for n in inputs.names},
        "versions": library_versions(),
    }
    return AblationResult(table, reports, config)


def write_ablation(
    result: AblationResult,
    out: str | os.PathLike[str],
    *,
    title: str = "Fused genre model: test F1 by feature blocks",
) -> dict[str, Path]:
    """Write ``ablation.csv``, ``ablation.json`` (reports and config), ``ablation.md`` and
    ``ablation.png`` (bar chart of test micro- and macro-F1) as the directory ``out``.

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
        "json": "ablation.json",
        "md": "ablation.md",
        "png": "ablation.png",
    }
    table = result.table
    with atomic_directory(folder, marker=MARKER, what="ablation") as tmp:
        with atomic_write(tmp / names["csv"]) as handle:
            table.to_csv(handle, index=False, float_format="%.6f")
        records = table.astype(object).where(table.notna(), None).to_dict(orient="records")
        write_json_atomic(
            tmp / names["json"],
            {"config": result.config, "table": records, "reports": result.reports},
        )
        with atomic_write(tmp / names["md"]) as handle:
            handle.write(markdown_table(table) + "\n")
        runs = table[table["n_blocks"] > 0]
        prior = table[table["n_blocks"] == 0]
        ablation_chart(
            runs, tmp / names["png"], title=title, baseline=prior.iloc[0] if len(prior) else None
        )
    return {kind: folder / name for kind, name in names.items()}


def markdown_table(table: pd.DataFrame) -> str:
    """The required columns of the ablation table as a Markdown table."""
    names = list(COLUMNS[:6])
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    for _, row in table.iterrows():
        cells = [str(row["blocks"])] + [f"{float(row[n]):.4f}" for n in names[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
