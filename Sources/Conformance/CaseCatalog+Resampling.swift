import Devices

extension CaseCatalog {
    static func resamplingCases() -> [KernelCase] {
        let shapes: [(Resample, Bool)] = [
            (Resample(batch: 1, channels: 1, height: 2, width: 2), false),
            (Resample(batch: 2, channels: 3, height: 4, width: 6), false),
            (Resample(batch: 1, channels: 2, height: 6, width: 9, factor: 3), false),
            (Resample(batch: 1, channels: 3, height: 5, width: 7, factor: 1), false),
            (Resample(batch: 2, channels: 5, height: 8, width: 8, factor: 4), false),
            (Resample(batch: 0, channels: 3, height: 4, width: 4), false),
            // Rows of 10 small-side columns: one 8-column vector block and a 2-column tail.
            (Resample(batch: 2, channels: 3, height: 6, width: 20), false),
            // Unet(dim 32) downsample of the first stage, at batch 2 and at batch 16.
            (Resample(batch: 2, channels: 32, height: 32, width: 32), false),
            (Resample(batch: 16, channels: 64, height: 32, width: 32), true),
        ]
        var cases: [KernelCase] = []
        for (shape, heavy) in shapes {
            cases.append(KernelCase(.pixelUnshuffle(shape), heavy: heavy))
            cases.append(KernelCase(.pixelShuffle(shape), heavy: heavy))
            cases.append(KernelCase(.upsampleNearest(shape), heavy: heavy))
            cases.append(KernelCase(.upsampleNearestBackward(shape), heavy: heavy))
        }
        return cases
    }
}
