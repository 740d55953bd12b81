import Devices

/// Host side of `resample.cl`: pixel (un)shuffle and nearest upsampling.
extension OpenCLQueue {
    static let resampleFile = "resample.cl"

    /// Launches `function` over the small side's rows, eight columns per work item; operands are
    /// `(input, output)`.
    func resample(_ function: String, _ r: Resample, _ input: BufferSlice, _ output: BufferSlice,
                  family: String) throws {
        let (h, w) = (r.height / r.factor, r.width / r.factor)
        try dispatch(Self.resampleFile, function, family: family, global: [(w + 7) / 8, h, r.batch * r.channels]) { args in
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
