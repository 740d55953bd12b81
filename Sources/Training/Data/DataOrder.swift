/// The order in which training sees the images, as a pure function of the seed: an endless
/// stream made of one shuffled pass (epoch) after another, each epoch its own permutation, and
/// for each position of the stream whether the image is mirrored.
///
/// Being stateless, it needs nothing in a checkpoint but the seed and the stream position: a
/// resumed run sees exactly the images an uninterrupted run would have seen. Batches may span
/// two epochs; no image is ever dropped.
public struct DataOrder: Sendable {
    public let seed: UInt64
    public let count: Int
    /// Mirror images left-right with probability ½.
    public let flips: Bool

    public init(seed: UInt64, count: Int, flips: Bool) {
        precondition(count >= 1, "a data order needs at least one image")
        self.seed = seed
        self.count = count
        self.flips = flips
    }

    /// The permutation of epoch `epoch` (Fisher–Yates with SplitMix64 seeded from the seed and epoch).
    public func permutation(epoch: Int) -> [Int] {
        var rng = SplitMix64(seed: SplitMix64.mix(seed, 0x4F52_4445_52, UInt64(epoch)))
        var p = Array(0..<count)
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) { p.swapAt(i, rng.below(i + 1)) }
        }
        return p
    }

    /// Whether the image at stream position `position` is mirrored.
    public func isFlipped(position: Int) -> Bool {
        flips && SplitMix64.mix(seed, 0x464C_4950, UInt64(position)) & 1 == 1
    }
}

/// One batch of the stream: `[N, C, H, W]` values in [0, 1], followed, for a class-conditional
/// model, by the N class labels as floats (the packed input of
/// ``Diffusion/ClassLabels/packedAfterImages``: one upload per step).
public struct Batch: Sendable {
    /// The batch's index in the stream (batch `i` holds positions `i·N ..< (i+1)·N`).
    public let index: Int
    public let values: [Float]
}

extension DataOrder {
    /// The batch starting at stream position `batch · size`, assembled from `dataset`.
    ///
    /// `cache` keeps the permutations of the last two epochs between calls.
    /// With `labels`, the batch's class labels follow its images.
    func assemble(batch: Int, size: Int, from dataset: ImageDataset, labels: Bool = false, cache: inout [Int: [Int]]) throws -> Batch {
        let plane = dataset.height * dataset.width
        let sampleCount = dataset.channels * plane
        var values = [Float](repeating: 0, count: size * sampleCount + (labels ? size : 0))
        for j in 0..<size {
            let position = batch * size + j
            let epoch = position / count
            if cache[epoch] == nil {
                if cache.count >= 2 { cache.removeValue(forKey: cache.keys.min()!) }
                cache[epoch] = permutation(epoch: epoch)
            }
            let index = cache[epoch]![position % count]
            let image = try dataset.image(at: index)
            if labels { values[size * sampleCount + j] = Float(dataset.label(at: index)) }
            let flip = isFlipped(position: position)
            let (w, c) = (dataset.width, dataset.channels)
            image.pixels.withUnsafeBufferPointer { px in
                values.withUnsafeMutableBufferPointer { out in
                    let base = j * sampleCount
                    for y in 0..<dataset.height {
                        for x in 0..<w {
                            let sx = flip ? w - 1 - x : x
                            let src = (y * w + sx) * c
                            for k in 0..<c { out[base + k * plane + y * w + x] = Float(px[src + k]) / 255 }
                        }
                    }
                }
            }
        }
        return Batch(index: batch, values: values)
    }
}
