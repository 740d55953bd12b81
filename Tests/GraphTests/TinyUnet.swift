import Devices
import Graph

/// A miniature of the reference Unet and its diffusion loss, built with the public builder API:
/// every block kind of the real model (ResnetBlock with time FiLM, RMSNorm, linear attention and
/// full attention with memory key/values, space-to-depth downsample, nearest upsample, skip
/// concatenation), timesteps and noise drawn on the device, coefficients gathered per timestep.
struct TinyUnet {
    var batch = 2
    var channels = 3
    var size = 8
    var dim = 8
    var timesteps = 50
    var heads = 2
    var dimHead = 4

    var imageCount: Int { batch * channels * size * size }

    /// Builds the training loss graph; returns the builder and the scalar loss.
    func buildLoss() throws -> (GraphBuilder, Tensor) {
        let g = GraphBuilder()
        let image = try g.input("image", [batch, channels, size, size])
        let x0 = try g.affine(image, scale: 2, shift: -1)
        let t = try g.randomIntegers([batch], low: 0, high: Int32(timesteps))
        let noise = try g.randomNormal([batch, channels, size, size])
        // Linear schedule: columns √ᾱ, √(1−ᾱ).
        var table: [Float] = []
        var alphaBar = 1.0
        for i in 0..<timesteps {
            let beta = 1e-4 + (0.02 - 1e-4) * Double(i) / Double(timesteps - 1)
            alphaBar *= 1 - beta
            table += [Float(alphaBar.squareRoot()), Float((1 - alphaBar).squareRoot())]
        }
        let coefficients = try g.gather(g.constant(table, shape: [timesteps, 2]), t)
        let a = try g.reshape(g.slice(coefficients, axis: 1, start: 0, length: 1), [batch, 1, 1, 1])
        let b = try g.reshape(g.slice(coefficients, axis: 1, start: 1, length: 1), [batch, 1, 1, 1])
        let xt = try g.add(g.mul(a, x0), g.mul(b, noise))
        let prediction = try model(g, xt, g.indexToFloat(t, bound: timesteps))
        let weights = try g.reshape(g.gather(g.constant([Float](repeating: 1, count: timesteps), shape: [timesteps, 1]), t), [batch])
        return (g, try g.mseLoss(prediction, noise, weights: weights))
    }

    func model(_ g: GraphBuilder, _ x: Tensor, _ time: Tensor) throws -> Tensor {
        let timeDim = 4 * dim
        let h0 = try conv(g, "init_conv", x, channels, dim, k: 3)
        let emb = try g.scope("time_mlp") {
            let e = try g.timestepEmbedding(time, dim: dim)
            let h = try g.gelu(linear(g, "1", e, dim, timeDim))
            return try linear(g, "3", h, timeDim, timeDim)
        }
        let r1 = try g.scope("downs.0.0") { try resnet(g, h0, emb, dim, dim) }
        let a1 = try g.add(g.scope("downs.0.2") { try linearAttention(g, r1, dim) }, r1)
        let down = try g.scope("downs.0.3") { try conv(g, "1", g.pixelUnshuffle(a1, 2), 4 * dim, 2 * dim, k: 1) }
        let m1 = try g.scope("mid_block1") { try resnet(g, down, emb, 2 * dim, 2 * dim) }
        let mid = try g.add(g.scope("mid_attn") { try fullAttention(g, m1, 2 * dim) }, m1)
        let up = try g.scope("ups.0.3") { try conv(g, "1", g.upsampleNearest(mid, 2), 2 * dim, dim, k: 3) }
        let u1 = try g.scope("ups.0.0") { try resnet(g, g.concat([up, a1], axis: 1), emb, 2 * dim, dim) }
        let f = try g.scope("final_res_block") { try resnet(g, g.concat([u1, h0], axis: 1), emb, 2 * dim, dim) }
        return try conv(g, "final_conv", f, dim, channels, k: 1)
    }

    func conv(_ g: GraphBuilder, _ name: String, _ x: Tensor, _ cin: Int, _ cout: Int, k: Int, bias: Bool = true) throws -> Tensor {
        try g.scope(name) {
            let w = try g.parameter("weight", [cout, cin, k, k], initializer: .pytorchDefault(fanIn: cin * k * k))
            let b = bias ? try g.parameter("bias", [cout], initializer: .pytorchDefault(fanIn: cin * k * k)) : nil
            return try g.conv2d(x, w, bias: b, padding: k / 2)
        }
    }

