#!/usr/bin/env python3
"""A/B timing of two ddpm binaries: `ddpm bench --json` alternately, medians and ranges.

For checking that a change leaves speed where it was (say a refactor of the device layer): each
round runs both binaries on every device and config, A first in even rounds and B first in odd
ones, so slow phases of a shared machine hit both alike; it prints per figure the median of A, of B, the median of the per-round
ratios B/A and their range. Standard library only.

usage: scripts/ab_bench.py --a OLD/ddpm --b NEW/ddpm [--rounds 5] [--steps 4] [--devices cpu,opencl]
                           [--config 32:1,2,4:32:16 ...]
"""
import argparse, json, statistics, subprocess, sys

DEFAULT_CONFIGS = ["32:1,2,4:32:16", "64:1,2,4,8:32:16"]


def bench(binary, device, config, steps):
    dim, mults, size, batch = config.split(":")
    cmd = [binary, "--device", device, "bench", "--dim", dim, "--mults", mults, "--image-size", size,
           "--batch", batch, "--steps", str(steps), "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"ab_bench: {' '.join(cmd)} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--a", required=True)
    parser.add_argument("--b", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--devices", default="cpu,opencl")
    parser.add_argument("--config", action="append")
    args = parser.parse_args()
    configs = args.config or DEFAULT_CONFIGS
    devices = args.devices.split(",")
    figures = ("train_step_s", "forward_s", "train_step_cpu_s", "forward_cpu_s")
    samples = {}  # (device, config, figure, side) -> [seconds]
    for r in range(args.rounds):
        for device in devices:
            for config in configs:
                # ABBA: the order flips every round, so a slow phase or a warm cache that
                # favours whichever side runs second cancels out over pairs of rounds.
                order = (("a", args.a), ("b", args.b)) if r % 2 == 0 else (("b", args.b), ("a", args.a))
                for side, binary in order:
                    result = bench(binary, device, config, args.steps)
                    for figure in figures:
                        samples.setdefault((device, config, figure, side), []).append(result[figure])
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    print(f"{'device':8} {'config':18} {'figure':20} {'A median':>9} {'B median':>9} {'B/A':>6}  range of B/A per round")
    for device in devices:
        for config in configs:
            for figure in figures:
                a = samples[(device, config, figure, "a")]
                b = samples[(device, config, figure, "b")]
                ratios = [y / x for x, y in zip(a, b)]
                print(f"{device:8} {config:18} {figure:20} {statistics.median(a):9.4f} {statistics.median(b):9.4f} "
                      f"{statistics.median(ratios):6.3f}  {min(ratios):.3f}-{max(ratios):.3f}")


if __name__ == "__main__":
    main()
