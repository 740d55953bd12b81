#!/usr/bin/env python3
"""Fréchet distance of digit samples to held-out digits, in the feature space of a small digits
classifier of our own (a measurement tool, not part of ddpm).

The classifier is scikit-learn's MLPClassifier with one hidden layer of 64 ReLU units, trained
on the train split of an image-folder digits set (`<split>/<label>/<index>.png`, 8x8 gray, the
layout scripts/make_digits_data.py reads); its hidden activations are the features. For each folder of
samples (PNG files, as `ddpm sample --output FOLDER/` writes them) the script prints the Fréchet
distance between the Gaussians fitted to the samples' features and to the held-out test split's:
  FD = |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)).
It also prints two yardsticks: random train digits (as many as the largest sample set) against
the test split (what a perfect model would score, given the finite sample) and uniform noise.

usage: digits_fid.py DIGITS_ROOT SAMPLES_DIR [SAMPLES_DIR ...]
needs: numpy, scipy, scikit-learn, pillow
"""
import glob, os, sys
import numpy as np
from PIL import Image
from scipy import linalg
from sklearn.neural_network import MLPClassifier
import warnings
warnings.filterwarnings("ignore")  # singular covariances (dead ReLU units) and convergence notes


def load_split(root, split):
    xs, ys = [], []
    for path in sorted(glob.glob(os.path.join(root, split, "*", "*.png"))):
        xs.append(np.asarray(Image.open(path).convert("L"), dtype=np.float64).reshape(-1) / 255.0)
        ys.append(int(os.path.basename(os.path.dirname(path))))
    return np.array(xs), np.array(ys)


def load_folder(folder):
    paths = sorted(glob.glob(os.path.join(folder, "*.png")))
    images = [np.asarray(Image.open(p).convert("L"), dtype=np.float64) for p in paths]
    if any(i.shape != (8, 8) for i in images):
        raise SystemExit(f"{folder}: expected 8x8 images")
    return np.array([i.reshape(-1) / 255.0 for i in images])


def features(model, x):
    return np.maximum(x @ model.coefs_[0] + model.intercepts_[0], 0)


def frechet(a, b):
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(s_a @ s_b)
    root = root.real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b - 2 * root))


def main():
    root, folders = sys.argv[1], sys.argv[2:]
    x_train, y_train = load_split(root, "train")
    x_test, y_test = load_split(root, "test")
    model = MLPClassifier(hidden_layer_sizes=(64,), max_iter=400, random_state=0).fit(x_train, y_train)
    print(f"classifier: train {len(x_train)}, test {len(x_test)} digits, test accuracy {model.score(x_test, y_test):.3f}")
    reference = features(model, x_test)
    samples = {f: load_folder(f) for f in folders}
    n = max([len(s) for s in samples.values()] + [len(x_test)])
    rng = np.random.default_rng(0)
    train_pick = x_train[rng.choice(len(x_train), size=min(n, len(x_train)), replace=False)]
    print(f"yardstick: {len(train_pick)} train digits vs test: FD {frechet(features(model, train_pick), reference):.3f}")
    print(f"yardstick: {n} uniform-noise images vs test: FD {frechet(features(model, rng.random((n, 64))), reference):.3f}")
    for folder, x in samples.items():
        predicted = np.bincount(model.predict(x), minlength=10)
        print(f"{folder}: {len(x)} samples, FD {frechet(features(model, x), reference):.3f}, predicted classes {predicted.tolist()}")


if __name__ == "__main__":
    main()
