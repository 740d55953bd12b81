import XCTest
@testable import Diffusion
import Devices
import Graph
import SafeTensors

final class StateDictTests: XCTestCase {
    let config = UnetConfiguration(dim: 4, dimMults: [1, 2], channels: 1, attnDimHead: .all(4), attnHeads: .all(1))

    func file(_ tensors: [SafeTensor]) throws -> SafeTensorsFile {
        try SafeTensorsFile(bytes: SafeTensorsWriter.encode(tensors), path: "weights.safetensors")
    }

    func fullStateDict(_ unet: Unet, prefix: String = "") -> [SafeTensor] {
        unet.parameterSpecs.map { SafeTensor(name: prefix + $0.name, shape: $0.shape, floats: [Float](repeating: 0.5, count: $0.count)) }
    }

    func testEveryMissingUnexpectedAndMisshapedKeyIsNamed() throws {
        let unet = try Unet(config)
        var tensors = fullStateDict(unet)
        tensors.removeAll { $0.name == "init_conv.bias" || $0.name == "mid_attn.mem_kv" }
        tensors.append(SafeTensor(name: "downs.0.0.block1.norm.weight", shape: [4], floats: [1, 1, 1, 1]))
        let i = tensors.firstIndex { $0.name == "final_conv.weight" }!
        tensors[i] = SafeTensor(name: "final_conv.weight", shape: [1, 4, 3, 3], floats: [Float](repeating: 0, count: 36))
        XCTAssertThrowsError(try unet.readStateDict(file(tensors))) { error in
            guard case let .stateDictMismatch(path, missing, unexpected, misshaped) = error as? DiffusionError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(path, "weights.safetensors")
            XCTAssertEqual(Set(missing), ["init_conv.bias", "mid_attn.mem_kv"])
            XCTAssertEqual(unexpected, ["downs.0.0.block1.norm.weight"])
            XCTAssertEqual(misshaped, ["final_conv.weight is [1, 4, 3, 3], the model needs [1, 4, 1, 1]"])
            let text = "\(error)"
            XCTAssertTrue(text.contains("missing keys (2)") && text.contains("unexpected keys (1)") && text.contains("mis-shaped keys (1)"), text)
        }
    }

    func testPrefixedCheckpointsAndHalfPrecisionLoad() throws {
        let unet = try Unet(config)
        // A checkpoint: model weights under "ema.", other entries ignored; one tensor stored as F16.
        var tensors = fullStateDict(unet, prefix: "ema.")
        let k = tensors.firstIndex { $0.name == "ema.init_conv.bias" }!
        tensors[k] = SafeTensor(name: "ema.init_conv.bias", dtype: .f16, shape: [4], bytes: [0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38, 0x00, 0x00])
        tensors.append(SafeTensor(name: "step", shape: [1], int64s: [1000]))
        let values = try unet.readStateDict(file(tensors), prefix: "ema.")
        XCTAssertEqual(values.count, unet.parameterSpecs.count)
        XCTAssertEqual(values["init_conv.bias"], [1, -2, 0.5, 0])

        let queue = try TestDevices.device("cpu").makeQueue()
        let g = GraphBuilder()
        _ = try unet.declareParameters(in: g)
        let store = try ParameterStore(layout: ParameterLayout(g.graph.parameters), device: queue.device)
        try unet.loadStateDict(file(tensors), prefix: "ema.", into: store, queue: queue)
        let exported = try unet.stateDictTensors(from: store, queue: queue, prefix: "model.")
        XCTAssertEqual(exported.map(\.name), unet.parameterSpecs.map { "model." + $0.name })
        let roundTrip = try unet.readStateDict(file(exported), prefix: "model.")
        XCTAssertEqual(roundTrip["init_conv.bias"], [1, -2, 0.5, 0])
        XCTAssertEqual(roundTrip["final_conv.weight"], [0.5, 0.5, 0.5, 0.5])
    }

    func testIntegerTensorsAreRefusedAsWeights() throws {
        let unet = try Unet(config)
        var tensors = fullStateDict(unet)
        tensors[0] = SafeTensor(name: tensors[0].name, dtype: .i32, shape: tensors[0].shape,
                                bytes: [UInt8](repeating: 0, count: tensors[0].bytes.count))
        XCTAssertThrowsError(try unet.readStateDict(file(tensors))) { XCTAssertTrue("\($0)".contains("dtype I32"), "\($0)") }
    }
}
