"""Genre analysis: co-occurrence and co-clustering (:mod:`genre.analysis.cooccurrence`)
and the charts (:mod:`genre.analysis.plots`)."""
