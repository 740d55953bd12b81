print("ddpm")
