#!/usr/bin/env python3
"""Fault injection against `ddpm train` in loops (issue 15, docs/reliability.md).

Rounds of: SIGTERM, SIGHUP, a second SIGINT shortly after the first, an error exit mid-run (the
loss becomes NaN while the device queue works), `kill -9` while checkpoints are written (one per
step), and a second run on a busy output folder. Each round checks what must
hold: the exit status (143, 129, 130, 1 naming the holder's pid), no crash (death by a signal
other than our SIGKILL), no hang (a round that does not end within --timeout), every checkpoint
left on disk readable (`ddpm inspect`), and nothing lost: after a signal the newest checkpoint
holds the last step the run reported. `FaultInjectionTests` runs a few rounds of each in
`make test`; `make fuzz` runs this script.

Usage: scripts/faults.py --ddpm .build/release/ddpm [--rounds 10] [--json out.json]
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TINY = ["--data", "digits", "--dim", "8", "--mults", "1,2", "--attn-heads", "1", "--attn-dim-head", "4",
        "--timesteps", "50", "--sampling-timesteps", "5", "--schedule", "linear", "--objective", "pred_noise",
        "--batch-size", "2", "--num-samples", "0", "--log-every", "1"]


def start(binary, output, extra=()):
    return subprocess.Popen([binary, "train"] + TINY + ["--steps", "1000000", "--output", output] + list(extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for(predicate, process, timeout):
    deadline = time.monotonic() + timeout
    while not predicate() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)


def metrics_lines(output):
    try:
        with open(os.path.join(output, "metrics.jsonl")) as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


def checkpoints(output):
    try:
        names = os.listdir(output)
    except OSError:
        return []
    return sorted(int(m.group(1)) for n in names if (m := re.fullmatch(r"checkpoint-(\d+)\.safetensors", n)))


def finish(process, timeout):
    try:
        out, err = process.communicate(timeout=timeout)
        return process.returncode, out, err, False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        return process.returncode, out, err, True


CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGABRT, signal.SIGILL, signal.SIGTRAP, signal.SIGBUS, signal.SIGFPE}


def crashed(code):
    """Death by a signal that means a crash (not the SIGTERM/SIGHUP/SIGINT sent, nor our SIGKILL)."""
    return code is not None and code < 0 and -code in CRASH_SIGNALS


def intact(binary, output):
    """The checkpoints of `output` that `ddpm inspect` cannot read."""
    bad = []
    for step in checkpoints(output):
        path = os.path.join(output, f"checkpoint-{step:08d}.safetensors")
        if subprocess.run([binary, "inspect", path], capture_output=True).returncode != 0:
            bad.append(path)
    return bad


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ddpm", required=True)
    parser.add_argument("--rounds", type=int, default=10, help="rounds per fault (default 10)")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args()
    binary = os.path.abspath(args.ddpm)
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="ddpm-faults-")
    results = {}

    def record(fault, ok, crash=False, hang=False, lost=False, note=""):
        r = results.setdefault(fault, {"rounds": 0, "clean": 0, "crashes": 0, "hangs": 0, "data_lost": 0, "notes": []})
        r["rounds"] += 1
        r["clean"] += ok and not (crash or hang or lost)
        r["crashes"] += crash
        r["hangs"] += hang
        r["data_lost"] += lost
        if note and len(r["notes"]) < 5:
            r["notes"].append(note)
        if crash or hang or lost or not ok:
            print(f"  {fault}: {'CRASH ' if crash else ''}{'HANG ' if hang else ''}{'LOST ' if lost else ''}{note}")

    try:
        for round_ in range(args.rounds):
            # SIGTERM / SIGHUP: status 128 + signal, a checkpoint of the last reported step.
            for name, sig, status in [("SIGTERM", signal.SIGTERM, 143), ("SIGHUP", signal.SIGHUP, 129)]:
                output = os.path.join(work, f"{name}-{round_}")
                p = start(binary, output)
                wait_for(lambda: metrics_lines(output) >= 1 + rng.randrange(4), p, args.timeout)
                time.sleep(rng.random() * 0.05)
                p.send_signal(sig)
                code, out, err, hung = finish(p, args.timeout)
                m = re.search(r"interrupted at step (\d+)", out)
                newest = (checkpoints(output) or [0])[-1]
                lost = m is None or newest < int(m.group(1)) or bool(intact(binary, output))
                record(name, code == status, crash=crashed(code), hang=hung, lost=lost and not hung,
                       note=f"status {code}: {err.strip().splitlines()[-1] if err.strip() else ''}" if code != status else "")
            # A second SIGINT soon after the first, while the workers run.
            output = os.path.join(work, f"double-{round_}")
            p = start(binary, output, ["--dim", "32"])
            wait_for(lambda: metrics_lines(output) >= 1, p, args.timeout)
            p.send_signal(signal.SIGINT)
            time.sleep(rng.random() * 0.02)
            p.send_signal(signal.SIGINT)
            code, out, err, hung = finish(p, args.timeout)
            record("second SIGINT", code == 130, crash=crashed(code), hang=hung,
                   lost=bool(intact(binary, output)), note=f"status {code}" if code != 130 else "")
            # An error exit mid-run (the loss becomes NaN) while the device queue still works: the
            # exit used to run OpenBLAS's teardown under a running sgemm (a segfault in ~15%).
            output = os.path.join(work, f"nan-{round_}")
            nan = subprocess.run([binary, "train"] + TINY + ["--dim", "64", "--attn-heads", "2", "--attn-dim-head", "16",
                                                             "--batch-size", "16", "--lr", "1e30", "--max-grad-norm", "0",
                                                             "--steps", "100000", "--output", output],
                                 capture_output=True, text=True, timeout=args.timeout)
            record("error exit mid-run (NaN loss)", nan.returncode == 1 and "the loss became" in nan.stderr,
                   crash=crashed(nan.returncode) or nan.returncode > 128, lost=bool(intact(binary, output)),
                   note=f"status {nan.returncode}" if nan.returncode != 1 else "")
            # kill -9 while a checkpoint is written at every step, then resume.
            output = os.path.join(work, f"kill9-{round_}")
            p = start(binary, output, ["--save-every", "1", "--keep-checkpoints", "2"])
            wait_for(lambda: len(checkpoints(output)) >= 1, p, args.timeout)
            time.sleep(rng.random() * 0.05)
            os.killpg(p.pid, signal.SIGKILL)
            finish(p, args.timeout)
            bad = intact(binary, output)
            steps = (checkpoints(output) or [0])[-1]
            resumed = subprocess.run([binary, "train", "--output", output, "--resume", "--steps", str(steps + 1)],
                                     capture_output=True, text=True, timeout=args.timeout)
            leftovers = [n for n in os.listdir(output) if ".tmp-" in n]
            record("kill -9 during checkpoint writes", resumed.returncode == 0 and not leftovers, lost=bool(bad),
                   note=f"bad {bad} resume {resumed.returncode} leftovers {leftovers}" if bad or resumed.returncode or leftovers else "")
            # Two runs on one folder.
            output = os.path.join(work, f"two-{round_}")
            p = start(binary, output)
            wait_for(lambda: metrics_lines(output) >= 1, p, args.timeout)
            second = subprocess.run([binary, "train"] + TINY + ["--steps", "3", "--output", output, "--resume"],
                                    capture_output=True, text=True, timeout=args.timeout)
            p.send_signal(signal.SIGINT)
            code, out, err, hung = finish(p, args.timeout)
            ok = second.returncode == 1 and f"(pid {p.pid})" in second.stderr and code == 130
            record("two runs on one folder", ok, crash=crashed(code), hang=hung,
                   lost=bool(intact(binary, output)), note="" if ok else f"second {second.returncode}: {second.stderr.strip()[:160]}")
            shutil.rmtree(work, ignore_errors=True)
            os.makedirs(work, exist_ok=True)
        print(f"{'fault':<34} {'rounds':>6} {'clean':>6} {'crashes':>8} {'hangs':>6} {'data lost':>10}")
        for fault, r in results.items():
            print(f"{fault:<34} {r['rounds']:>6} {r['clean']:>6} {r['crashes']:>8} {r['hangs']:>6} {r['data_lost']:>10}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
        bad = sum(r["rounds"] - r["clean"] for r in results.values())
        sys.exit(1 if bad else 0)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
