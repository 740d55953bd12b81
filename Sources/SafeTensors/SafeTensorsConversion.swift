/// Element conversions from little-endian safetensors bytes.
enum SafeTensorsConversion {
    /// Decodes `raw` (whose length is a multiple of `dtype.size`) into Floats.
    static func floats(_ raw: UnsafeRawBufferPointer, dtype: SafeTensorsDType) -> [Float] {
        let n = raw.count / dtype.size
        var out = [Float](repeating: 0, count: n)
        for i in 0..<n {
            let o = i * dtype.size
            switch dtype {
            case .f32: out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
            case .f64: out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self))))
            case .f16: out[i] = halfToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
            case .bf16: out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self))) << 16)
            case .i64: out[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int64.self)))
            case .i32: out[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int32.self)))
            case .i16: out[i] = Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int16.self)))
            case .i8: out[i] = Float(raw.load(fromByteOffset: o, as: Int8.self))
            case .u64: out[i] = Float(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self)))
            case .u32: out[i] = Float(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
            case .u16: out[i] = Float(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
            case .u8: out[i] = Float(raw[o])
            case .bool: out[i] = raw[o] != 0 ? 1 : 0
            }
        }
        return out
    }

    /// Decodes an integer (or BOOL) tensor into Int64; nil if a U64 value does not fit.
    static func integers(_ raw: UnsafeRawBufferPointer, dtype: SafeTensorsDType) -> [Int64]? {
        let n = raw.count / dtype.size
        var out = [Int64](repeating: 0, count: n)
        for i in 0..<n {
            let o = i * dtype.size
            switch dtype {
            case .i64: out[i] = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int64.self))
            case .i32: out[i] = Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int32.self)))
            case .i16: out[i] = Int64(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int16.self)))
            case .i8: out[i] = Int64(raw.load(fromByteOffset: o, as: Int8.self))
            case .u64:
                guard let v = Int64(exactly: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self))) else { return nil }
                out[i] = v
            case .u32: out[i] = Int64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
            case .u16: out[i] = Int64(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
            case .u8: out[i] = Int64(raw[o])
            case .bool: out[i] = raw[o] != 0 ? 1 : 0
            case .f64, .f32, .f16, .bf16: return nil
            }
        }
        return out
    }

    /// IEEE 754 binary16 to binary32, exact (subnormals, infinities and NaN included).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0x1F {
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            // Zero or subnormal: mantissa · 2⁻²⁴, exact in binary32.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        }
        return Float(bitPattern: sign | (UInt32(exponent + 112) << 23) | (mantissa << 13))
    }
}
