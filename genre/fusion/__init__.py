"""The fused model on blocks of the movie feature store: block inputs
(:mod:`genre.fusion.block_inputs`), the Keras
:class:`~genre.fusion.model.FusionClassifier`, one trained-and-tested run
(:mod:`genre.fusion.experiment`), block ablation (:mod:`genre.fusion.ablation`) and the
provenance checks of the blocks a fused model is given (:mod:`genre.fusion.provenance`).

Importing :mod:`genre.fusion.model` (or what imports it) loads Keras."""
