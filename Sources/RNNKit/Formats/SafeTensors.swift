// The safetensors format: a strict reader and a writer.
//
// Layout (all integers little-endian):
//   bytes [0, 8)           N, the header length, UInt64
//   bytes [8, 8 + N)       UTF-8 JSON object, possibly padded with trailing spaces:
//                            { "<tensor name>": { "dtype": "F32", "shape": [16, 3], "data_offsets": [begin, end] },
//                              …,
//                              "__metadata__": { "<key>": "<string value>", … } }   (optional)
//   bytes [8 + N, EOF)     the data buffer; a tensor's bytes are buffer[begin..<end], row-major.
//
// The reader trusts nothing in the file. Every size and offset is checked, with overflow-
// reporting arithmetic, before any element is touched, and nothing is allocated beyond the
// file's own size. It is at least as strict as the reference implementation: tensors must
// tile the data buffer exactly, in some order, without gaps or overlaps. docs/file-format.md lists
// every check and why.

/// The element type of a safetensors tensor, by its name in the header.
///
/// The reader recognises every byte-sized type of the format so that any well-formed file
/// can be opened and listed; ``SafeTensorsFile/values(of:as:)`` converts only the
/// floating-point ones (``float32``, ``float64``, ``float16``, ``bfloat16``).
public enum SafeTensorsDType: String, CaseIterable, Sendable, Equatable {
    /// Boolean, one byte.
    case bool = "BOOL"
    /// Unsigned 8-bit integer.
    case uint8 = "U8"
    /// Signed 8-bit integer.
    case int8 = "I8"
    /// 8-bit float, 5 exponent and 2 mantissa bits.
    case float8E5M2 = "F8_E5M2"
    /// 8-bit float, 4 exponent and 3 mantissa bits.
    case float8E4M3 = "F8_E4M3"
    /// 8-bit float E5M2, finite, no negative zero.
    case float8E5M2FNUZ = "F8_E5M2FNUZ"
    /// 8-bit float E4M3, finite, no negative zero.
    case float8E4M3FNUZ = "F8_E4M3FNUZ"
    /// 8-bit exponent-only scale.
    case float8E8M0 = "F8_E8M0"
    /// Signed 16-bit integer.
    case int16 = "I16"
    /// Unsigned 16-bit integer.
    case uint16 = "U16"
    /// IEEE 754 half precision.
    case float16 = "F16"
    /// bfloat16: the upper half of a binary32.
    case bfloat16 = "BF16"
    /// Signed 32-bit integer.
    case int32 = "I32"
    /// Unsigned 32-bit integer.
    case uint32 = "U32"
    /// IEEE 754 single precision (`Float`).
    case float32 = "F32"
    /// IEEE 754 double precision (`Double`).
    case float64 = "F64"
    /// Signed 64-bit integer.
    case int64 = "I64"
    /// Unsigned 64-bit integer.
    case uint64 = "U64"
    /// Complex number of two single-precision floats.
    case complex64 = "C64"

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .bool, .uint8, .int8, .float8E5M2, .float8E4M3, .float8E5M2FNUZ, .float8E4M3FNUZ, .float8E8M0: 1
        case .int16, .uint16, .float16, .bfloat16: 2
        case .int32, .uint32, .float32: 4
        case .float64, .int64, .uint64, .complex64: 8
        }
    }

    /// Whether ``SafeTensorsFile/values(of:as:)`` can convert this type to `Float`/`Double`.
    public var isConvertibleToScalar: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: true
        default: false
        }
    }

    /// Sub-byte types of the format that RNNKit does not read (named for a clearer error).
    static let unsupportedPackedNames: Set<String> = ["F4", "F6_E2M3", "F6_E3M2"]
}

/// One tensor described by a safetensors header, after validation.
public struct SafeTensorsTensorInfo: Sendable, Equatable {
    /// The tensor's name (for RNNKit networks, PyTorch's `state_dict` key).
    public let name: String
    /// The element type.
    public let dtype: SafeTensorsDType
    /// The shape, row-major; `[]` is a scalar with one element.
    public let shape: [Int]
    /// Number of elements, the product of ``shape``.
    public let elementCount: Int
    /// The tensor's bytes within the data buffer (offsets count from the first byte after the header).
    public let dataOffsets: Range<Int>
}

