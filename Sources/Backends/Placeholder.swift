// placeholder; replaced by the Backends implementation
