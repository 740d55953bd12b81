#!/usr/bin/env python3
"""Mutation fuzzing of `ddpm` through the real binary (issue 15, docs/reliability.md).

Every case is one run of the binary on a mutated input, under a memory limit (RLIMIT_AS), a
file-size limit (RLIMIT_FSIZE), no core dumps and a timeout, and is classified:

  clean     exit status 1, 2 or 64 with an `error:` line and no crash report
  accepted  exit status 0 (the mutant was still a valid input)
  long      still working at the timeout with output growing and memory bounded (e.g. --count 10^7)
  crash     killed by a signal (SIGSEGV, SIGILL/SIGTRAP from a Swift trap, SIGABRT...), a Swift
            `Fatal error`, or any other exit status
  hang      no progress when the timeout struck (e.g. blocked on a FIFO)
  memory    peak resident memory above --blowup-mb more than the memory the run announced before
            allocating it (the trainer's `arena N MiB` line), or an allocation failure that killed it
  planned   above --blowup-mb, but within the arena the run announced: a valid input that asks
            for that much (e.g. a checkpoint edited to 8x4096 images), refused cleanly by the
            device when it does not fit ("out of memory allocating N bytes")

Areas: safetensors (container mutants, `ddpm inspect`), config (a checkpoint whose configuration
or step tensor is mutated, `ddpm sample` and `ddpm train --resume`), png and jpeg (a one-image
folder, `ddpm train --data`), options (hostile option values, `ddpm train` / `ddpm sample`), and
files (FIFOs, directories, sparse files named like inputs).

Usage: scripts/fuzz.py --ddpm .build/release/ddpm [--cases 200] [--seed 1] [--json out.json]
`make fuzz` runs the full set; `--quick` (a few cases per area) is part of `make test`.
Exit status 1 when any crash, hang or memory blow-up was found.
"""

import argparse
import json
import os
import random
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
IMAGES = os.path.join(ROOT, "Tests", "Fixtures", "images")
SEEDS = os.path.join(ROOT, "Tests", "Fixtures", "fuzz", "seeds")

TINY = ["--dim", "8", "--mults", "1,2", "--attn-heads", "1", "--attn-dim-head", "4", "--timesteps", "50", "--sampling-timesteps", "5",
        "--schedule", "linear", "--objective", "pred_noise", "--num-samples", "0", "--log-every", "1"]

INTERESTING = [0, 1, -1, 7, 255, 256, 40000, 65535, 65536, 1 << 31, (1 << 31) - 1, 1 << 32, (1 << 32) - 1,
               1 << 62, (1 << 63) - 1, 10 ** 8, 10 ** 9, 10 ** 20]
HOSTILE_VALUES = ["0", "-1", "1000000000", "4611686018427387904", "9223372036854775807", "99999999999999999999",
                  "1e400", "nan", "inf", "-inf", "", "x", "100000", "10000000", "65536", ",".join(["1"] * 70),
                  ",".join(["4611686018427387904"] * 3), "1,1000000", "3x", "0x0", "8x100000", "1e-400"]


class Case:
    def __init__(self, area, label, args, cwd, expect_files=None):
        self.area, self.label, self.args, self.cwd = area, label, args, cwd


def limits(mem_bytes, fsize_bytes):
    def apply():
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_bytes, fsize_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def run(binary, args, cwd, mem_bytes, timeout, env):
    """Runs the binary; returns (status or None, signal or None, timed_out, progressing, peak_rss, stderr, seconds)."""
    out_path, err_path = os.path.join(cwd, ".out"), os.path.join(cwd, ".err")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.monotonic()
        p = subprocess.Popen([binary] + args, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                             preexec_fn=limits(mem_bytes, 1 << 30), env=env)
        timed_out, progressing, half_size = False, False, None
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            elapsed = time.monotonic() - start
            if half_size is None and elapsed > timeout / 2:
                half_size = os.path.getsize(out_path) + os.path.getsize(err_path) + tree_size(cwd)
            if elapsed > timeout:
                timed_out = True
                progressing = half_size is not None and \
                    os.path.getsize(out_path) + os.path.getsize(err_path) + tree_size(cwd) > half_size
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                pid, status, usage = os.wait4(p.pid, 0)
                break
            time.sleep(0.01)
        seconds = time.monotonic() - start
    with open(err_path, "rb") as f:
        stderr = f.read(1 << 16).decode("utf-8", "replace")
    with open(out_path, "rb") as f:
        planned = sum(float(m) for m in re.findall(r"arena ([0-9.]+) MiB", f.read(1 << 16).decode("utf-8", "replace")))
    stderr = stderr if not planned else stderr + f"\n(planned arena {planned:.0f} MiB)"
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    return code, sig, timed_out, progressing, usage.ru_maxrss * 1024, stderr, seconds


