"""Predictor: full-resolution outputs for any size, uncertainty, TTA, and the model's mode restored."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from unet_core.model.checkpoint import load_checkpoint
from unet_core.model.predictor import Predictor, normalized_entropy


def test_full_resolution_outputs_for_odd_sizes(tiny_model: Path) -> None:
    predictor = Predictor.from_checkpoint(tiny_model, device="cpu")
    image = np.random.default_rng(0).integers(0, 255, (131, 203, 3), dtype=np.uint8)
    pred = predictor.predict(image, with_probabilities=True)
    assert pred.labels.shape == (131, 203) and pred.labels.dtype == np.uint8
    assert pred.uncertainty.shape == (131, 203)
    assert pred.uncertainty.min() >= 0.0 and pred.uncertainty.max() <= 1.0
    assert pred.probabilities is not None and pred.probabilities.shape == (131, 203, 2)
    np.testing.assert_allclose(pred.probabilities.sum(-1), 1.0, atol=1e-4)
    assert (pred.labels == pred.probabilities.argmax(-1)).mean() > 0.9  # guided labels move only near borders
    plain = Predictor.from_checkpoint(tiny_model, device="cpu", guided=False).predict(image, with_probabilities=True)
    assert plain.probabilities is not None and np.array_equal(plain.labels, plain.probabilities.argmax(-1))
    np.testing.assert_array_equal(plain.probabilities, pred.probabilities)  # the model's map is the same
    assert 0.0 <= pred.score <= 1.0


def test_restores_train_mode_and_tta(tiny_model: Path) -> None:
    model, meta = load_checkpoint(tiny_model)
    model.train()
    predictor = Predictor(model, meta, device="cpu", tta=True)
    image = np.full((50, 70, 3), 128, np.uint8)
    predictor.predict(image)
    assert model.training
    model.eval()
    predictor.predict(image)
    assert not model.training


def test_batched_matches_single(tiny_model: Path) -> None:
    predictor = Predictor.from_checkpoint(tiny_model, device="cpu")
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (60 + 7 * i, 90, 3), dtype=np.uint8) for i in range(3)]
    many = predictor.predict_many(images, batch_size=2)
    for im, p in zip(images, many, strict=True):
        assert np.array_equal(p.labels, predictor.predict(im).labels)


def test_entropy_bounds() -> None:
    certain = np.zeros((2, 2, 3), np.float32)
    certain[..., 0] = 1
    uniform = np.full((2, 2, 3), 1 / 3, np.float32)
    assert normalized_entropy(certain).max() < 1e-4
    np.testing.assert_allclose(normalized_entropy(uniform), 1.0, atol=1e-5)
