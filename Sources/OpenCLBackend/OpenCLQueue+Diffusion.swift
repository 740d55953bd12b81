import Devices
import Foundation

/// Host side of `diffusion.cl`: the sinusoidal timestep embedding and the coefficient gather.
extension OpenCLQueue {
    static let diffusionFile = "diffusion.cl"

    func timestepEmbedding(count: Int, dim: Int, theta: Float, t: BufferSlice, out: BufferSlice,
                           family: String) throws {
        let half = dim / 2
        // The reference computes ln θ / (half − 1) in Python double precision, then rounds to float.
        let negLogStep = Float(-Foundation.log(Double(theta)) / Double(half - 1))
        try dispatch(Self.diffusionFile, "timestep_embedding", family: family, global: [count * half]) { args in
            try args.tensor(t)
            try args.tensor(out)
            try args.int(count)
            try args.int(half)
            try args.float(negLogStep)
        }
    }

    func gather(rows: Int, width: Int, tableRows: Int, table: BufferSlice, index: BufferSlice, out: BufferSlice,
                family: String) throws {
        try dispatch(Self.diffusionFile, "gather_rows", family: family, global: [rows * width]) { args in
            try args.tensor(table)
            try args.tensor(index)
            try args.tensor(out)
            try args.int(rows)
            try args.int(width)
            try args.int(tableRows)
        }
    }
}
