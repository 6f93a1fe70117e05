"""What a rating model learned: movie biases, principal factors of the embeddings, plots.

>>> import tempfile
>>> from pathlib import Path
>>> from recsys.analysis import analyze_model, write_report
>>> from recsys.data import load_dataset
>>> from recsys.models.rating_model import RatingModel
>>> data = load_dataset()
>>> ratings = data.ratings[data.ratings.user_id <= 100]  # a small, quick model
>>> model = RatingModel("bias", factors=4, epochs=1).fit(ratings, movies=data.movies)
>>> analysis = analyze_model(model, top_movies=300, n_components=2)
>>> len(analysis.bias_top), len(analysis.components)
(10, 2)
>>> report = write_report(analysis, Path(tempfile.mkdtemp()) / "bias")
>>> (report / "report.html").is_file()
True

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
