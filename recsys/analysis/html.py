"""The self-contained HTML page of a movie analysis (images embedded as data URIs)."""

from __future__ import annotations

import base64
import html
import math
import urllib.parse
from collections.abc import Mapping, Sequence

import pandas as pd

from recsys.analysis.movie_analysis import SIGN_NOTE, MovieAnalysis
from recsys.analysis.movie_stats import STATS_NOTE

__all__ = ["render_html"]

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1250px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
h3 { margin-top: 1.5em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1em; }
th, td { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: right; }
th { background: #f5f5f5; } td.text, th.text { text-align: left; }
.pair { display: flex; gap: 2em; flex-wrap: wrap; align-items: flex-start; }
.note { color: #555; font-size: 0.9em; } .name { font-weight: 600; color: #1f4e79; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.crosstab td, .crosstab th { text-align: center; }
.scroll { overflow-x: auto; max-width: 100%; border: 1px solid #eee; }
.scroll table { margin: 0; }
"""

_TEXT_COLUMNS = {"title", "genres", "end", "genre"}


def _format(value: object, column: str) -> str:
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if column in {"share", "base_share", "top_share", "bottom_share"}:
            return f"{value:.0%}"
        if column in {"explained_variance_ratio", "cumulative"}:
            return f"{value:.1%}"
        if column in {"top_lift", "bottom_lift"}:
            return f"x{value:.2f}"
        return f"{value:.3f}"
    if isinstance(value, tuple):
        return "|".join(value)
    return str(value)


def _table(frame: pd.DataFrame, css: str = "") -> str:
    columns = list(frame.columns)
    head = "".join(
        f'<th class="{"text" if c in _TEXT_COLUMNS else ""}">{html.escape(str(c))}</th>'
        for c in columns
    )
    rows = []
    for row in frame.itertuples(index=False, name=None):
        cells = "".join(
            f'<td class="{"text" if c in _TEXT_COLUMNS else ""}">{html.escape(_format(v, c))}</td>'
            for c, v in zip(columns, row, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    return (
        f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _correlations(values: Mapping[str, float | None]) -> str:
    words = {
        "mean_rating": "mean rating",
        "n_ratings": "number of ratings",
        "year": "year",
        "bias": "bias",
    }
    return (
        ", ".join(f"{words.get(k, k)} {v:+.2f}" for k, v in values.items() if v is not None)
        or "nothing measurable"
    )


def _image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<p><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></p>'


def _crosstab(analysis: MovieAnalysis) -> str:
    from recsys.analysis.plots import short_title

    table = analysis.crosstab
    head = "".join(
        f'<th title="{html.escape(analysis.titles.get(int(m), str(m)))}">'
        f"{html.escape(short_title(analysis.titles.get(int(m), str(m)), 22))}</th>"
        for m in table.columns
    )
    rows = []
    for user, values in zip(table.index, table.to_numpy(), strict=True):
        cells = "".join(f"<td>{'' if math.isnan(v) else f'{v:g}'}</td>" for v in values)
        rows.append(f"<tr><th>{int(user)}</th>{cells}</tr>")
    return (  # in a box of its own that scrolls sideways: 15 titles do not fit a page
        f'<div class="scroll"><table class="crosstab"><thead><tr><th>user_id</th>{head}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def render_html(
    analysis: MovieAnalysis,
    images: Mapping[str, bytes],
    scatter_files: Sequence[str],
    files: Sequence[str],
) -> str:
    """The report page.

    Parameters
    ----------
    analysis : the results to show.
    images : PNG bytes by file name (``explained_variance.png``, ``bias_*.png``, scatters).
    scatter_files : names in ``images`` of the component scatter plots, in order.
    files : names of the other files written next to the page, listed at the end.

    Returns
    -------
    str, a complete HTML document with every image embedded (no external references),
    identical for identical inputs.
    """
    m = analysis.model
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>What the {esc(m['kind'])} model learned</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>What the {esc(m['kind'])} rating model learned about movies</h1>",
        f"<p>{esc(m['kind'])} model with {m['factors']} factors, {m['n_users']:,} users, "
        f"{m['n_movies']:,} movies with an embedding, {m['n_training_ratings']:,} training "
        f"ratings on a {m['rating_scale'][0]:g}&ndash;{m['rating_scale'][1]:g} scale. "
        f"Analysed: the {len(analysis.movies):,} movies with the most training ratings.</p>",
        f'<p class="note">{esc(STATS_NOTE)}</p>',
    ]
    if analysis.notes:
        parts.append(
            "<ul>" + "".join(f'<li class="note">{esc(n)}</li>' for n in analysis.notes) + "</ul>"
        )

    parts.append("<h2>Movie bias</h2>")
    if analysis.bias_stats is None:
        parts.append(
            f"<p>The {esc(m['kind'])} model has no movie bias term (only the "
            "<code>bias</code> kind learns one), so there is no bias ranking.</p>"
        )
    else:
        stats = analysis.bias_stats
        parts.append(
            "<p>The bias is what the model adds to every prediction for a movie, after "
            "accounting for how generous its raters are (<code>raters_mean</code>: the average "
            "of its raters' own mean ratings) and, through the embeddings, for who watches "
            "what. <code>mean_rating_rank</code> is the movie's rank by raw mean rating among "
            f"the analysed movies. Spearman correlation of bias and mean rating over the "
            f"{stats['n_movies']:,} analysed movies: <b>{stats['spearman_mean_rating']:.3f}</b>; "
            f"of bias and mean rating minus raters' mean: "
            f"{stats['spearman_rater_adjusted']:.3f}; of bias and number of ratings: "
            f"{stats['spearman_n_ratings']:.3f}.</p>"
        )
        parts.append(
            f'<div class="pair"><div><h3>Highest bias</h3>'
            f"{_table(analysis.bias_top)}</div><div><h3>Lowest bias</h3>"
            f"{_table(analysis.bias_bottom)}</div></div>"
        )
        for name, alt in (
            ("bias_distribution.png", "bias distribution"),
            ("bias_vs_mean.png", "bias against mean rating"),
        ):
            if name in images:
                parts.append(_image(images[name], alt))

    pca = analysis.pca
    parts.append("<h2>Principal components of the movie embeddings</h2>")
    parts.append(
        "<p>PCA with the analysed movies as samples and the embedding factors as features, "
        "centred over movies (the factor axes of a rating model are arbitrary; the spread "
        f"of the movies is not). {esc(SIGN_NOTE)} Each component is read from its end "
        "titles and from the contrast between its top and bottom decile: genre shares "
        "with their lift over the analysed set, median release year, mean rating. The "
        "suggested names are generated from that contrast: a starting point, not a "
        "verdict.</p>"
    )
    variance = pd.DataFrame(
        {
            "component": [f"PC{i + 1}" for i in range(pca.n_components)],
            "explained_variance_ratio": pca.explained_variance_ratio_,
            "cumulative": pca.explained_variance_ratio_.cumsum(),
            "suggested name": [c.contrast.suggested_name for c in analysis.components],
        }
    )
    parts.append(_table(variance))
    if "explained_variance.png" in images:
        parts.append(_image(images["explained_variance.png"], "explained variance"))
    for component in analysis.components:
        contrast = component.contrast
        parts.append(
            f"<h3>PC{component.component}: {component.explained_variance_ratio:.1%} "
            f'of variance &mdash; suggested name: <span class="name">'
            f"{esc(contrast.suggested_name)}</span></h3>"
        )
        parts.append(
            f"<p>Top end ({contrast.top.size} movies): {esc(contrast.top.describe())}."
            f"<br>Bottom end ({contrast.bottom.size} movies): "
            f"{esc(contrast.bottom.describe())}.<br>Spearman correlation of the "
            f"scores with {_correlations(component.correlations)}.</p>"
        )
        columns = ["rank", "title", "genres", "score", "mean_rating", "n_ratings"]
        parts.append(
            f'<div class="pair"><div><h4>Top {len(component.top)}</h4>'
            f"{_table(component.top[columns])}</div><div><h4>Bottom "
            f"{len(component.bottom)}</h4>{_table(component.bottom[columns])}</div>"
        )
        genres = contrast.genre_table
        if len(genres):
            parts.append(f"<div><h4>Genres at each end</h4>{_table(genres)}</div>")
        parts.append("</div>")
    if scatter_files:
        parts.append("<h2>Maps of the components</h2>")
        parts.append(
            '<p class="note">Points are coloured by mean training rating; titles '
            "label the movies most extreme along the axes and the most-rated ones, "
            "where they fit without overlapping.</p>"
        )
        for name in scatter_files:
            parts.append(_image(images[name], name.removesuffix(".png")))

    shape = analysis.crosstab.shape
    parts.append(
        f"<h2>Most active users &times; most-rated movies</h2><p>Training ratings of "
        f"the {shape[0]} users with the most ratings on the {shape[1]} most-rated "
        "movies (blank: not rated in training).</p>"
    )
    parts.append(_crosstab(analysis))
    parts.append(
        "<h2>Files</h2><ul>"
        + "".join(
            f'<li><a href="{html.escape(urllib.parse.quote(f))}"><code>{esc(f)}</code></a></li>'
            for f in files
        )
        + "</ul>"
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
