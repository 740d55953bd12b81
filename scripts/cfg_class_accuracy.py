#!/usr/bin/env python3
"""Measures how well a class-conditional digits model draws the class it is asked for: the share
of samples that a small digits classifier (scikit-learn, trained here; not part of ddpm) assigns
to the requested class, for each guidance scale, at the same sampling budget.

usage: scripts/cfg_class_accuracy.py --checkpoint RUN [--ddpm .build/release/ddpm] [--per-class 50]
                                     [--guidance 1,3,6] [--seed 0] [--device cpu] [--out DIR]
                                     [--sample-options '--rescale 0 --no-remove-parallel-component']

The classifier is an RBF SVM on scikit-learn's copy of the UCI digits (the same 1797 8x8 images
as ddpm's built-in 'digits', pixel counts 0..16); its accuracy on a held-out quarter of the real
digits is printed first, as the yardstick. Samples are drawn with `ddpm sample --classes` (each
class `--per-class` times, the same seed for every scale), written as PNGs (0..255, read back as
0..16), and classified. Needs numpy, pillow and scikit-learn (the venv of scripts/torch_bench.py has them).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC


def classifier():
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(digits.data, digits.target, test_size=0.25, random_state=0,
                                                        stratify=digits.target)
    held_out = SVC(gamma=0.001, C=10).fit(x_train, y_train)
    accuracy = (held_out.predict(x_test) == y_test).mean()
    return SVC(gamma=0.001, C=10).fit(digits.data, digits.target), accuracy


def sample(args, scale, classes, folder):
    cmd = [args.ddpm, "--device", args.device, "sample", "--checkpoint", args.checkpoint, "--count", str(len(classes)),
           "--batch-size", str(args.batch_size), "--seed", str(args.seed), "--guidance", str(scale),
           "--classes", ",".join(map(str, classes)), "--output", folder] + args.sample_options.split()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    images = []
    for i in range(len(classes)):
        pixels = np.asarray(Image.open(os.path.join(folder, f"sample-{i:05d}.png")).convert("L"), dtype=np.float64)
        if pixels.shape != (8, 8):
            sys.exit(f"expected 8x8 digits, got {pixels.shape}")
        images.append(pixels.reshape(-1) / 255.0 * 16.0)
    return np.stack(images)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--ddpm", default=".build/release/ddpm")
    p.add_argument("--device", default="cpu")
    p.add_argument("--per-class", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--guidance", default="1,3,6")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="keep the sample folders here (default: a temporary folder)")
    p.add_argument("--sample-options", default="", help="more `ddpm sample` options, e.g. '--rescale 0 --no-remove-parallel-component'")
    args = p.parse_args()

    model, accuracy = classifier()
    print(f"classifier: RBF SVM on scikit-learn digits, held-out accuracy {accuracy:.3f} (real digits)")
    classes = [c for c in range(10) for _ in range(args.per_class)]
    out = args.out or tempfile.mkdtemp(prefix="cfg-accuracy-")
    print(f"{'guidance':>8}  {'share':>6}  per class 0..9")
    for scale in [float(s) for s in args.guidance.split(",")]:
        folder = os.path.join(out, f"guidance-{scale:g}")
        predicted = model.predict(sample(args, scale, classes, folder))
        hits = predicted == np.array(classes)
        per_class = [hits[c * args.per_class:(c + 1) * args.per_class].mean() for c in range(10)]
        print(f"{scale:>8g}  {hits.mean():>6.3f}  " + " ".join(f"{v:.2f}" for v in per_class))


if __name__ == "__main__":
    main()