/// A validated safetensors file held in memory.
///
/// Both initializers check the whole header before returning (see `docs/file-format.md`);
/// after that, every tensor's bytes are known to lie inside the file and to match its shape
/// and dtype. Hostile input makes them throw, never trap.
public struct SafeTensorsFile: Sendable {
    /// Largest header accepted, in bytes (100 MB, as the reference implementation).
    public static let maximumHeaderSize = 100_000_000

    /// What the data came from (a path, or a caller's label); used in error messages.
    public let source: String
    /// The tensors, in the order the header lists them.
    public let tensors: [SafeTensorsTensorInfo]
    /// The `__metadata__` map, or `nil` when the header has none.
    public let metadata: [String: String]?

    private let bytes: [UInt8]
    /// Offset in ``bytes`` of the data buffer, `8 + N`.
    private let dataStart: Int
    private let indexByName: [String: Int]

    /// Reads and validates the file at `path`.
    /// - Throws: ``RNNKitError`` `.io` if the file cannot be read; `.invalidFile` naming the
    ///   file, the tensor and the check that failed if it is not a valid safetensors file.
    public init(contentsOf path: String) throws {
        try self.init(bytes: try readWholeFile(at: path), source: path)
    }

    /// Validates `bytes` as a safetensors file.
    /// - Parameter source: a label for error messages (default `"safetensors data"`).
    /// - Throws: ``RNNKitError`` `.invalidFile` naming the tensor and the check that failed.
    public init(bytes: [UInt8], source: String = "safetensors data") throws {
        self.source = source
        func invalid(_ message: String) -> RNNKitError { RNNKitError(.invalidFile, "\(source): \(message)") }

        // Header length.
        guard bytes.count >= 8 else {
            throw invalid("file is \(bytes.count) bytes; expected at least 8 (the little-endian UInt64 header length)")
        }
        var declaredLength: UInt64 = 0
        for i in (0..<8).reversed() { declaredLength = declaredLength << 8 | UInt64(bytes[i]) }
        let available = UInt64(bytes.count - 8)
        guard declaredLength <= UInt64(Self.maximumHeaderSize) else {
            throw invalid("header length \(declaredLength) exceeds the limit of \(Self.maximumHeaderSize) bytes")
        }
        guard declaredLength <= available else {
            throw invalid("header length \(declaredLength) exceeds the \(available) bytes that follow the length field")
        }
        let headerLength = Int(declaredLength)
        let dataStart = 8 + headerLength
        let dataSize = bytes.count - dataStart

        // Header text: UTF-8, then JSON.
        let root: HeaderJSON = try bytes.withUnsafeBytes { raw in
            let header = UnsafeRawBufferPointer(rebasing: raw[8..<dataStart])
            guard String(validating: header.bindMemory(to: UInt8.self), as: UTF8.self) != nil else {
                throw invalid("header is not valid UTF-8")
            }
            // The value must be an object: checking its first byte refuses a huge top-level
            // array before any of it is parsed.
            let first = header.first { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }
            guard first == UInt8(ascii: "{") else {
                let shown = first.map { (0x21..<0x7F).contains($0) ? "'\(Character(Unicode.Scalar($0)))'" : "byte 0x\(String($0, radix: 16))" } ?? "nothing"
                throw invalid("header starts with \(shown); expected '{' opening a JSON object that maps tensor names to {dtype, shape, data_offsets}")
            }
            switch Result(catching: { () throws(HeaderJSON.ParseError) in try HeaderJSON.parse(header) }) {
            case .success(let value):
                return value
            case .failure(let error):
                throw invalid("header is not valid JSON: \(error.reason) at byte \(error.offset) of the header")
            }
        }
        guard case .object(let members) = root else {
            throw invalid("header is \(root.kindDescription); expected a JSON object mapping tensor names to {dtype, shape, data_offsets}")
        }

        // Entries.
        var tensors: [SafeTensorsTensorInfo] = []
        var metadata: [String: String]?
        for (key, value) in members {
            if key == "__metadata__" {
                metadata = try Self.parseMetadata(value, invalid: invalid)
            } else {
                tensors.append(try Self.parseTensor(name: key, value, dataSize: dataSize, invalid: invalid))
            }
        }

        // The tensors must tile the data buffer exactly: sorted by offset, each starts where
        // the previous one ended, and the last ends at the end of the file.
        let byOffset = tensors.sorted {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound)
        }
        var covered = 0
        var previous: SafeTensorsTensorInfo?
        for tensor in byOffset {
            let range = tensor.dataOffsets
            if range.lowerBound < covered, let previous {
                throw invalid("tensor '\(tensor.name)' at data_offsets [\(range.lowerBound), \(range.upperBound)] overlaps tensor '\(previous.name)' at [\(previous.dataOffsets.lowerBound), \(previous.dataOffsets.upperBound)]; expected tensors not to overlap")
            }
            if range.lowerBound > covered {
                throw invalid("bytes \(covered)..<\(range.lowerBound) of the data buffer, before tensor '\(tensor.name)', belong to no tensor; expected tensors packed without gaps")
            }
            covered = range.upperBound
            previous = tensor
        }
        guard covered == dataSize else {
            throw invalid("data buffer has \(dataSize) bytes but the tensors cover \(covered); expected them to cover it exactly")
        }

