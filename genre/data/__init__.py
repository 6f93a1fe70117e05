"""The labelled movie set: genre labels and vocabulary, metadata sources, multi-label
stratified splits, and the saved set (:mod:`genre.data.dataset`)."""
