// placeholder; replaced by the Conformance implementation