        self.bytes = bytes
        self.dataStart = dataStart
        self.tensors = tensors
        self.metadata = metadata
        self.indexByName = Dictionary(tensors.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    private static func parseMetadata(
        _ value: HeaderJSON, invalid: (String) -> RNNKitError
    ) throws -> [String: String] {
        guard case .object(let members) = value else {
            throw invalid("__metadata__ is \(value.kindDescription); expected an object of string values")
        }
        var metadata: [String: String] = [:]
        for (key, entry) in members {
            guard case .string(let text) = entry else {
                throw invalid("__metadata__ value for key '\(key)' is \(entry.kindDescription); expected a string")
            }
            metadata[key] = text
        }
        return metadata
    }

    private static func parseTensor(
        name: String, _ value: HeaderJSON, dataSize: Int, invalid: (String) -> RNNKitError
    ) throws -> SafeTensorsTensorInfo {
        let what = "tensor '\(name)'"
        guard case .object(let fields) = value else {
            throw invalid("\(what) is described by \(value.kindDescription); expected an object {dtype, shape, data_offsets}")
        }
        let keys = fields.map(\.key)
        guard Set(keys) == ["dtype", "shape", "data_offsets"], keys.count == 3 else {
            throw invalid("\(what) has keys [\(keys.joined(separator: ", "))]; expected exactly dtype, shape, data_offsets")
        }
        var dtypeValue = HeaderJSON.null, shapeValue = HeaderJSON.null, offsetsValue = HeaderJSON.null
        for (key, field) in fields {
            switch key {
            case "dtype": dtypeValue = field
            case "shape": shapeValue = field
            default: offsetsValue = field
            }
        }

        // dtype
        guard case .string(let dtypeName) = dtypeValue else {
            throw invalid("\(what): dtype is \(dtypeValue.kindDescription); expected a string such as \"F32\"")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            if SafeTensorsDType.unsupportedPackedNames.contains(dtypeName) {
                throw invalid("\(what): dtype \(dtypeName) packs elements in less than a byte; RNNKit does not read it")
            }
            let known = SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
            throw invalid("\(what): unknown dtype \"\(dtypeName)\"; expected one of \(known)")
        }

        // shape
        guard case .array(let dimensionValues) = shapeValue else {
            throw invalid("\(what): shape is \(shapeValue.kindDescription); expected an array of non-negative integers")
        }
        var shape: [Int] = []
        var elementCount = 1
        for (axis, dimensionValue) in dimensionValues.enumerated() {
            guard case .integer(let dimension) = dimensionValue, dimension >= 0 else {
                throw invalid("\(what): shape entry \(axis) is \(dimensionValue.kindDescription); expected a non-negative integer")
            }
            let (product, overflow) = elementCount.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw invalid("\(what): shape \(Self.describe(dimensionValues)) has more elements than an Int can count")
            }
            shape.append(dimension)
            elementCount = product
        }

        // data_offsets
        guard case .array(let offsetValues) = offsetsValue, offsetValues.count == 2,
              case .integer(let begin) = offsetValues[0], case .integer(let end) = offsetValues[1],
              begin >= 0, end >= 0 else {
            throw invalid("\(what): data_offsets is \(Self.describe(offsetsValue)); expected [begin, end], two non-negative integers")
        }
        guard begin <= end else {
            throw invalid("\(what): data_offsets [\(begin), \(end)] begin after they end; expected begin ≤ end")
        }
        guard end <= dataSize else {
            throw invalid("\(what): data_offsets [\(begin), \(end)] reach past the data buffer of \(dataSize) bytes")
        }
        let (byteCount, overflow) = elementCount.multipliedReportingOverflow(by: dtype.byteCount)
        guard !overflow, byteCount == end - begin else {
            throw invalid("\(what): data_offsets [\(begin), \(end)] span \(end - begin) bytes; expected \(overflow ? "more than an Int can count" : String(byteCount)) for shape \(shape) of \(dtype.rawValue) (\(dtype.byteCount) bytes each)")
        }
        return SafeTensorsTensorInfo(name: name, dtype: dtype, shape: shape, elementCount: elementCount, dataOffsets: begin..<end)
    }

