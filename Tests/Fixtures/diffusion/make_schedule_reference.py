#!/usr/bin/env python3
"""Writes schedules.safetensors: the float32 buffers of the reference GaussianDiffusion
(denoising-diffusion-pytorch 2.3.4, torch 2.13) for several schedules, timesteps and objectives,
the DDIM time lists and the DDIM step coefficients, so the Swift tests compare the host-side
schedule math with PyTorch's own values.

usage: make_schedule_reference.py OUT.safetensors    (same environment as make_golden.py)
"""
import sys, torch
from safetensors.torch import save_file
from denoising_diffusion_pytorch import Unet, GaussianDiffusion

BUFFERS = ["betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
           "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
           "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2"]
unet = Unet(dim=4, dim_mults=(1,), channels=1, attn_heads=1, attn_dim_head=4)
out = {}
SCHEDULES = [("linear", {}), ("cosine", {}), ("sigmoid", {}), ("cosine", {"s": 0.02}),
             ("sigmoid", {"start": -2, "end": 4, "tau": 0.7})]
for name, kwargs in SCHEDULES:
    tag = name + "".join(f",{k}={v}" for k, v in kwargs.items())
    for T in [1000, 50, 21, 10, 1]:
        if name == "linear" and T < 21 and T != 1:
            continue   # beta reaches 1: the reference builds NaN buffers, the port refuses
        for objective in ["pred_noise", "pred_x0", "pred_v"]:
            for min_snr in [False, True]:
                d = GaussianDiffusion(unet, image_size=4, timesteps=T, beta_schedule=name, schedule_fn_kwargs=kwargs,
                                      objective=objective, min_snr_loss_weight=min_snr, min_snr_gamma=5)
                if objective == "pred_noise" and not min_snr:
                    for b in BUFFERS:
                        out[f"{tag}/{T}/{b}"] = getattr(d, b).clone()
                out[f"{tag}/{T}/loss_weight/{objective}/{'minsnr5' if min_snr else 'plain'}"] = d.loss_weight.clone()

# DDIM time lists, as ddim_sample builds them.
for T, S in [(1000, s) for s in [1, 2, 3, 7, 10, 26, 30, 33, 60, 70, 100, 120, 250, 333, 999, 1000]] + [(50, 3), (50, 7), (50, 49), (10, 3), (7, 5)]:
    times = torch.linspace(-1, T - 1, steps=S + 1)
    out[f"ddim_times/{T}/{S}"] = torch.tensor(list(reversed(times.int().tolist())), dtype=torch.int64)

# DDIM step coefficients (sqrt(alpha_next), c, sigma) for eta 0.5 on a sigmoid T=1000 chain of 33 steps.
d = GaussianDiffusion(unet, image_size=4, timesteps=1000, beta_schedule="sigmoid", sampling_timesteps=33, ddim_sampling_eta=0.5)
times = list(reversed(torch.linspace(-1, 999, steps=34).int().tolist()))
rows = []
for time, time_next in zip(times[:-1], times[1:]):
    if time_next < 0:
        continue
    alpha, alpha_next = d.alphas_cumprod[time], d.alphas_cumprod[time_next]
    sigma = d.ddim_sampling_eta * ((1 - alpha / alpha_next) * (1 - alpha_next) / (1 - alpha)).sqrt()
    c = (1 - alpha_next - sigma ** 2).sqrt()
    rows.append(torch.stack([alpha_next.sqrt(), c, sigma]))
out["ddim_coefficients/sigmoid/1000/33/eta0.5"] = torch.stack(rows)

save_file({k: v.contiguous() for k, v in out.items()}, sys.argv[1])
print(len(out), "tensors")
