"""What a rating model learned: movie biases, principal factors of the embeddings, plots.

>>> from recsys.models.rating_model import RatingModel
>>> from recsys.analysis import analyze_model, write_report
>>> model = RatingModel.load("runs/ml-latest-small-bias")  # doctest: +SKIP
>>> analysis = analyze_model(model, top_movies=2000, n_components=3)  # doctest: +SKIP
>>> analysis.bias_top, analysis.components[0].top  # DataFrames  # doctest: +SKIP
>>> write_report(analysis, "reports/bias")  # doctest: +SKIP

Modules: :mod:`~recsys.analysis.pca` (reusable PCA with a sign convention),
:mod:`~recsys.analysis.movie_stats` (training counts, catalogue),
:mod:`~recsys.analysis.biases`, :mod:`~recsys.analysis.factors` (component ends, end
contrasts, suggested names), :mod:`~recsys.analysis.crosstab`,
:mod:`~recsys.analysis.plots`, :mod:`~recsys.analysis.html`,
:mod:`~recsys.analysis.report` (the report directory).
"""

from __future__ import annotations

from recsys.analysis.biases import bias_ranking, bias_summary, spearman
from recsys.analysis.crosstab import rating_crosstab
from recsys.analysis.factors import ComponentContrast, EndProfile, component_ends, end_contrast
from recsys.analysis.movie_analysis import ComponentSummary, MovieAnalysis, analyze_model
from recsys.analysis.movie_stats import catalogue, most_rated, movie_rating_stats
from recsys.analysis.pca import PCAResult, fit_pca
from recsys.analysis.report import write_report

__all__ = [
    "ComponentContrast",
    "ComponentSummary",
    "EndProfile",
    "MovieAnalysis",
    "PCAResult",
    "analyze_model",
    "bias_ranking",
    "bias_summary",
    "catalogue",
    "component_ends",
    "end_contrast",
    "fit_pca",
    "most_rated",
    "movie_rating_stats",
    "rating_crosstab",
    "spearman",
    "write_report",
]
