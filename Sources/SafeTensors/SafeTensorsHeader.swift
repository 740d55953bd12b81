/// Parsing and validation of the JSON header of a safetensors file.
enum SafeTensorsHeader {
    /// One entry as written in the header, not yet checked against the data section.
    struct Entry {
        var name: String
        var dtype: SafeTensorsDType
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    /// Parses the header JSON into the metadata map and the tensor entries (in header order).
    static func parse(_ header: [UInt8], path: String) throws -> ([String: String], [Entry]) {
        let root: JSONValue
        do {
            root = try JSONParser.parse(header)
        } catch let failure as JSONParser.Failure {
            throw SafeTensorsError.invalidHeader(file: path, reason: "malformed JSON: \(failure)")
        }
        guard case let .object(members) = root else {
            throw SafeTensorsError.invalidHeader(file: path, reason: "the header is a JSON \(root.kind), not an object")
        }
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (name, value) in members {
            if name == "__metadata__" {
                guard case let .object(map) = value else {
                    throw SafeTensorsError.invalidHeader(file: path, reason: "__metadata__ is a \(value.kind), not an object")
                }
                for (k, v) in map {
                    guard case let .string(s) = v else {
                        throw SafeTensorsError.invalidHeader(
                            file: path, reason: "__metadata__ value of '\(k)' is a \(v.kind), not a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            entries.append(try entry(name: name, value: value, path: path))
        }
        return (metadata, entries)
    }

    /// Checks one tensor entry's fields and byte count.
    private static func entry(name: String, value: JSONValue, path: String) throws -> Entry {
        func fail(_ reason: String) -> SafeTensorsError {
            SafeTensorsError.invalidTensor(file: path, tensor: name, reason: reason)
        }
        guard case let .object(members) = value else { throw fail("the entry is a JSON \(value.kind), not an object") }
        var fields: [String: JSONValue] = [:]
        for (k, v) in members {
            guard ["dtype", "shape", "data_offsets"].contains(k) else { throw fail("unexpected field '\(k)'") }
            fields[k] = v
        }
        guard case let .string(dtypeName)? = fields["dtype"] else { throw fail("missing or non-string 'dtype'") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            let names = SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail("unknown or unsupported dtype '\(dtypeName)' (supported: \(names))")
        }
        guard case let .array(rawShape)? = fields["shape"] else { throw fail("missing or non-array 'shape'") }
        var shape: [Int] = []
        for d in rawShape {
            guard let n = d.exactInt, n >= 0 else {
                throw fail("shape has a dimension that is not a non-negative integer")
            }
            shape.append(n)
        }
        guard case let .array(offsets)? = fields["data_offsets"], offsets.count == 2,
              let begin = offsets[0].exactInt, let end = offsets[1].exactInt
        else { throw fail("'data_offsets' is not a pair of integers") }
        guard begin >= 0, begin <= end else { throw fail("data_offsets [\(begin), \(end)] are not an ordered range") }
        var count = 1
        for d in shape {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("shape \(shape) overflows the element count") }
            count = p
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, bytes == end - begin else {
            let need = overflow ? "more than Int.max" : String(bytes)
            throw fail("data_offsets [\(begin), \(end)] hold \(end - begin) bytes, but \(dtypeName) \(shape) needs \(need)")
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// Checks that the entries tile the data section exactly, in order, and returns them sorted.
    static func validateLayout(_ entries: [Entry], dataSize: Int, path: String) throws -> [SafeTensorInfo] {
        let sorted = entries.sorted { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var cursor = 0
        var infos: [SafeTensorInfo] = []
        infos.reserveCapacity(sorted.count)
        for e in sorted {
            guard e.end <= dataSize else {
                throw SafeTensorsError.invalidTensor(
                    file: path, tensor: e.name,
                    reason: "data_offsets [\(e.begin), \(e.end)] run past the \(dataSize)-byte data section")
            }
            if e.begin < cursor {
                throw SafeTensorsError.invalidTensor(
                    file: path, tensor: e.name,
                    reason: "data_offsets [\(e.begin), \(e.end)] overlap the previous tensor, which ends at \(cursor)")
            }
            if e.begin > cursor {
                throw SafeTensorsError.invalidTensor(
                    file: path, tensor: e.name,
                    reason: "data_offsets start at \(e.begin), leaving a hole after byte \(cursor) of the data section")
            }
            cursor = e.end
            infos.append(SafeTensorInfo(name: e.name, dtype: e.dtype, shape: e.shape, dataOffsets: e.begin..<e.end))
        }
        guard cursor == dataSize else {
            throw SafeTensorsError.invalidHeader(
                file: path, reason: "the tensors cover \(cursor) bytes but the data section holds \(dataSize)")
        }
        return infos
    }
}
