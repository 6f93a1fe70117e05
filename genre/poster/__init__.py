"""Poster CNNs trained end to end for genre prediction (``genre train --model poster-cnn``).

- :mod:`genre.poster.images`: poster files of a labelled set's movies, decoded and
  resized once into a cached ``uint8`` array;
- :mod:`genre.poster.network`: the ``scratch`` VGG-style network and ``vgg16`` with a new
  top, with augmentation layers active in training only;
- :mod:`genre.poster.model`: :class:`~genre.poster.model.PosterCNNClassifier` (training
  with callbacks, resumable checkpoints, thresholds, saving);
- :mod:`genre.poster.experiment`: train on the training part, thresholds on validation,
  test once beside the prior benchmark;
- :mod:`genre.poster.plots`: learning curves and a grid of test posters.

Submodules that need Keras import it; importing this package does not.
"""
