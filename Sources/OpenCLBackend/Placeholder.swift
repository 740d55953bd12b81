// placeholder; replaced by the OpenCLBackend implementation
