// libFuzzer target "safetensors": arbitrary bytes → SafeTensorsFile(bytes:) → every tensor read
// (raw bytes, and as Float and Double where the dtype converts). Built by scripts/fuzz.sh against
// RNNKit compiled with the same instrumentation (-sanitize=fuzzer,address). Any trap, sanitizer report or
// allocation beyond libFuzzer's -malloc_limit_mb is a bug; a thrown RNNKitError is the expected outcome.

import RNNKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let file = try? SafeTensorsFile(bytes: bytes, source: "fuzz input") else { return 0 }
    var checksum = 0
    for tensor in file.tensors {
        // The reader promised every tensor lies inside the data and matches its dtype and shape.
        guard let raw = try? file.rawBytes(of: tensor.name) else {
            fatalError("tensor '\(tensor.name)' is listed but its bytes cannot be read")
        }
        precondition(raw.count == tensor.elementCount * tensor.dtype.byteCount,
                     "tensor '\(tensor.name)': \(raw.count) bytes for \(tensor.elementCount) × \(tensor.dtype.byteCount)")
        precondition(tensor.shape.reduce(1, *) == tensor.elementCount, "element count is not the shape's product")
        checksum &+= raw.reduce(0) { $0 &+ Int($1) }
        if tensor.dtype.isConvertibleToScalar {
            let floats = try? file.values(of: tensor.name, as: Float.self)
            let doubles = try? file.values(of: tensor.name, as: Double.self)
            precondition(floats?.count == tensor.elementCount && doubles?.count == tensor.elementCount,
                         "tensor '\(tensor.name)' did not convert to \(tensor.elementCount) values")
        }
    }
    for name in ["", "missing", "__metadata__"] where file.tensor(named: name) == nil {
        precondition((try? file.rawBytes(of: name)) == nil, "an absent tensor '\(name)' was read")
    }
    return checksum == Int.min ? 1 : 0
}
