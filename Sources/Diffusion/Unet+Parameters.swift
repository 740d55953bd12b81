import Graph

/// One parameter of the reference Unet: its state_dict key, shape and PyTorch initialisation.
public struct UnetParameterSpec: Equatable, Sendable {
    public var name: String
    public var shape: [Int]
    public var initializer: Initializer

    public var count: Int { shape.reduce(1, *) }
}

/// A state_dict in the making: parameters appended in registration order with PyTorch's default
/// initialisation (kaiming-uniform (a = √5) weights and U(±1/√fan_in) biases for conv and linear
/// layers, RMSNorm gains 1). Both Unets, the plain and the class-conditional, list theirs with it.
final class ParameterSpecList {
    private(set) var specs: [UnetParameterSpec] = []

    func add(_ name: String, _ shape: [Int], _ initializer: Initializer) {
        specs.append(UnetParameterSpec(name: name, shape: shape, initializer: initializer))
    }

    /// `p.weight` `[cout, cin, k, k]` and, with `bias`, `p.bias` `[cout]`.
    func conv(_ p: String, _ cin: Int, _ cout: Int, _ k: Int, bias: Bool = true) {
        add(p + ".weight", [cout, cin, k, k], .pytorchDefault(fanIn: cin * k * k))
        if bias { add(p + ".bias", [cout], .pytorchDefault(fanIn: cin * k * k)) }
    }

    /// `p.weight` `[fout, fin]` and `p.bias` `[fout]`.
    func linear(_ p: String, _ fin: Int, _ fout: Int) {
        add(p + ".weight", [fout, fin], .pytorchDefault(fanIn: fin))
        add(p + ".bias", [fout], .pytorchDefault(fanIn: fin))
    }

    /// An RMSNorm gain `p.g` `[1, c, 1, 1]`.
    func norm(_ p: String, _ c: Int) { add(p + ".g", [1, c, 1, 1], .ones) }
}

extension UnetConfiguration {
    /// Every parameter in the reference's state_dict order (a module's own parameters first,
    /// then its children in registration order), with PyTorch's default initialisation:
    /// kaiming-uniform (a = √5) weights and U(±1/√fan_in) biases for conv and linear layers,
    /// RMSNorm gains 1, attention memory key/values N(0, 1).
    public func parameterSpecs() throws -> [UnetParameterSpec] {
        let stages = try self.stages()
        let specs = ParameterSpecList()
        func resnet(_ p: String, _ din: Int, _ dout: Int) {
            specs.linear(p + ".mlp.1", timeDim, 2 * dout)
            specs.conv(p + ".block1.proj", din, dout, 3)
            specs.norm(p + ".block1.norm", dout)
            specs.conv(p + ".block2.proj", dout, dout, 3)
            specs.norm(p + ".block2.norm", dout)
            if din != dout { specs.conv(p + ".res_conv", din, dout, 1) }
        }
        func attention(_ p: String, _ d: Int, full: Bool, heads: Int, dimHead: Int) {
            let hidden = heads * dimHead
            specs.add(p + ".mem_kv", full ? [2, heads, 4, dimHead] : [2, heads, dimHead, 4], .normal(std: 1))
            specs.norm(p + ".norm", d)
            specs.conv(p + ".to_qkv", d, 3 * hidden, 1, bias: false)
            if full {
                specs.conv(p + ".to_out", hidden, d, 1)
            } else {
                specs.conv(p + ".to_out.0", hidden, d, 1)
                specs.norm(p + ".to_out.1", d)
            }
        }
        let initDim = resolvedInitDim
        specs.conv("init_conv", inputChannels, initDim, 7)
        specs.linear("time_mlp.1", dim, timeDim)
        specs.linear("time_mlp.3", timeDim, timeDim)
        for (i, s) in stages.enumerated() {
            let p = "downs.\(i)"
            resnet(p + ".0", s.dimIn, s.dimIn)
            resnet(p + ".1", s.dimIn, s.dimIn)
            attention(p + ".2", s.dimIn, full: s.fullAttention, heads: s.heads, dimHead: s.dimHead)
            if i < stages.count - 1 {
                specs.conv(p + ".3.1", 4 * s.dimIn, s.dimOut, 1)
            } else {
                specs.conv(p + ".3", s.dimIn, s.dimOut, 3)
            }
        }
        let mid = stages.last!.dimOut
        resnet("mid_block1", mid, mid)
        attention("mid_attn", mid, full: true, heads: stages.last!.heads, dimHead: stages.last!.dimHead)
        resnet("mid_block2", mid, mid)
        for (j, s) in stages.reversed().enumerated() {
            let p = "ups.\(j)"
            resnet(p + ".0", s.dimOut + s.dimIn, s.dimOut)
            resnet(p + ".1", s.dimOut + s.dimIn, s.dimOut)
            attention(p + ".2", s.dimOut, full: s.fullAttention, heads: s.heads, dimHead: s.dimHead)
            if j < stages.count - 1 {
                specs.conv(p + ".3.1", s.dimOut, s.dimIn, 3)
            } else {
                specs.conv(p + ".3", s.dimOut, s.dimIn, 3)
            }
        }
        resnet("final_res_block", 2 * initDim, initDim)
        specs.conv("final_conv", initDim, resolvedOutDim, 1)
        return specs.specs
    }
}