    /// A compact rendering of a JSON value for messages, shown as written for number arrays.
    private static func describe(_ value: HeaderJSON) -> String {
        switch value {
        case .array(let elements):
            guard elements.count <= 16 else { return "an array of \(elements.count) values" }
            let parts = elements.map { element -> String in
                switch element {
                case .integer(let i): String(i)
                case .otherNumber(let text): text.count > 40 ? String(text.prefix(40)) + "…" : text
                default: element.kindDescription
                }
            }
            return "[" + parts.joined(separator: ", ") + "]"
        default:
            return value.kindDescription
        }
    }

    private static func describe(_ values: [HeaderJSON]) -> String { describe(.array(values)) }

    // MARK: Access

    /// The tensor names, in header order.
    public var tensorNames: [String] { tensors.map(\.name) }

    /// The tensor called `name`, or `nil`.
    public func tensor(named name: String) -> SafeTensorsTensorInfo? {
        indexByName[name].map { tensors[$0] }
    }

    /// The raw little-endian bytes of tensor `name`.
    /// - Throws: ``RNNKitError`` `.invalidArgument` if there is no such tensor.
    public func rawBytes(of name: String) throws -> ArraySlice<UInt8> {
        let info = try requireTensor(name)
        return bytes[dataStart + info.dataOffsets.lowerBound..<dataStart + info.dataOffsets.upperBound]
    }

    /// The elements of tensor `name` converted to `Scalar`, row-major (`elementCount` values).
    ///
    /// F32 and F64 convert as Swift's `Scalar(_:)` does (F64 → Float rounds to nearest);
    /// F16 and BF16 widen exactly.
    /// - Throws: ``RNNKitError`` `.invalidArgument` if there is no such tensor; `.invalidFile` if
    ///   its dtype is not F32, F64, F16 or BF16.
    public func values<Scalar: RNNScalar>(of name: String, as type: Scalar.Type = Scalar.self) throws -> [Scalar] {
        let info = try requireTensor(name)
        let first = dataStart + info.dataOffsets.lowerBound
        let count = info.elementCount
        return try bytes.withUnsafeBytes { raw -> [Scalar] in
            @inline(__always) func load<T: FixedWidthInteger>(_ index: Int, _: T.Type) -> T {
                T(littleEndian: raw.loadUnaligned(fromByteOffset: first + index * MemoryLayout<T>.size, as: T.self))
            }
            switch info.dtype {
            case .float32:
                return (0..<count).map { Scalar(Float(bitPattern: load($0, UInt32.self))) }
            case .float64:
                return (0..<count).map { Scalar(Double(bitPattern: load($0, UInt64.self))) }
            case .float16:
                return (0..<count).map { Scalar(Self.floatFromHalf(load($0, UInt16.self))) }
            case .bfloat16:
                return (0..<count).map { Scalar(Float(bitPattern: UInt32(load($0, UInt16.self)) << 16)) }
            default:
                throw RNNKitError(.invalidFile,
                    "\(source): tensor '\(name)' has dtype \(info.dtype.rawValue); expected a floating-point dtype (F32, F64, F16 or BF16)")
            }
        }
    }

    private func requireTensor(_ name: String) throws -> SafeTensorsTensorInfo {
        guard let info = tensor(named: name) else {
            throw RNNKitError(.invalidArgument, "\(source) has no tensor named '\(name)'")
        }
        return info
    }

    /// IEEE 754 binary16 → binary32, exact (every half is a float).
    static func floatFromHalf(_ half: UInt16) -> Float {
        let sign: UInt32 = UInt32(half & 0x8000) << 16
        let exponent = UInt32(half >> 10) & 0x1F
        let mantissa = UInt32(half) & 0x3FF
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa · 2^-24.
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)  // infinity or NaN
        default:
            return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
        }
    }
}

