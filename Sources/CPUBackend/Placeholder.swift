// placeholder; replaced by the CPUBackend implementation
