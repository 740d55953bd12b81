import Devices

/// Host side of `resample.cl`: pixel (un)shuffle and nearest upsampling, one item per output.
extension OpenCLQueue {
    static let resampleFile = "resample.cl"

    /// Launches `function` over `outputCount` items; operands are `(input, output)`.
    func resample(_ function: String, _ r: Resample, outputCount: Int, _ input: BufferSlice, _ output: BufferSlice,
                  family: String) throws {
        try dispatch(Self.resampleFile, function, family: family, global: [outputCount]) { args in
            try args.tensor(input)
            try args.tensor(output)
            try args.int(r.batch)
            try args.int(r.channels)
            try args.int(r.height)
            try args.int(r.width)
            try args.int(r.factor)
        }
    }
}