def tree_size(path):
    total = 0
    for base, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(base, name)).st_size
            except OSError:
                pass
    return total


def classify(code, sig, timed_out, progressing, rss, stderr, blowup):
    lowered = stderr.lower()
    planned = re.search(r"\(planned arena ([0-9]+) MiB\)", stderr)
    planned_bytes = int(planned.group(1)) << 20 if planned else 0
    alloc_failure = any(s in lowered for s in ("out of memory", "cannot allocate", "allocation failed", "bad_alloc",
                                                "failed to allocate", "memory allocation"))
    # An allocation refused with an error message (`cannot allocate N bytes; the largest ... is M`)
    # is a clean error; one that killed the process is a blow-up.
    clean_exit = code in (1, 2, 64) and "error:" in lowered and "fatal error" not in lowered
    if alloc_failure and not clean_exit:
        return "memory"
    if rss > blowup + planned_bytes:
        return "memory"
    if timed_out:
        return "long" if progressing else "hang"
    if sig is not None or "fatal error" in lowered:
        return "crash"
    if rss > blowup and (code == 0 or clean_exit):
        return "planned"
    if code == 0:
        return "accepted"
    if clean_exit:
        return "clean"
    return "crash"


# ----------------------------------------------------------------------------------------------
# Generic byte mutators


def mutate_bytes(data, rng):
    data = bytearray(data)
    choice = rng.randrange(6)
    if choice == 0 and data:
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif choice == 1 and len(data) > 4:
        value = rng.choice(INTERESTING) & 0xFFFFFFFF
        at = rng.randrange(len(data) - 3)
        data[at:at + 4] = struct.pack(rng.choice([">I", "<I"]), value)
    elif choice == 2 and data:
        del data[rng.randrange(len(data)):]
    elif choice == 3 and data:
        a = rng.randrange(len(data))
        b = min(len(data), a + rng.randint(1, 64))
        at = rng.randrange(len(data))
        data[at:at] = data[a:b] * rng.randint(1, 4)
    elif choice == 4 and data:
        a = rng.randrange(len(data))
        del data[a:a + rng.randint(1, 32)]
    else:
        data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return bytes(data)


def write(path, data, sparse_size=None):
    with open(path, "wb") as f:
        f.write(data)
        if sparse_size:
            f.truncate(sparse_size)


# ----------------------------------------------------------------------------------------------
# safetensors


def st_split(data):
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n]), data[8 + n:]


def st_join(header, payload, pad=True):
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + payload


def mutate_safetensors(data, rng):
    kind = rng.randrange(5)
    if kind == 0:
        return mutate_bytes(data, rng), None
    if kind == 1:
        value = rng.choice([0, 7, len(data), len(data) - 8, 1 << 32, 10 ** 8, (1 << 63) - 1, (1 << 64) - 1])
        return struct.pack("<Q", value) + data[8:], None
    if kind == 2:
        return data, rng.choice([3 << 30, 1 << 40])
    header, payload = st_split(data)
    names = [k for k in header if k != "__metadata__"]
    name = rng.choice(names)
    entry = header[name]
    field = rng.choice(["shape", "data_offsets", "dtype", "drop", "dup"])
    if field == "shape":
        entry["shape"] = [rng.choice(INTERESTING) for _ in range(rng.randint(0, 4))]
    elif field == "data_offsets":
        entry["data_offsets"] = [rng.choice(INTERESTING + [entry["data_offsets"][0]]),
                                 rng.choice(INTERESTING + [entry["data_offsets"][1]])]
    elif field == "dtype":
        entry["dtype"] = rng.choice(["F32", "F64", "I64", "U8", "BOOL", "F8_E4M3", "Q4", "", 7])
    elif field == "drop":
        del header[name]
    else:
        header[name + "x"] = dict(entry)
    return st_join(header, payload, pad=rng.random() < 0.8), None


