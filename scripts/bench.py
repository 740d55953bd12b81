#!/usr/bin/env python3
"""`make bench`: `ddpm bench` against the PyTorch reference, run alternately, as ratios.

For each Unet config, each round runs `ddpm --device D bench ... --json` for every device and then
`scripts/torch_bench.py` (PyTorch CPU + denoising-diffusion-pytorch 2.3.4) on the same model,
so slow phases of a shared machine hit every side alike. It prints the median of every figure
over the rounds and the ratios (PyTorch time / ddpm time: above 1 means ddpm is faster). Peak
RSS is the child process's `ru_maxrss` (wait4), measured the same way for both sides.

Standard library only: runs with the system python3. Without the PyTorch venv (`.venv-ref`, see
the header of scripts/torch_bench.py) the PyTorch side is skipped with a message.

usage: scripts/bench.py --ddpm .build/release/ddpm [--rounds 3] [--steps 5] [--devices cpu,opencl]
                        [--config 32:1,2,4:32:16 ...] [--sample-config 32:1,2,4:32 ...] [--sample-images 64]
                        [--sample-steps 25] [--python .venv-ref/bin/python] [--out FILE]

Without --config it runs the target table of docs/benchmarks.md: the three training configs and
the DDIM sampling of 64 images on dim 32 / 1,2,4 at 32x32.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# (dim, mults, image size, batch): the configs of the target table in docs/benchmarks.md (the
# digits model, and the two 32x32 Unets), and the one whose 64-image DDIM sampling is timed.
DEFAULT_CONFIGS = ["16:1,2:8:32", "32:1,2,4:32:16", "64:1,2,4,8:32:16"]
DEFAULT_SAMPLE_CONFIGS = ["32:1,2,4:32"]


def parse_config(text):
    try:
        dim, mults, size, batch = text.split(":")
        return {"dim": int(dim), "mults": mults, "image_size": int(size), "batch": int(batch)}
    except ValueError:
        sys.exit(f"bench: --config wants DIM:M1,M2,...:IMAGE_SIZE:BATCH, got '{text}'")


def parse_sample_config(text):
    try:
        dim, mults, size = text.split(":")
        return {"dim": int(dim), "mults": mults, "image_size": int(size)}
    except ValueError:
        sys.exit(f"bench: --sample-config wants DIM:M1,M2,...:IMAGE_SIZE, got '{text}'")


def run_measured(cmd):
    """Runs `cmd` with wait4 so its own peak RSS is known; returns (json, peak_rss_bytes, load)."""
    load = os.getloadavg()[0]
    # stderr goes to a file, so reading stdout to its end cannot block on a full stderr pipe;
    # then wait4 reaps the child and returns its own rusage (Popen.wait would discard it).
    err_file = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err_file)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    err_file.seek(0)
    err = err_file.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.stderr.write(err.decode(errors="replace"))
        raise RuntimeError(f"{' '.join(cmd)} exited with status {proc.returncode}")
    lines = [l for l in out.decode().splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError(f"{' '.join(cmd)} printed no JSON line:\n{out.decode()}")
    rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return json.loads(lines[-1]), rss, load


def wait_for_load(limit, max_wait_s=900):
    """Waits (up to max_wait_s) until the 1-minute load average is below `limit`."""
    start = time.time()
    while os.getloadavg()[0] >= limit and time.time() - start < max_wait_s:
        time.sleep(10)


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, unit=""):
    if value is None:
        return "-"
    if unit == "MiB":
        return f"{value / 1048576:.0f} MiB"
    return f"{value:.4f}{unit}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ddpm", default=os.path.join(ROOT, ".build", "release", "ddpm"))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--devices", default="cpu,opencl")
    p.add_argument("--config", action="append", help="DIM:M1,M2,...:IMAGE_SIZE:BATCH (repeatable)")
    p.add_argument("--python", default=os.path.join(ROOT, ".venv-ref", "bin", "python"))
    p.add_argument("--torch-bench", default=os.path.join(HERE, "torch_bench.py"))
    p.add_argument("--sample-config", action="append",
                   help="DIM:M1,M2,...:IMAGE_SIZE whose DDIM sampling is timed (repeatable; default: 32:1,2,4:32 "
                        "when no --config is given, none otherwise; 'none' for none)")
    p.add_argument("--sample-images", type=int, default=64)
    p.add_argument("--sample-steps", type=int, default=25)
    p.add_argument("--sample-runs", type=int, default=1)
    p.add_argument("--out", help="also write every run as JSON to this file")
    p.add_argument("--max-load", type=float,
                   help="before each run, wait (up to 15 min) until the 1-minute load average is below this")
    a = p.parse_args()

    if not os.access(a.ddpm, os.X_OK):
        sys.exit(f"bench: {a.ddpm} is not an executable; build it first (make build)")
    torch = os.access(a.python, os.X_OK)
    if not torch:
        print(f"bench: no PyTorch venv at {a.python}: skipping the PyTorch side "
              f"(set it up as the header of scripts/torch_bench.py says, or pass --python)")
    devices = [d for d in a.devices.split(",") if d]
    configs = [parse_config(c) for c in (a.config or DEFAULT_CONFIGS)]
    sample_texts = a.sample_config if a.sample_config is not None else ([] if a.config else DEFAULT_SAMPLE_CONFIGS)
    sample_configs = [parse_sample_config(c) for c in sample_texts if c != "none"]
    print(f"bench: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; "
          f"{a.rounds} rounds x ({', '.join(devices)}{', pytorch' if torch else ''}), {a.steps} steps each")

    runs = []
    for cfg in configs:
        args = ["--dim", str(cfg["dim"]), "--mults", cfg["mults"], "--image-size", str(cfg["image_size"]),
                "--batch", str(cfg["batch"])]
        label = f"dim {cfg['dim']}, mults {cfg['mults']}, {cfg['image_size']}x{cfg['image_size']}, batch {cfg['batch']}"
        for r in range(a.rounds):
            sides = [(d, [a.ddpm, "--device", d, "bench", *args, "--steps", str(a.steps),
                          "--warmup", str(a.warmup), "--json"]) for d in devices]
            if torch:
                sides.append(("pytorch", [a.python, a.torch_bench, *args, "--steps", str(a.steps)]))
            for side, cmd in sides:
                if a.max_load:
                    wait_for_load(a.max_load)
                result, rss, load = run_measured(cmd)
                runs.append({"config": label, "round": r, "side": side, "load": load, "peak_rss_bytes": rss,
                             "train_step_s": result["train_step_s"], "forward_s": result["forward_s"], "raw": result})
                print(f"  [{label}] round {r + 1} {side:8s} train {result['train_step_s']:.4f} s, "
                      f"forward {result['forward_s']:.4f} s, peak RSS {rss / 1048576:.0f} MiB (load {load:.2f})",
                      flush=True)

    for cfg in sample_configs:
        args = ["--dim", str(cfg["dim"]), "--mults", cfg["mults"], "--image-size", str(cfg["image_size"]),
                "--sample-images", str(a.sample_images), "--sample-steps", str(a.sample_steps),
                "--sample-runs", str(a.sample_runs)]
        label = (f"sampling {a.sample_images} images, DDIM {a.sample_steps} steps: dim {cfg['dim']}, "
                 f"mults {cfg['mults']}, {cfg['image_size']}x{cfg['image_size']}")
        for r in range(a.rounds):
            sides = [(d, [a.ddpm, "--device", d, "bench", *args, "--json"]) for d in devices]
            if torch:
                sides.append(("pytorch", [a.python, a.torch_bench, *args]))
            for side, cmd in sides:
                if a.max_load:
                    wait_for_load(a.max_load)
                result, rss, load = run_measured(cmd)
                runs.append({"config": label, "round": r, "side": side, "load": load, "peak_rss_bytes": rss,
                             "sample_s": result["sample_s"], "raw": result})
                print(f"  [{label}] round {r + 1} {side:8s} {result['sample_s']:.3f} s per chain, "
                      f"peak RSS {rss / 1048576:.0f} MiB (load {load:.2f})", flush=True)

    print()
    print("medians over rounds (ratio = PyTorch time / ddpm time; > 1 means ddpm is faster)")
    for cfg in configs:
        label = f"dim {cfg['dim']}, mults {cfg['mults']}, {cfg['image_size']}x{cfg['image_size']}, batch {cfg['batch']}"
        side_runs = lambda s: [x for x in runs if x["config"] == label and x["side"] == s]
        m = {s: {k: med([x[k] for x in side_runs(s)]) for k in ("train_step_s", "forward_s", "peak_rss_bytes", "load")}
             for s in devices + (["pytorch"] if torch else [])}
        print(f"\n{label}")
        print(f"  {'side':10s} {'train step':>12s} {'forward':>12s} {'peak RSS':>10s} {'load':>6s}")
        for s, v in m.items():
            print(f"  {s:10s} {fmt(v['train_step_s'], ' s'):>12s} {fmt(v['forward_s'], ' s'):>12s} "
                  f"{fmt(v['peak_rss_bytes'], 'MiB'):>10s} {v['load']:6.2f}")
        pt = m.get("pytorch")

        def per_round(d, key):
            # Each round's own ratio (its PyTorch run against its ddpm run): the spread shows how
            # far one round can be trusted on a shared machine.
            by_round = {x["round"]: x[key] for x in side_runs(d)}
            values = [x[key] / by_round[x["round"]] for x in side_runs("pytorch")
                      if by_round.get(x["round"])]
            if len(values) < 2:
                return ""
            return f"   (per round: median {med(values):.2f}x, {min(values):.2f}-{max(values):.2f}x)"

        for d in devices:
            if pt:
                print(f"  train step  PyTorch / {d}: {fmt(ratio(pt['train_step_s'], m[d]['train_step_s']), 'x')}"
                      f"{per_round(d, 'train_step_s')}")
                print(f"  forward     PyTorch / {d}: {fmt(ratio(pt['forward_s'], m[d]['forward_s']), 'x')}"
                      f"{per_round(d, 'forward_s')}")
                print(f"  peak RSS    {d} / PyTorch: {fmt(ratio(m[d]['peak_rss_bytes'], pt['peak_rss_bytes']), 'x')}")
        if len(devices) > 1:
            base = devices[0]
            for d in devices[1:]:
                print(f"  train step  {d} / {base}: {fmt(ratio(m[d]['train_step_s'], m[base]['train_step_s']), 'x')}")
                print(f"  forward     {d} / {base}: {fmt(ratio(m[d]['forward_s'], m[base]['forward_s']), 'x')}")
    for cfg in sample_configs:
        label = (f"sampling {a.sample_images} images, DDIM {a.sample_steps} steps: dim {cfg['dim']}, "
                 f"mults {cfg['mults']}, {cfg['image_size']}x{cfg['image_size']}")
        side_runs = lambda s: [x for x in runs if x["config"] == label and x["side"] == s]
        sides = devices + (["pytorch"] if torch else [])
        m = {s: med([x["sample_s"] for x in side_runs(s)]) for s in sides}
        print(f"\n{label}")
        for s in sides:
            print(f"  {s:10s} {fmt(m[s], ' s'):>12s} per chain, peak RSS "
                  f"{fmt(med([x['peak_rss_bytes'] for x in side_runs(s)]), 'MiB')}")
        for d in devices:
            if torch:
                by_round = {x["round"]: x["sample_s"] for x in side_runs(d)}
                values = [x["sample_s"] / by_round[x["round"]] for x in side_runs("pytorch") if by_round.get(x["round"])]
                spread = f"   (per round: {min(values):.2f}-{max(values):.2f}x)" if len(values) > 1 else ""
                print(f"  sampling    PyTorch / {d}: {fmt(ratio(m['pytorch'], m[d]), 'x')}{spread}")
        for d in devices[1:]:
            print(f"  sampling    {d} / {devices[0]}: {fmt(ratio(m[d], m[devices[0]]), 'x')}")
    loads = [x["load"] for x in runs]
    if loads and max(loads) > (os.cpu_count() or 1):
        print(f"\nnote: the load average reached {max(loads):.2f} on {os.cpu_count()} cores (the 1-minute average "
              "also counts the previous run of this script): when other processes share the machine, every side "
              "slows, by different amounts; compare several runs, or quiet ones (--max-load), before trusting the "
              "ratios")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"time": time.strftime("%Y-%m-%d %H:%M:%S"), "cores": os.cpu_count(), "runs": runs}, f, indent=1)
        print(f"\nwrote {a.out}")


if __name__ == "__main__":
    main()
