import Devices

/// Reference 2-D convolution (stride 1, zero padding) as direct loops with Double accumulators.
///
/// Deliberately no im2col: the fast path lowers convolutions to GEMMs over column buffers, and
/// the oracle must not share that code.
extension CPUReference {
    /// `y[n, co, oh, ow] = Σ_{ci, kh, kw} x[n, ci, oh + kh − ph, ow + kw − pw] · w[co, ci, kh, kw] (+ bias[co])`.
    func conv2d(_ c: Conv2d, x: Pointer, w: Pointer, y: Pointer, bias: Pointer?) {
        let (oh, ow) = (c.outHeight, c.outWidth)
        for n in 0..<c.batch {
            for co in 0..<c.outChannels {
                for i in 0..<oh {
                    for j in 0..<ow {
                        var sum = bias.map { Double($0[co]) } ?? 0
                        for ci in 0..<c.inChannels {
                            for kh in 0..<c.kernelHeight {
                                let h = i + kh - c.padHeight
                                if h < 0 || h >= c.height { continue }
                                for kw in 0..<c.kernelWidth {
                                    let v = j + kw - c.padWidth
                                    if v < 0 || v >= c.width { continue }
                                    let xv = x[((n * c.inChannels + ci) * c.height + h) * c.width + v]
                                    let wv = w[((co * c.inChannels + ci) * c.kernelHeight + kh) * c.kernelWidth + kw]
                                    sum += Double(xv) * Double(wv)
                                }
                            }
                        }
                        y[((n * c.outChannels + co) * oh + i) * ow + j] = Float(sum)
                    }
                }
            }
        }
    }

    /// `dx[n, ci, h, v] = Σ_{co, kh, kw} dy[n, co, h − kh + ph, v − kw + pw] · w[co, ci, kh, kw]`
    /// over output positions inside the image.
    func conv2dBackwardData(_ c: Conv2d, dy: Pointer, w: Pointer, dx: Pointer) {
        let (oh, ow) = (c.outHeight, c.outWidth)
        for n in 0..<c.batch {
            for ci in 0..<c.inChannels {
                for h in 0..<c.height {
                    for v in 0..<c.width {
                        var sum = 0.0
                        for co in 0..<c.outChannels {
                            for kh in 0..<c.kernelHeight {
                                let i = h - kh + c.padHeight
                                if i < 0 || i >= oh { continue }
                                for kw in 0..<c.kernelWidth {
                                    let j = v - kw + c.padWidth
                                    if j < 0 || j >= ow { continue }
                                    let g = dy[((n * c.outChannels + co) * oh + i) * ow + j]
                                    let wv = w[((co * c.inChannels + ci) * c.kernelHeight + kh) * c.kernelWidth + kw]
                                    sum += Double(g) * Double(wv)
                                }
                            }
                        }
                        dx[((n * c.inChannels + ci) * c.height + h) * c.width + v] = Float(sum)
                    }
                }
            }
        }
    }

    /// `dw[co, ci, kh, kw] = Σ_{n, oh, ow} dy[n, co, oh, ow] · x[n, ci, oh + kh − ph, ow + kw − pw]`,
    /// `dbias[co] = Σ_{n, oh, ow} dy[n, co, oh, ow]`.
    func conv2dBackwardWeight(_ c: Conv2d, x: Pointer, dy: Pointer, dw: Pointer, dbias: Pointer?) {
        let (oh, ow) = (c.outHeight, c.outWidth)
        for co in 0..<c.outChannels {
            for ci in 0..<c.inChannels {
                for kh in 0..<c.kernelHeight {
                    for kw in 0..<c.kernelWidth {
                        var sum = 0.0
                        for n in 0..<c.batch {
                            for i in 0..<oh {
                                let h = i + kh - c.padHeight
                                if h < 0 || h >= c.height { continue }
                                for j in 0..<ow {
                                    let v = j + kw - c.padWidth
                                    if v < 0 || v >= c.width { continue }
                                    let g = dy[((n * c.outChannels + co) * oh + i) * ow + j]
                                    let xv = x[((n * c.inChannels + ci) * c.height + h) * c.width + v]
                                    sum += Double(g) * Double(xv)
                                }
                            }
                        }
                        dw[((co * c.inChannels + ci) * c.kernelHeight + kh) * c.kernelWidth + kw] = Float(sum)
                    }
                }
            }
            if let dbias {
                var sum = 0.0
                for n in 0..<c.batch {
                    for p in 0..<(oh * ow) { sum += Double(dy[(n * c.outChannels + co) * oh * ow + p]) }
                }
                dbias[co] = Float(sum)
            }
        }
    }
}