    func linear(_ g: GraphBuilder, _ name: String, _ x: Tensor, _ din: Int, _ dout: Int) throws -> Tensor {
        try g.scope(name) {
            let w = try g.parameter("weight", [dout, din], initializer: .pytorchDefault(fanIn: din))
            let b = try g.parameter("bias", [dout], initializer: .pytorchDefault(fanIn: din))
            return try g.linear(x, weight: w, bias: b)
        }
    }

    func block(_ g: GraphBuilder, _ name: String, _ x: Tensor, _ din: Int, _ dout: Int, scaleShift: (Tensor, Tensor)?) throws -> Tensor {
        try g.scope(name) {
            var h = try conv(g, "proj", x, din, dout, k: 3)
            h = try g.rmsNorm(h, gain: g.scope("norm") { try g.parameter("g", [1, dout, 1, 1], initializer: .ones) })
            if let (scale, shift) = scaleShift { h = try g.scaleShift(h, scale: scale, shift: shift) }
            return try g.silu(h)
        }
    }

    func resnet(_ g: GraphBuilder, _ x: Tensor, _ emb: Tensor, _ din: Int, _ dout: Int) throws -> Tensor {
        let ss = try g.scope("mlp") { try g.chunk(linear(g, "1", g.silu(emb), 4 * dim, 2 * dout), 2, axis: 1) }
        let h = try block(g, "block1", x, din, dout, scaleShift: (ss[0], ss[1]))
        let h2 = try block(g, "block2", h, dout, dout, scaleShift: nil)
        let res = din == dout ? x : try conv(g, "res_conv", x, din, dout, k: 1)
        return try g.add(h2, res)
    }

    func qkv(_ g: GraphBuilder, _ x: Tensor, _ d: Int) throws -> (Tensor, [Tensor], Int) {
        let hidden = heads * dimHead
        let n = x.shape[2] * x.shape[3]
        let normed = try g.rmsNorm(x, gain: g.scope("norm") { try g.parameter("g", [1, d, 1, 1], initializer: .ones) })
        let qkv = try conv(g, "to_qkv", normed, d, 3 * hidden, k: 1, bias: false)
        let parts = try g.chunk(qkv, 3, axis: 1).map { try g.reshape($0, [batch, heads, dimHead, n]) }
        return (normed, parts, n)
    }

    func linearAttention(_ g: GraphBuilder, _ x: Tensor, _ d: Int) throws -> Tensor {
        let (_, p, _) = try qkv(g, x, d)
        let mem = try g.parameter("mem_kv", [2, heads, dimHead, 4], initializer: .normal(std: 1))
        let mk = try g.expand(g.slice(mem, axis: 0, start: 0, length: 1), to: [batch, heads, dimHead, 4])
        let mv = try g.expand(g.slice(mem, axis: 0, start: 1, length: 1), to: [batch, heads, dimHead, 4])
        let q = try g.mul(g.softmax(p[0], axis: 2), 1 / Float(dimHead).squareRoot())
        let k = try g.softmax(g.concat([mk, p[1]], axis: 3), axis: 3)
        let v = try g.concat([mv, p[2]], axis: 3)
        let context = try g.matmul(k, v, transB: true)
        let out = try g.reshape(g.matmul(context, q, transA: true), x.shape.enumerated().map { $0.offset == 1 ? heads * dimHead : $0.element })
        let y = try conv(g, "to_out.0", out, heads * dimHead, d, k: 1)
        return try g.rmsNorm(y, gain: g.scope("to_out.1") { try g.parameter("g", [1, d, 1, 1], initializer: .ones) })
    }

    func fullAttention(_ g: GraphBuilder, _ x: Tensor, _ d: Int) throws -> Tensor {
        let (_, p, _) = try qkv(g, x, d)
        let mem = try g.parameter("mem_kv", [2, heads, 4, dimHead], initializer: .normal(std: 1))
        let mk = try g.expand(g.permute(g.slice(mem, axis: 0, start: 0, length: 1), [0, 1, 3, 2]), to: [batch, heads, dimHead, 4])
        let mv = try g.expand(g.permute(g.slice(mem, axis: 0, start: 1, length: 1), [0, 1, 3, 2]), to: [batch, heads, dimHead, 4])
        let k = try g.concat([mk, p[1]], axis: 3)
        let v = try g.concat([mv, p[2]], axis: 3)
        let sim = try g.matmul(p[0], k, transA: true, alpha: 1 / Float(dimHead).squareRoot())
        let attn = try g.softmax(sim, axis: 3)
        let out = try g.reshape(g.matmul(v, attn, transB: true), x.shape.enumerated().map { $0.offset == 1 ? heads * dimHead : $0.element })
        return try conv(g, "to_out", out, heads * dimHead, d, k: 1)
    }
}
