// placeholder; replaced by the Graph implementation
