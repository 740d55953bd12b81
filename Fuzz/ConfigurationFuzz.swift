// libFuzzer target: a checkpoint's configuration, as `Checkpoint` reads it (issue 15): the JSON
// text through the one JSON parser (SafeTensors' JSONDocument), then the Unet and diffusion configurations, the Unet's stages
// and parameter shapes, and the noise schedule of an accepted configuration. Compiled into the
// Diffusion module (its sources plus this file) with `-sanitize=fuzzer,address`; the corpus is
// Fuzz/corpus/configuration.
import Foundation
import SafeTensors

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfiguration(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let object = try? JSONDocument.parseObject(bytes) else { return 0 }
    let unetJSON = object["unet"] as? [String: Any] ?? object
    var diffusionJSON = object["diffusion"] as? [String: Any] ?? object
    if diffusionJSON["image_size"] == nil { diffusionJSON["image_size"] = object["image_size"] }
    guard let unet = try? UnetConfiguration(json: unetJSON) else { return 0 }
    guard let model = try? Unet(unet) else { return 0 }
    _ = model.parameterCount
    _ = unet.json
    guard let diffusion = try? DiffusionConfiguration(json: diffusionJSON) else { return 0 }
    _ = try? diffusion.noiseSchedule()
    _ = try? GaussianDiffusion(unet: model, configuration: diffusion)
    return 0
}
