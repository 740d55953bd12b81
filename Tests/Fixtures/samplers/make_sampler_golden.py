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
repaint: the reference's repaint.py GaussianDiffusion (denoising-diffusion-pytorch 2.3.4) inpainting
  with every torch.randn / randn_like draw recorded, one chain per entry of REPAINT_CHAINS. The
  loop of its p_sample_loop is replayed here step by step (calling its own p_sample) so that each
  step's draws can be filed under the step: <chain>.noise is [steps, 3, B, C, H, W] with z1 (the
  known region's noise), z2 (the step's noise, zeros at t = 0 where none is drawn) and z3 (the
  re-noising draw after the step, zeros where it does not jump back); the replay is checked
  against the reference's own p_sample_loop fed the same draws. Tensors: <chain>.x_T,
  <chain>.known (in [0, 1], as the reference takes gt), <chain>.mask (1 = known), <chain>.noise,
  <chain>.times (the timestep of every step), <chain>.out (unnormalised to [0, 1]).

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


REPAINT_CHAINS = [
    dict(name="eps-cosine-30", diffusion=dict(timesteps=30, objective="pred_noise", beta_schedule="cosine"),
         sampler=dict(resample_iter=2, resample_jump=3, resample_every=10)),
    dict(name="v-sigmoid-25", diffusion=dict(timesteps=25, objective="pred_v", beta_schedule="sigmoid"),
         sampler=dict(resample_iter=1, resample_jump=4, resample_every=8)),
]


def make_repaint(out):
    from denoising_diffusion_pytorch import repaint
    unet = make_unet(12)
    t = {}
    real_randn, real_like = torch.randn, torch.randn_like
    for c in REPAINT_CHAINS:
        diff = repaint.GaussianDiffusion(unet, image_size=IMAGE, **c["diffusion"])
        s, T = c["sampler"], c["diffusion"]["timesteps"]
        shape = (BATCH, UNET["channels"], IMAGE, IMAGE)
        known = torch.rand(shape)
        mask = torch.zeros(shape)
        mask[:, :, :, : IMAGE // 2] = 1       # the left half is known
        mask[1, :, IMAGE // 2:, :] = 1        # and, in the second image, the bottom half too
        draws = []
        def rec_randn(*a, **kw):
            z = real_randn(*a); draws.append(z.clone()); return z
        def rec_like(x, **kw):
            z = real_randn(x.shape); draws.append(z.clone()); return z
        steps, noise = [], []                 # per step: its timestep and [z1, z2, z3]
        zero = torch.zeros(shape)
        def step(img, time, x_start, self_cond):
            before = len(draws)
            img, x_start = diff.p_sample(x=img, t=time, x_self_cond=self_cond, gt=known, mask=mask)
            new = draws[before:]
            assert len(new) == (2 if time > 0 else 1)
            steps.append(time)
            noise.append([new[0], new[1] if time > 0 else zero, zero])
            return img, x_start
        torch.randn, torch.randn_like = rec_randn, rec_like
        try:
            with torch.no_grad():
                img = torch.randn(shape)
                x_T, x_start = img.clone(), None
                # p_sample_loop of repaint.py, step by step.
                for time in reversed(range(0, T)):
                    img, x_start = step(img, time, x_start, x_start if diff.self_condition else None)
                    if time > 0 and (time % s["resample_every"] == 0 or time == 1):
                        for _ in range(s["resample_iter"]):
                            jump = s["resample_jump"]
                            beta = diff.betas[jump]
                            before = len(draws)
                            img = torch.sqrt(1 - beta) * img + torch.sqrt(beta) * torch.randn_like(img)
                            noise[-1][2] = draws[before]
                            for _ in reversed(range(0, jump)):
                                img, x_start = step(img, jump, x_start, None)
                replay = diff.unnormalize(img)
                # The reference's own loop, fed the same draws in the same order.
                queue = list(draws)
                torch.randn = lambda *a, **kw: queue.pop(0)
                torch.randn_like = lambda x, **kw: queue.pop(0)
                reference = diff.p_sample_loop(shape, gt=known, mask=mask, resample=True, resample_iter=s["resample_iter"],
                                               resample_jump=s["resample_jump"], resample_every=s["resample_every"])
                assert not queue and torch.equal(reference, replay), "the replay differs from repaint.py's p_sample_loop"
        finally:
            torch.randn, torch.randn_like = real_randn, real_like
        name = c["name"]
        t[name + ".x_T"], t[name + ".known"], t[name + ".mask"] = x_T, known, mask
        t[name + ".noise"] = torch.stack([torch.stack(z) for z in noise])
        t[name + ".times"] = torch.tensor(steps, dtype=torch.int64)
        t[name + ".out"] = replay
        print(f"repaint {name}: {len(steps)} steps")
    write(out, unet, t, dict(unet=UNET, image_size=IMAGE, batch=BATCH, chains=REPAINT_CHAINS,
                             reference=f"denoising-diffusion-pytorch 2.3.4 repaint.py, torch {torch.__version__}"))


if __name__ == "__main__":
    make_dpm_solver(os.path.join(sys.argv[1], "dpm-solver"))
    make_repaint(os.path.join(sys.argv[1], "repaint"))