# ----------------------------------------------------------------------------------------------
# Checkpoint configurations


def mutate_config(data, rng):
    header, payload = st_split(data)
    if rng.random() < 0.2:
        # training.step / data_position set to extreme values.
        name = rng.choice(["training.step", "training.data_position"])
        b, e = header[name]["data_offsets"]
        value = rng.choice([(1 << 63) - 1, -1, 1 << 62, 10 ** 12])
        payload = payload[:b] + struct.pack("<q", value) + payload[e:]
        return st_join(header, payload)
    config = json.loads(header["__metadata__"]["config"])
    leaves = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, path + [k])
        elif isinstance(node, list):
            leaves.append(path)
            for i, v in enumerate(node):
                walk(v, path + [i])
        else:
            leaves.append(path)
    walk(config, [])
    path = rng.choice(leaves)
    target = config
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = rng.choice([1 << 62, (1 << 63) - 1, 10 ** 8, 10 ** 9, 0, -1, 1e300, 70, "x", None, True,
                                   [1] * 70, [1 << 62, 2], [], {"a": 1}, 4096, 100000])
    header["__metadata__"]["config"] = json.dumps(config, separators=(",", ":"))
    return st_join(header, payload)


# ----------------------------------------------------------------------------------------------
# Images


def patch_png_dims(data, rng):
    data = bytearray(data)
    w, h = rng.choice([(40000, 40000), (65535, 65535), (65536, 1), (1, 1 << 30), (0, 8), (60000, 60000)])
    data[16:24] = struct.pack(">II", w, h)
    import zlib
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def png_big_chunk(data, rng):
    chunk = rng.choice([b"iTXt", b"tEXt", b"zTXt", b"iCCP", b"IDAT", b"abCd"])
    length = rng.choice([0x7FFFFFF0, 1 << 30, 0xFFFFFFFF, 100 << 20])
    return data[:33] + struct.pack(">I", length) + chunk + b"A" * rng.randint(0, 40)


def mutate_with(data, rng, specific):
    """One of the format-specific mutators, by cumulative probability, else a generic byte mutation."""
    r = rng.random()
    for bound, mutator in specific:
        if r < bound:
            return mutator(data, rng)
    return mutate_bytes(data, rng)


def mutate_png(data, rng):
    return mutate_with(data, rng, [(0.15, patch_png_dims), (0.3, png_big_chunk)])


def patch_jpeg_dims(data, rng):
    data = bytearray(data)
    for i in range(2, len(data) - 9):
        if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC1, 0xC2):
            h, w = rng.choice([(40000, 40000), (65500, 65500), (1, 65500), (0, 0), (20000, 30000)])
            data[i + 5:i + 9] = struct.pack(">HH", h, w)
            break
    return bytes(data)


def corrupt_scan(data, rng):
    data = bytearray(data)
    sos = data.find(b"\xff\xda")
    if sos < 0:
        return bytes(data)
    at = rng.randrange(sos + 12, max(sos + 13, len(data) - 2))
    if rng.random() < 0.5:
        data[at:at + 2] = bytes([0xFF, rng.choice([0xD0, 0xD3, 0xD7, 0xD9, 0xC4])])
    else:
        for _ in range(8):
            data[rng.randrange(sos + 12, len(data) - 2)] = rng.randrange(256)
    return bytes(data)


def mutate_jpeg(data, rng):
    return mutate_with(data, rng, [(0.15, patch_jpeg_dims), (0.35, corrupt_scan)])


# ----------------------------------------------------------------------------------------------
# Case generation


def seed_files(pattern):
    found = []
    for folder in (IMAGES, SEEDS):
        if os.path.isdir(folder):
            found += [os.path.join(folder, n) for n in sorted(os.listdir(folder)) if re.search(pattern, n)]
    return found


