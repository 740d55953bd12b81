#!/usr/bin/env python3
"""Writes golden sampling chains for the samplers that the reference GaussianDiffusion does not
have, in the format of the reference make_golden.py (config.json, weights.safetensors,
io.safetensors with the tensors listed in config.json["tensors"]).

dpm-solver: diffusers' DPMSolverMultistepScheduler (algorithm_type "dpmsolver++") driven with the
  outputs of the reference Unet (denoising-diffusion-pytorch 2.3.4), one chain per entry of
  DPM_CHAINS: every objective, orders 1-3, the three timestep spacings, chains below and above the
  15 steps where lower_order_final stops applying. x̂₀ is clipped to [-1, 1] as the reference's
  samplers do, which in diffusers is thresholding=True with sample_max_value=1.0 (the dynamic
  threshold is clamped to exactly 1). Tensors: <chain>.x_T, <chain>.times (the scheduler's
  timesteps), <chain>.chain ([steps, B, C, H, W]: the sample after every step).
repaint: see make_repaint below.

usage: make_sampler_golden.py OUT_DIR     (writes OUT_DIR/dpm-solver and OUT_DIR/repaint)
Environment: torch, denoising-diffusion-pytorch==2.3.4, diffusers (0.42.1 here), safetensors.
"""
import json, os, sys
import torch
from safetensors.torch import save_file
from denoising_diffusion_pytorch import Unet, GaussianDiffusion
from diffusers import DPMSolverMultistepScheduler
import diffusers

UNET = dict(dim=8, dim_mults=[1, 2], channels=1, attn_heads=1, attn_dim_head=8)
IMAGE, BATCH = 8, 2
PREDICTION_TYPE = {"pred_noise": "epsilon", "pred_x0": "sample", "pred_v": "v_prediction"}
DPM_CHAINS = [
    dict(name="v-sigmoid-2m-linspace-6", diffusion=dict(timesteps=1000, objective="pred_v", beta_schedule="sigmoid"),
         sampler=dict(steps=6, order=2, spacing="linspace")),
    dict(name="eps-linear-2m-leading-16", diffusion=dict(timesteps=1000, objective="pred_noise", beta_schedule="linear"),
         sampler=dict(steps=16, order=2, spacing="leading")),
    dict(name="x0-cosine-3m-trailing-8", diffusion=dict(timesteps=1000, objective="pred_x0", beta_schedule="cosine"),
         sampler=dict(steps=8, order=3, spacing="trailing")),
    dict(name="eps-cosine-3m-linspace-16", diffusion=dict(timesteps=1000, objective="pred_noise", beta_schedule="cosine"),
         sampler=dict(steps=16, order=3, spacing="linspace")),
    dict(name="v-linear-1-trailing-5", diffusion=dict(timesteps=100, objective="pred_v", beta_schedule="linear"),
         sampler=dict(steps=5, order=1, spacing="trailing")),
]


def make_unet(seed):
    torch.manual_seed(seed)
    unet = Unet(**{k: tuple(v) if isinstance(v, list) else v for k, v in UNET.items()}, flash_attn=False)
    with torch.no_grad():  # move every parameter off its default init so that each one matters
        for name, p in unet.named_parameters():
            p.add_(0.05 * torch.randn_like(p)) if p.dim() > 1 else p.add_(0.1 * torch.randn_like(p))
    return unet.eval()


def write(out, unet, tensors, config):
    os.makedirs(out, exist_ok=True)
    tensors = {k: (v.contiguous() if v.dtype == torch.int64 else v.float().contiguous()) for k, v in tensors.items()}
    save_file({k: v.detach() for k, v in unet.state_dict().items()}, f"{out}/weights.safetensors")
    save_file(tensors, f"{out}/io.safetensors")
    config["tensors"] = {k: list(v.shape) for k, v in tensors.items()}
    json.dump(config, open(f"{out}/config.json", "w"), indent=1)


def make_dpm_solver(out):
    unet = make_unet(11)
    t = {}
    for c in DPM_CHAINS:
        diff = GaussianDiffusion(unet, image_size=IMAGE, **c["diffusion"])
        s = c["sampler"]
        scheduler = DPMSolverMultistepScheduler(
            num_train_timesteps=c["diffusion"]["timesteps"], trained_betas=diff.betas.numpy(), solver_order=s["order"],
            prediction_type=PREDICTION_TYPE[c["diffusion"]["objective"]], thresholding=True, sample_max_value=1.0,
            algorithm_type="dpmsolver++", solver_type="midpoint", lower_order_final=True, final_sigmas_type="zero",
            timestep_spacing=s["spacing"])
        scheduler.set_timesteps(s["steps"])
        x = torch.randn(BATCH, UNET["channels"], IMAGE, IMAGE)
        t[c["name"] + ".x_T"] = x.clone()
        chain = []
        with torch.no_grad():
            for time in scheduler.timesteps:
                out_ = unet(x, torch.full((BATCH,), int(time), dtype=torch.long))
                x = scheduler.step(out_, time, x).prev_sample
                chain.append(x.clone())
        t[c["name"] + ".times"] = scheduler.timesteps.clone().to(torch.int64)
        t[c["name"] + ".chain"] = torch.stack(chain)
    write(out, unet, t, dict(unet=UNET, image_size=IMAGE, batch=BATCH, chains=DPM_CHAINS,
                             reference=f"diffusers {diffusers.__version__} DPMSolverMultistepScheduler, "
                                       f"denoising-diffusion-pytorch 2.3.4 Unet, torch {torch.__version__}"))
    print(f"dpm-solver: {len(DPM_CHAINS)} chains")


if __name__ == "__main__":
    make_dpm_solver(os.path.join(sys.argv[1], "dpm-solver"))
