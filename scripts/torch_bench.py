#!/usr/bin/env python3
# Copied from the project's shared reference material, with a sampling mode added (--sample-images)
# (reference/torch_bench.py): PyTorch + lucidrains' denoising-diffusion-pytorch 2.3.4 (MIT).
# `scripts/bench.sh` (`make bench`) runs it against `ddpm bench`.
"""Times the reference implementation (PyTorch CPU + denoising-diffusion-pytorch 2.3.4) on the
same work as `ddpm bench`: one training step (forward, loss, backward, Adam) and one Unet forward
pass, for a Unet config, image size and batch. Prints one JSON line.

Set up once (CPU-only wheels, about 200 MB):
  python3 -m venv .venv-ref
  .venv-ref/bin/pip install "torch==2.13.0+cpu" safetensors einops ema-pytorch accelerate tqdm pillow scipy
  .venv-ref/bin/pip install --no-deps denoising-diffusion-pytorch==2.3.4 pytorch-fid
  # the package imports torchvision but the Unet does not use it; an empty stand-in module is enough:
  mkdir -p .venv-ref/lib/python3.11/site-packages/torchvision &&
  printf 'import types, sys\nfor n in ["transforms","utils","models","datasets"]:\n    m = types.ModuleType("torchvision." + n); sys.modules[m.__name__] = m; globals()[n] = m\n' \
    > .venv-ref/lib/python3.11/site-packages/torchvision/__init__.py

usage: torch_bench.py --dim 32 --mults 1,2,4 --image-size 32 --batch 16 [--steps 5] [--threads N]
       torch_bench.py --dim 32 --mults 1,2,4 --image-size 32 --sample-images 64 [--sample-steps 25] [--sample-runs 1]
"""
import argparse, json, time
import torch
from denoising_diffusion_pytorch import Unet, GaussianDiffusion

p = argparse.ArgumentParser()
p.add_argument("--dim", type=int, default=32)
p.add_argument("--mults", default="1,2,4")
p.add_argument("--image-size", type=int, default=32)
p.add_argument("--channels", type=int, default=3)
p.add_argument("--batch", type=int, default=16)
p.add_argument("--steps", type=int, default=5)
p.add_argument("--threads", type=int, default=0)
# Sampling mode (added for issue 20): time whole DDIM chains instead of the training step.
p.add_argument("--sample-images", type=int, default=0,
               help="time GaussianDiffusion(..., sampling_timesteps=S).sample(batch_size=N) instead (0: training bench)")
p.add_argument("--sample-steps", type=int, default=25)
p.add_argument("--sample-runs", type=int, default=1)
a = p.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)
torch.manual_seed(0)
mults = tuple(int(m) for m in a.mults.split(","))
unet = Unet(dim=a.dim, dim_mults=mults, channels=a.channels, flash_attn=False)
diffusion = GaussianDiffusion(unet, image_size=a.image_size, timesteps=1000)
opt = torch.optim.Adam(diffusion.parameters(), lr=1e-4, betas=(0.9, 0.99))
x = torch.rand(a.batch, a.channels, a.image_size, a.image_size)

if a.sample_images:
    # The reference's own sampler: DDIM (ddim_sampling_eta 0) over sampling_timesteps steps, all
    # images in one batch; one unmeasured chain first, as `ddpm bench --sample-images` does.
    import resource, statistics
    sampler = GaussianDiffusion(unet, image_size=a.image_size, timesteps=1000, sampling_timesteps=a.sample_steps)
    sampler.eval()
    sampler.sample(batch_size=a.sample_images)
    times = []
    cpu0 = time.process_time()
    for _ in range(a.sample_runs):
        t0 = time.perf_counter()
        images = sampler.sample(batch_size=a.sample_images)
        times.append(time.perf_counter() - t0)
    assert torch.isfinite(images).all()
    print(json.dumps({
        "impl": f"pytorch {torch.__version__} + denoising-diffusion-pytorch 2.3.4",
        "threads": torch.get_num_threads(), "dim": a.dim, "mults": list(mults),
        "image_size": a.image_size, "channels": a.channels, "sample_images": a.sample_images,
        "sample_steps": a.sample_steps, "sample_runs": a.sample_runs, "sampler": "ddim", "eta": 0,
        "sample_s": round(statistics.median(times), 5), "sample_times_s": [round(t, 5) for t in times],
        "sample_cpu_s": round((time.process_time() - cpu0) / a.sample_runs, 5),
    }))
    raise SystemExit(0)

def train_step():
    loss = diffusion(x)
    loss.backward()
    opt.step()
    opt.zero_grad()

for _ in range(2):
    train_step()
t0 = time.perf_counter()
for _ in range(a.steps):
    train_step()
train_s = (time.perf_counter() - t0) / a.steps

with torch.no_grad():
    times = torch.full((a.batch,), 500, dtype=torch.long)
    unet(x, times)
    t0 = time.perf_counter()
    for _ in range(a.steps):
        unet(x, times)
    forward_s = (time.perf_counter() - t0) / a.steps

print(json.dumps({
    "impl": f"pytorch {torch.__version__} + denoising-diffusion-pytorch 2.3.4",
    "threads": torch.get_num_threads(), "dim": a.dim, "mults": list(mults),
    "image_size": a.image_size, "channels": a.channels, "batch": a.batch,
    "params": sum(q.numel() for q in unet.parameters()),
    "train_step_s": round(train_s, 5), "forward_s": round(forward_s, 5),
    "train_images_per_s": round(a.batch / train_s, 2),
}))
