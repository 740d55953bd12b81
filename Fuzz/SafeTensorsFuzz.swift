// libFuzzer target: the safetensors container reader and its JSON parser (issue 15).
// Built by `make fuzz` together with Sources/SafeTensors/*.swift as one module, with
// `-sanitize=fuzzer,address`; the corpus is Fuzz/corpus/safetensors.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // The JSON parser alone, on the raw bytes.
    _ = try? JSONParser.parse(bytes)
    // The whole container; every tensor of an accepted file is read back in every element type.
    if let file = try? SafeTensorsFile(bytes: bytes, path: "fuzz.safetensors") {
        for tensor in file.tensors {
            _ = try? file.bytes(tensor.name)
            _ = try? file.floats(tensor.name)
            _ = try? file.int64s(tensor.name)
            _ = try? file.int32s(tensor.name)
        }
        _ = file.metadata.count
    }
    return 0
}