def make_cases(area, count, rng, work, checkpoint):
    cases = []
    for i in range(count):
        cwd = os.path.join(work, f"{area}-{i}")
        os.makedirs(cwd)
        if area == "safetensors":
            data, sparse = mutate_safetensors(open(checkpoint, "rb").read(), rng)
            path = os.path.join(cwd, "checkpoint-00000002.safetensors")
            write(path, data, sparse)
            cases.append(Case(area, f"inspect mutant {i}", ["inspect", path], cwd))
        elif area == "config":
            data = mutate_config(open(checkpoint, "rb").read(), rng)
            run_dir = os.path.join(cwd, "run")
            os.makedirs(run_dir)
            path = os.path.join(run_dir, "checkpoint-00000002.safetensors")
            write(path, data)
            if rng.random() < 0.5:
                args = ["sample", "--checkpoint", path, "--count", "1", "--output", os.path.join(cwd, "s.png")]
            else:
                args = ["train", "--output", run_dir, "--resume", "--steps", "3"]
            cases.append(Case(area, f"config mutant {i}", args, cwd))
        elif area in ("png", "jpeg"):
            seeds = seed_files(r"\.png$" if area == "png" else r"\.jpe?g$")
            source = open(rng.choice(seeds), "rb").read()
            data = (mutate_png if area == "png" else mutate_jpeg)(source, rng)
            folder = os.path.join(cwd, "images")
            os.makedirs(folder)
            write(os.path.join(folder, "x." + ("png" if area == "png" else "jpg")), data)
            args = ["train", "--data", folder, "--image-size", "8", "--channels", "3", "--batch-size", "1", "--steps", "1",
                    "--output", os.path.join(cwd, "run")] + TINY
            cases.append(Case(area, f"{area} mutant {i}", args, cwd))
        elif area == "options":
            if rng.random() < 0.75:
                names = ["--dim", "--mults", "--attn-heads", "--attn-dim-head", "--timesteps", "--sampling-timesteps",
                         "--batch-size", "--grad-accum", "--image-size", "--channels", "--steps", "--lr", "--ema-decay",
                         "--ema-update-every", "--save-every", "--num-samples", "--sample-every", "--log-every",
                         "--keep-checkpoints", "--min-snr-gamma", "--offset-noise", "--max-grad-norm", "--lr-warmup",
                         "--adam-betas", "--full-attn", "--seed"]
                base = ["train", "--data", "digits", "--steps", "1", "--batch-size", "2", "--output", os.path.join(cwd, "run")] + TINY
                for _ in range(rng.randint(1, 2)):
                    base += [rng.choice(names), rng.choice(HOSTILE_VALUES)]
                cases.append(Case(area, f"train options {i}", base, cwd))
            else:
                names = ["--count", "--batch-size", "--steps", "--eta", "--seed", "--order", "--timestep-spacing", "--save-chain",
                         "--grid-size", "--sampler"]
                name, value = rng.choice(names), rng.choice(HOSTILE_VALUES)
                output = os.path.join(cwd, rng.choice(["s.png", "each"]))
                cases.append(Case(area, f"sample options {i}", ["sample", "--checkpoint", checkpoint, name, value,
                                                                "--output", output], cwd))
        elif area == "files":
            kind = rng.choice(["fifo-inspect", "fifo-sample", "fifo-resume", "fifo-image", "dir-checkpoint",
                               "sparse-image", "sparse-checkpoint", "fifo-config"])
            if kind.startswith("fifo"):
                path = os.path.join(cwd, {"fifo-image": "images/x.png", "fifo-config": "config.json"}.get(kind, "run/checkpoint-00000009.safetensors"))
                os.makedirs(os.path.dirname(path), exist_ok=True)
                os.mkfifo(path)
                args = {"fifo-inspect": ["inspect", path], "fifo-sample": ["sample", "--checkpoint", os.path.dirname(path)],
                        "fifo-resume": ["train", "--output", os.path.dirname(path), "--resume", "--steps", "3"] + TINY,
                        "fifo-image": ["train", "--data", os.path.dirname(path), "--steps", "1", "--batch-size", "1",
                                       "--output", os.path.join(cwd, "out")] + TINY,
                        "fifo-config": ["sample", "--weights", checkpoint, "--config", path]}[kind]
            elif kind == "dir-checkpoint":
                path = os.path.join(cwd, "checkpoint-00000001.safetensors")
                os.makedirs(path)
                args = ["inspect", path]
            elif kind == "sparse-image":
                os.makedirs(os.path.join(cwd, "images"))
                path = os.path.join(cwd, "images", "x.png")
                write(path, open(seed_files(r"\.png$")[0], "rb").read(), rng.choice([3 << 30, 1 << 40]))
                args = ["train", "--data", os.path.dirname(path), "--steps", "1", "--batch-size", "1",
                        "--output", os.path.join(cwd, "out")] + TINY
            else:
                path = os.path.join(cwd, "x.safetensors")
                write(path, open(checkpoint, "rb").read(), rng.choice([3 << 30, 1 << 40]))
                args = ["inspect", path]
            cases.append(Case(area, f"{kind} {i}", args, cwd))
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ddpm", required=True, help="the binary under test")
    parser.add_argument("--cases", type=int, default=200, help="cases per area (default 200)")
    parser.add_argument("--quick", action="store_true", help="a few cases per area (what make test runs)")
    parser.add_argument("--areas", default="safetensors,config,png,jpeg,options,files")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mem-mb", type=int, default=4096, help="RLIMIT_AS of each run (default 4096)")
    parser.add_argument("--blowup-mb", type=int, default=1024, help="peak RSS counted as a blow-up (default 1024)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds per run (default 30)")
    parser.add_argument("--json", help="write every case and the summary here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    binary = os.path.abspath(args.ddpm)
    per_area = 4 if args.quick else args.cases
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="ddpm-fuzz-")
    env = dict(os.environ, DDPM_CACHE_DIR=os.path.join(work, "cache"))
    try:
        seed_run = os.path.join(work, "seed-run")
        r = subprocess.run([binary, "train", "--data", "digits", "--steps", "2", "--batch-size", "2", "--output", seed_run] + TINY,
                           capture_output=True, text=True, env=env)
        if r.returncode != 0:
            sys.exit(f"fuzz: cannot make the seed checkpoint: {r.stderr}")
        checkpoint = os.path.join(seed_run, "checkpoint-00000002.safetensors")
        kinds = ["clean", "accepted", "long", "planned", "crash", "hang", "memory"]
        summary, records = {}, []
        for area in args.areas.split(","):
            counts = dict.fromkeys(kinds, 0)
            worst = (0, "")
            for case in make_cases(area, per_area, rng, work, checkpoint):
                code, sig, timed_out, progressing, rss, stderr, seconds = run(
                    binary, case.args, case.cwd, args.mem_mb << 20, args.timeout, env)
                kind = classify(code, sig, timed_out, progressing, rss, stderr, args.blowup_mb << 20)
                counts[kind] += 1
                if rss > worst[0]:
                    worst = (rss, case.label)
                lines = [l for l in stderr.strip().splitlines() if l.strip()]
                last = next((l for l in lines if "error" in l.lower()), lines[-1] if lines else "")
                records.append({"area": area, "case": case.label, "args": case.args, "kind": kind, "status": code,
                                "signal": sig, "peak_rss": rss, "seconds": round(seconds, 2), "stderr": last[:300]})
                if kind in ("crash", "hang", "memory"):
                    print(f"  {kind.upper()}: {area} {case.label}: status {code} signal {sig} rss {rss >> 20} MiB: {last[:200]}")
                shutil.rmtree(case.cwd, ignore_errors=True)
            summary[area] = dict(counts, cases=per_area, peak_rss_mb=worst[0] >> 20, worst_case=worst[1])
        print(f"{'area':<12} {'cases':>6} {'clean':>6} {'accepted':>8} {'long':>5} {'planned':>8} {'crash':>6} {'hang':>5} "
              f"{'memory':>7} {'peak MiB':>9}")
        for area, s in summary.items():
            print(f"{area:<12} {s['cases']:>6} {s['clean']:>6} {s['accepted']:>8} {s['long']:>5} {s['planned']:>8} {s['crash']:>6} "
                  f"{s['hang']:>5} {s['memory']:>7} {s['peak_rss_mb']:>9}  ({s['worst_case']})")
        bad = sum(s["crash"] + s["hang"] + s["memory"] for s in summary.values())
        print(f"fuzz: {sum(s['cases'] for s in summary.values())} cases, {bad} crashes/hangs/memory blow-ups")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"binary": binary, "seed": args.seed, "summary": summary, "cases": records}, f, indent=1)
        sys.exit(1 if bad else 0)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
