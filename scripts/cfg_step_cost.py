#!/usr/bin/env python3
"""Cost of a guided sampling step against an unguided one, through `ddpm sample`.

usage: scripts/cfg_step_cost.py --checkpoint RUN [--ddpm .build/release/ddpm] [--device cpu]
                                [--batch 16,64] [--steps 25] [--repeats 3]

For each batch size B it draws three batches of B images with DDIM over --steps steps and takes
the time of the last two batches (the first one pays for compiling the step graph), at:
  guidance 1  the conditional model alone: one Unet forward of B per step (unguided);
  guidance 6  classifier-free guidance: one batched forward of 2B per step, then the combination;
  guidance 1 with 2B images per batch: the same forward of 2B without the combination, to show
              what the guided step costs beyond its batched forward.
Two separate passes (a forward of B for the conditional and another for the null prediction)
would cost two unguided steps, 2 × (guidance 1, B); the saving of the batched forward is
measured against that. Each setting runs --repeats times; the median is reported.
"""
import argparse
import re
import statistics
import subprocess


def batch_seconds(args, batch, guidance):
    cmd = [args.ddpm, "--device", args.device, "sample", "--checkpoint", args.checkpoint, "--count", str(3 * batch),
           "--batch-size", str(batch), "--steps", str(args.steps), "--guidance", str(guidance), "--output", args.scratch]
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    times = [float(t) for t in re.findall(r"images \(([0-9.]+) s\)", text)]
    if len(times) != 3:
        raise SystemExit(f"unexpected output of {' '.join(cmd)}:\n{text}")
    return (times[2] - times[0]) / 2


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--ddpm", default=".build/release/ddpm")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", default="16,64")
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--scratch", default="/tmp/cfg-step-cost")
    args = p.parse_args()
    print(f"device {args.device}, DDIM {args.steps} steps; milliseconds per sampling step (median of {args.repeats})")
    print(f"{'B':>4}  {'unguided B':>10}  {'guided 2B':>9}  {'fwd 2B':>7}  {'2 passes':>8}  {'guided/unguided':>15}  {'saved vs 2 passes':>17}")
    for b in [int(x) for x in args.batch.split(",")]:
        def step_ms(batch, guidance):
            return statistics.median(batch_seconds(args, batch, guidance) for _ in range(args.repeats)) / args.steps * 1e3
        unguided, guided, forward2b = step_ms(b, 1), step_ms(b, 6), step_ms(2 * b, 1)
        two = 2 * unguided
        print(f"{b:>4}  {unguided:>10.2f}  {guided:>9.2f}  {forward2b:>7.2f}  {two:>8.2f}  {guided / unguided:>15.2f}  "
              f"{(1 - guided / two) * 100:>16.0f}%")


if __name__ == "__main__":
    main()
