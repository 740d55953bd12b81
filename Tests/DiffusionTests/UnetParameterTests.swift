import XCTest
@testable import Diffusion
import Conformance
import SafeTensors

final class UnetParameterTests: XCTestCase {
    /// The counts of the reference notes, computed from the reference's shapes.
    func testParameterCountsOfTheReferenceConfigurations() throws {
        let cases: [(UnetConfiguration, Int, Int?)] = [
            (UnetConfiguration(dim: 64), 35_711_491, 245),
            (UnetConfiguration(dim: 64, channels: 1), 35_705_089, nil),
            (UnetConfiguration(dim: 64, selfCondition: true), 35_720_899, nil),
            (UnetConfiguration(dim: 32), 9_199_363, nil),
            (UnetConfiguration(dim: 128), 140_701_699, nil),
            (UnetConfiguration(dim: 64, dimMults: [1, 2, 4]), 9_904_515, 193),
            (UnetConfiguration(dim: 64, dimMults: [1, 2, 2, 2]), 7_400_195, nil),
        ]
        for (config, count, tensors) in cases {
            let specs = try config.parameterSpecs()
            XCTAssertEqual(specs.reduce(0) { $0 + $1.count }, count, "\(config)")
            if let tensors { XCTAssertEqual(specs.count, tensors, "\(config)") }
        }
    }

    /// The names, order and shapes are those of the PyTorch state_dict in each golden case.
    func testSpecsMatchTheGoldenStateDicts() throws {
        for name in GoldenFixtures.unconditionalCases {
            let golden = try GoldenCase(directory: GoldenFixtures.directory + "/" + name)
            let weights = try SafeTensorsFile(path: golden.weightsPath)
            let specs = try XCTUnwrap(golden.unet).parameterSpecs()
            XCTAssertEqual(Set(specs.map(\.name)), Set(weights.names), name)
            for spec in specs {
                XCTAssertEqual(try weights.info(spec.name).shape, spec.shape, "\(name) \(spec.name)")
            }
            // io.safetensors lists the gradients in named_parameters() order.
            let gradOrder = golden.tensors.keys.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) }
            XCTAssertEqual(Set(gradOrder), Set(specs.map(\.name)), name)
        }
    }

    func testPerStageOptionsAndErrors() throws {
        let config = UnetConfiguration(dim: 16, dimMults: [1, 2, 4], attnDimHead: .each([8, 16, 32]),
                                       attnHeads: .each([1, 2, 3]), fullAttn: .each([true, false, true]))
        let stages = try config.stages()
        XCTAssertEqual(stages.map(\.fullAttention), [true, false, true])
        XCTAssertEqual(stages.map(\.heads), [1, 2, 3])
        let specs = try config.parameterSpecs()
        // Counted by PyTorch for the same Unet(dim=16, dim_mults=(1,2,4), attn_dim_head=(8,16,32),
        // attn_heads=(1,2,3), full_attn=(True,False,True)).
        XCTAssertEqual(specs.reduce(0) { $0 + $1.count }, 664_259)
        XCTAssertEqual(specs.count, 191)
        XCTAssertEqual(specs.first { $0.name == "downs.0.2.mem_kv" }?.shape, [2, 1, 4, 8])
        XCTAssertEqual(specs.first { $0.name == "downs.1.2.mem_kv" }?.shape, [2, 2, 16, 4])
        XCTAssertEqual(specs.first { $0.name == "ups.0.2.mem_kv" }?.shape, [2, 3, 4, 32])
        XCTAssertEqual(specs.first { $0.name == "mid_attn.to_qkv.weight" }?.shape, [288, 64, 1, 1])
        // full_attn = true means every stage; false or unset means the innermost only.
        XCTAssertEqual(try UnetConfiguration(dim: 8, dimMults: [1, 2], fullAttn: .all(true)).stages().map(\.fullAttention), [true, true])
        XCTAssertEqual(try UnetConfiguration(dim: 8, dimMults: [1, 2], fullAttn: .all(false)).stages().map(\.fullAttention), [false, true])
        XCTAssertThrowsError(try UnetConfiguration(dim: 8, dimMults: [1, 2], attnHeads: .each([1, 2, 3])).stages()) {
            XCTAssertTrue("\($0)".contains("attn_heads has 3 values but there are 2 stages"), "\($0)")
        }
        XCTAssertThrowsError(try UnetConfiguration(json: ["dim": 8, "resnet_block_groups": 8])) {
            XCTAssertTrue("\($0)".contains("resnet_block_groups"), "\($0)")
        }
        XCTAssertThrowsError(try UnetConfiguration(json: ["dim": 8, "learned_sinusoidal_cond": true]))
        XCTAssertThrowsError(try UnetConfiguration(json: ["dim": "8"])) { XCTAssertTrue("\($0)".contains("unet.dim"), "\($0)") }
        let parsed = try UnetConfiguration(json: ["dim": 8, "dim_mults": [1, 2], "full_attn": [true, false], "attn_heads": 2,
                                                 "init_dim": 12, "out_dim": 5, "learned_variance": true, "flash_attn": true])
        XCTAssertEqual(parsed.fullAttn, .each([true, false]))
        XCTAssertEqual(parsed.attnHeads, .all(2))
        XCTAssertEqual(try UnetConfiguration(json: parsed.json), parsed)
        XCTAssertEqual(parsed.resolvedOutDim, 5)
        XCTAssertEqual(try Unet(parsed).parameterCount, 71_665)  // PyTorch's count for the same arguments
        XCTAssertEqual(try parsed.parameterSpecs().first { $0.name == "final_res_block.block1.proj.weight" }?.shape, [12, 24, 3, 3])
    }
}
