#!/usr/bin/env python3
"""Writes extra golden cases in the format of the reference make_golden.py (config.json,
weights.safetensors, io.safetensors), for options the shipped cases do not reach: per-stage
attention tuples, init_dim, a non-default sinusoidal theta, non-square images, dropout (evaluation mode), pred_x0 and
pred_v, min-SNR loss weights, DDIM with eta > 0 (its later noise draws are zeros, as in
make_golden.py), the shortest linear schedule and self-conditioning (its coin fixed to "condition").

usage: make_extra_golden.py CASE OUT_DIR      (same environment as make_golden.py)
"""
import json, sys, os
import torch
from safetensors.torch import save_file
from denoising_diffusion_pytorch import Unet, GaussianDiffusion
from denoising_diffusion_pytorch import denoising_diffusion_pytorch as ddp

CASES = {
    "stages-nonsquare": dict(
        unet=dict(dim=8, init_dim=12, dim_mults=[1, 2, 2], channels=2, attn_heads=[1, 2, 1], attn_dim_head=[8, 4, 8],
                  full_attn=[True, False, True], sinusoidal_pos_emb_theta=100, dropout=0.1),
        image_size=[8, 16], batch=2, seed=3,
        diffusion=dict(timesteps=100, sampling_timesteps=7, objective="pred_x0", beta_schedule="cosine",
                       ddim_sampling_eta=0.5, min_snr_loss_weight=True, min_snr_gamma=3),
        ddpm=dict(timesteps=21, objective="pred_v", beta_schedule="linear"),
    ),
    "full-attn-minsnr": dict(
        unet=dict(dim=8, dim_mults=[1, 2], channels=3, attn_heads=2, attn_dim_head=4, full_attn=True),
        image_size=[12, 4], batch=3, seed=4,
        diffusion=dict(timesteps=1000, sampling_timesteps=3, objective="pred_v", beta_schedule="sigmoid",
                       min_snr_loss_weight=True),
        ddpm=dict(timesteps=12, objective="pred_noise", beta_schedule="sigmoid"),
    ),
    "selfcond": dict(
        unet=dict(dim=8, dim_mults=[1, 2], channels=1, self_condition=True, attn_heads=1, attn_dim_head=8),
        image_size=[8, 8], batch=2, seed=5,
        diffusion=dict(timesteps=50, sampling_timesteps=4, objective="pred_noise", beta_schedule="linear"),
        ddpm=dict(timesteps=30, objective="pred_x0", beta_schedule="cosine"),
        self_condition_draw=0.25,
    ),
}


def patched_randn(first):
    calls = {"n": 0}
    real_randn, real_like = torch.randn, torch.randn_like
    def randn(*shape, **kw):
        calls["n"] += 1
        return first.clone() if calls["n"] == 1 else torch.zeros(*shape)
    def randn_like(x, **kw):
        return torch.zeros_like(x)
    return randn, randn_like, real_randn, real_like


def main(case, out):
    c = CASES[case]
    torch.manual_seed(c["seed"])
    os.makedirs(out, exist_ok=True)
    unet = Unet(**{k: tuple(v) if isinstance(v, list) else v for k, v in c["unet"].items()}, flash_attn=False)
    with torch.no_grad():
        for name, p in unet.named_parameters():
            p.add_(0.05 * torch.randn_like(p)) if p.dim() > 1 else p.add_(0.1 * torch.randn_like(p))
    unet.eval()
    B, C = c["batch"], c["unet"]["channels"]
    H, W = c["image_size"]
    size = (H, W)
    diff = GaussianDiffusion(unet, image_size=size, **c["diffusion"])
    T = c["diffusion"]["timesteps"]
    t = {}

    x = torch.randn(B, C, H, W)
    ts = torch.randint(0, T, (B,))
    with torch.no_grad():
        t["unet.x"], t["unet.t"], t["unet.out"] = x, ts, unet(x, ts)

    x_start = torch.rand(B, C, H, W)
    lt = torch.randint(0, T, (B,))
    noise = torch.randn(B, C, H, W)
    # The self-conditioning coin is Python's random() < 0.5; fix the draw so the case is reproducible.
    real_random = ddp.random
    ddp.random = lambda: c.get("self_condition_draw", real_random())
    try:
        loss = diff.p_losses(diff.normalize(x_start), lt, noise=noise)
    finally:
        ddp.random = real_random
    loss.backward()
    t["loss.x_start"], t["loss.t"], t["loss.noise"], t["loss.value"] = x_start, lt, noise, loss.detach().reshape(1)
    for name, p in unet.named_parameters():
        t["grad." + name] = p.grad.detach().clone()
    unet.zero_grad()

    for name in ["linear", "cosine", "sigmoid"]:
        t[f"schedule.{name}.betas"] = getattr(ddp, f"{name}_beta_schedule")(T).float()
    t["schedule.alphas_cumprod"] = diff.alphas_cumprod.float()

    xT = torch.randn(B, C, H, W)
    r, rl, real_r, real_rl = patched_randn(xT)
    torch.randn, torch.randn_like = r, rl
    try:
        with torch.no_grad():
            t["ddim.x_T"], t["ddim.out"] = xT, diff.ddim_sample((B, C, H, W))
    finally:
        torch.randn, torch.randn_like = real_r, real_rl

    d2 = GaussianDiffusion(unet, image_size=size, sampling_timesteps=c["ddpm"]["timesteps"], **c["ddpm"])
    draws = []
    def rec_randn(*shape, **kw):
        z = real_r(*shape); draws.append(z.clone()); return z
    def rec_like(x, **kw):
        z = real_r(x.shape); draws.append(z.clone()); return z
    torch.randn, torch.randn_like = rec_randn, rec_like
    try:
        with torch.no_grad():
            ddpm_out = d2.p_sample_loop((B, C, H, W))
    finally:
        torch.randn, torch.randn_like = real_r, real_rl
    t["ddpm.x_T"] = draws[0]
    t["ddpm.noise"] = torch.stack(draws[1:])
    t["ddpm.out"] = ddpm_out

    t = {k: (v.contiguous() if v.dtype == torch.int64 else v.float().contiguous()) for k, v in t.items()}
    save_file({k: v.detach() for k, v in unet.state_dict().items()}, f"{out}/weights.safetensors")
    save_file(t, f"{out}/io.safetensors")
    cfg = {k: c[k] for k in ["unet", "image_size", "batch", "diffusion", "ddpm"]}
    cfg["reference"] = f"denoising-diffusion-pytorch 2.3.4, torch {torch.__version__}"
    cfg["tensors"] = {k: list(v.shape) for k, v in t.items()}
    json.dump(cfg, open(f"{out}/config.json", "w"), indent=1)
    print(f"{case}: {len(t)} tensors, unet params {sum(p.numel() for p in unet.parameters())}, loss {loss.item():.6f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
