"""Multi-label metrics with per-genre thresholds (:mod:`genre.evaluation.metrics`) and
the test report beside trivial benchmarks (:mod:`genre.evaluation.evaluate`)."""
