"""Classical text models: texts and vectorizers (:mod:`genre.text.features`), the
:class:`~genre.text.classifier.GenreTextClassifier`, the validation grid search
(:mod:`genre.text.tuning`) and one tuned-and-tested run (:mod:`genre.text.experiment`)."""