/// Builds a safetensors file from named tensors.
///
/// Tensors are stored in the order they were added, which is also their order in the header
/// and in the data buffer; `__metadata__` (when not empty) comes first with its keys sorted.
/// The header is padded with spaces so the data buffer starts at a multiple of 8 bytes.
public struct SafeTensorsWriter: Sendable {
    private struct Entry: Sendable {
        let name: String
        let dtype: SafeTensorsDType
        let shape: [Int]
        let bytes: [UInt8]
    }

    /// The `__metadata__` map written into the header (default empty: no `__metadata__` key).
    public var metadata: [String: String]
    private var entries: [Entry] = []
    private var names: Set<String> = []

    /// Creates an empty writer with `metadata`.
    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds a tensor from its raw little-endian bytes.
    /// - Parameters:
    ///   - shape: row-major dimensions, each ≥ 0.
    ///   - bytes: exactly `shape.product × dtype.byteCount` bytes.
    /// - Throws: ``RNNKitError`` `.invalidArgument` for a duplicate or reserved name, a negative
    ///   dimension, or a byte count that does not match the shape.
    public mutating func add(name: String, dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) throws {
        guard name != "__metadata__" else {
            throw RNNKitError(.invalidArgument, "the tensor name __metadata__ is reserved by the safetensors format")
        }
        guard !names.contains(name) else {
            throw RNNKitError(.invalidArgument, "tensor '\(name)' was already added; expected unique names")
        }
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else {
                throw RNNKitError(.invalidArgument, "tensor '\(name)' has negative dimension \(dimension) in shape \(shape)")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw RNNKitError(.outOfMemory, "tensor '\(name)' with shape \(shape) is too large") }
            count = product
        }
        let (expected, overflow) = count.multipliedReportingOverflow(by: dtype.byteCount)
        guard !overflow else { throw RNNKitError(.outOfMemory, "tensor '\(name)' with shape \(shape) is too large") }
        guard bytes.count == expected else {
            throw RNNKitError(.invalidArgument,
                "tensor '\(name)' has \(bytes.count) bytes; expected \(expected) for shape \(shape) of \(dtype.rawValue)")
        }
        entries.append(Entry(name: name, dtype: dtype, shape: shape, bytes: bytes))
        names.insert(name)
    }

    /// Adds a tensor of `Scalar` values, stored as `Scalar.dtypeName` (F32 or F64).
    /// - Parameter values: `shape.product` values, row-major.
    public mutating func add<Scalar: RNNScalar>(name: String, shape: [Int], values: some Collection<Scalar>) throws {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * MemoryLayout<Scalar>.size)
        let dtype: SafeTensorsDType
        switch Scalar.self {
        case is Float.Type:
            dtype = .float32
            for value in values {
                withUnsafeBytes(of: Float(value).bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            }
        case is Double.Type:
            dtype = .float64
            for value in values {
                withUnsafeBytes(of: Double(value).bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            }
        default:
            throw RNNKitError(.invalidArgument, "cannot store \(Scalar.self) in safetensors; expected Float or Double")
        }
        try add(name: name, dtype: dtype, shape: shape, bytes: bytes)
    }

    /// The complete file: header length, padded header, data buffer.
    public func serialized() -> [UInt8] {
        var header = "{"
        var members: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }
                .map { "\(Self.quoted($0.key)):\(Self.quoted($0.value))" }
            members.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for entry in entries {
            let shape = entry.shape.map(String.init).joined(separator: ",")
            members.append("\(Self.quoted(entry.name)):{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + entry.bytes.count)]}")
            offset += entry.bytes.count
        }
        header += members.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }

        var file: [UInt8] = []
        file.reserveCapacity(8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(contentsOf: headerBytes)
        for entry in entries { file.append(contentsOf: entry.bytes) }
        return file
    }

    /// Writes ``serialized()`` to `path` atomically: readers see the old file or the whole new one.
    ///
    /// The bytes go to a unique temporary file in the same directory, which is fsynced and
    /// renamed over `path`; the directory is then fsynced. On failure the temporary file is
    /// removed and an existing file at `path` is left as it was.
    /// - Throws: ``RNNKitError`` `.io` naming the step that failed.
    public func writeAtomically(to path: String) throws {
        try writeFileAtomically(serialized(), to: path)
    }

    /// `string` as a JSON string literal.
    static func quoted(_ string: String) -> String {
        var result = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
