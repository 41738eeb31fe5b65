// A small, strict JSON parser for safetensors headers.
//
// The header comes from a file we do not trust, so the parser is written to fail
// cleanly on anything odd rather than to be general:
//   - nesting is capped at `HeaderJSON.maximumDepth` levels (a valid header needs 3),
//     so `[[[[…` a hundred thousand deep throws instead of overflowing the stack;
//   - numbers without a fraction or exponent that fit in `Int` become `.integer`;
//     every other number keeps its text as `.otherNumber` so the caller can say
//     "expected an integer, got 1.5" (or a 30-digit integer) without ever converting it;
//   - duplicate keys in one object are an error (which value would count is ambiguous);
//   - strings must be valid UTF-8 without raw control characters, and `\u` escapes
//     must form valid scalars (no lone surrogates);
//   - nothing but whitespace may follow the top-level value.
// Every allocation is bounded by the header's own length.

/// A parsed JSON value. Objects keep their keys in file order.
enum HeaderJSON: Equatable {
    case object([(key: String, value: HeaderJSON)])
    case array([HeaderJSON])
    case string(String)
    /// A number written without fraction or exponent that fits in `Int`.
    case integer(Int)
    /// Any other number, as written (a fraction, an exponent, or an integer too large for `Int`).
    case otherNumber(String)
    case bool(Bool)
    case null

    /// Deepest nesting of arrays and objects accepted. A safetensors header needs 3
    /// (top-level object, tensor entry, shape array); the margin is for readable errors.
    static let maximumDepth = 32

    static func == (lhs: HeaderJSON, rhs: HeaderJSON) -> Bool {
        switch (lhs, rhs) {
        case let (.object(a), .object(b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.array(a), .array(b)): a == b
        case let (.string(a), .string(b)): a == b
        case let (.integer(a), .integer(b)): a == b
        case let (.otherNumber(a), .otherNumber(b)): a == b
        case let (.bool(a), .bool(b)): a == b
        case (.null, .null): true
        default: false
        }
    }

    /// A short description of the value's type for error messages: `an array`, `the string "F32"`, ….
    var kindDescription: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string(let s): "the string \"\(s.count > 40 ? String(s.prefix(40)) + "…" : s)\""
        case .integer(let i): "the integer \(i)"
        case .otherNumber(let text): "the number \(text.count > 40 ? String(text.prefix(40)) + "…" : text)"
        case .bool(let b): "\(b)"
        case .null: "null"
        }
    }

    /// Parses `bytes` as one JSON value surrounded by optional whitespace.
    /// - Throws: ``HeaderJSON/ParseError`` with the byte offset of the first problem.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> HeaderJSON {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 1)
        parser.skipWhitespace()
        guard parser.position == bytes.count else {
            throw ParseError(offset: parser.position, reason: "unexpected data after the end of the JSON value")
        }
        return value
    }

    /// Why and where parsing stopped.
    struct ParseError: Error, Equatable {
        /// Byte offset within the JSON text.
        let offset: Int
        let reason: String
    }
}

private struct Parser {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    typealias ParseError = HeaderJSON.ParseError

    private func fail(_ reason: String) -> ParseError { ParseError(offset: position, reason: reason) }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
            position += 1
        }
    }

    private mutating func expect(_ literal: StaticString) throws(ParseError) {
        let start = position
        let count = literal.utf8CodeUnitCount
        guard bytes.count - position >= count else { throw fail("truncated literal") }
        for i in 0..<count where bytes[position + i] != literal.utf8Start[i] {
            position = start
            throw fail("invalid literal; expected \(literal)")
        }
        position += count
    }

    mutating func parseValue(depth: Int) throws(ParseError) -> HeaderJSON {
        guard let byte = current else { throw fail("unexpected end of JSON; expected a value") }
        switch byte {
        case UInt8(ascii: "{"):
            guard depth <= HeaderJSON.maximumDepth else {
                throw fail("JSON nested deeper than \(HeaderJSON.maximumDepth) levels")
            }
            return try parseObject(depth: depth)
        case UInt8(ascii: "["):
            guard depth <= HeaderJSON.maximumDepth else {
                throw fail("JSON nested deeper than \(HeaderJSON.maximumDepth) levels")
            }
            return try parseArray(depth: depth)
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        case UInt8(ascii: "t"):
            try expect("true"); return .bool(true)
        case UInt8(ascii: "f"):
            try expect("false"); return .bool(false)
        case UInt8(ascii: "n"):
            try expect("null"); return .null
        default:
            throw fail("unexpected character '\(printable(byte))'; expected a JSON value")
        }
    }

    private mutating func parseObject(depth: Int) throws(ParseError) -> HeaderJSON {
        position += 1  // {
        var members: [(key: String, value: HeaderJSON)] = []
        var seen: Set<String> = []
        skipWhitespace()
        if current == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw fail("expected a string key in the object") }
            let keyOffset = position
            let key = try parseString()
            guard seen.insert(key).inserted else {
                throw ParseError(offset: keyOffset, reason: "duplicate key \"\(key)\" in one object")
            }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw fail("expected ':' after the object key \"\(key)\"") }
            position += 1
            skipWhitespace()
            let value = try parseValue(depth: depth + 1)
            members.append((key, value))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return .object(members)
            default: throw fail("expected ',' or '}' in the object")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(ParseError) -> HeaderJSON {
        position += 1  // [
        var elements: [HeaderJSON] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { position += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return .array(elements)
            default: throw fail("expected ',' or ']' in the array")
            }
        }
    }

    /// Parses a string starting at its opening quote. Raw bytes are copied through and
    /// validated as UTF-8 at the end; escapes are decoded to UTF-8.
    private mutating func parseString() throws(ParseError) -> String {
        let start = position
        position += 1  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard let byte = current else {
                throw ParseError(offset: start, reason: "unterminated string")
            }
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = String(validating: utf8, as: UTF8.self) else {
                    throw ParseError(offset: start, reason: "string is not valid UTF-8")
                }
                return string
            case UInt8(ascii: "\\"):
                try parseEscape(into: &utf8)
            case 0x00..<0x20:
                position -= 1
                throw fail("raw control character 0x\(String(byte, radix: 16)) in a string; it must be escaped")
            default:
                utf8.append(byte)
            }
        }
    }

    private mutating func parseEscape(into utf8: inout [UInt8]) throws(ParseError) {
        guard let byte = current else { throw fail("unterminated escape sequence") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""): utf8.append(0x22)
        case UInt8(ascii: "\\"): utf8.append(0x5C)
        case UInt8(ascii: "/"): utf8.append(0x2F)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var scalarValue = try parseHex4()
            if (0xD800...0xDBFF).contains(scalarValue) {
                // A high surrogate must be followed by `\u` and a low surrogate.
                guard bytes.count - position >= 2, bytes[position] == UInt8(ascii: "\\"),
                      bytes[position + 1] == UInt8(ascii: "u") else {
                    throw fail("lone high surrogate in a \\u escape")
                }
                position += 2
                let low = try parseHex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw fail("high surrogate not followed by a low surrogate") }
                scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalarValue) {
                throw fail("lone low surrogate in a \\u escape")
            }
            guard let scalar = Unicode.Scalar(scalarValue) else { throw fail("invalid \\u escape") }
            utf8.append(contentsOf: String(Character(scalar)).utf8)
        default:
            position -= 1
            throw fail("invalid escape '\\\(printable(byte))'")
        }
    }

    private mutating func parseHex4() throws(ParseError) -> UInt32 {
        guard bytes.count - position >= 4 else { throw fail("truncated \\u escape; expected 4 hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw fail("invalid hex digit '\(printable(byte))' in a \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    /// Parses a number per the JSON grammar `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    private mutating func parseNumber() throws(ParseError) -> HeaderJSON {
        let start = position
        func isDigit(_ byte: UInt8?) -> Bool { byte.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
        let negative = current == UInt8(ascii: "-")
        if negative { position += 1 }
        guard isDigit(current) else { throw fail("expected a digit in the number") }
        if current == UInt8(ascii: "0") {
            position += 1
            if isDigit(current) { throw fail("leading zeros are not allowed in JSON numbers") }
        } else {
            while isDigit(current) { position += 1 }
        }
        let integerEnd = position
        var isInteger = true
        if current == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard isDigit(current) else { throw fail("expected a digit after the decimal point") }
            while isDigit(current) { position += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard isDigit(current) else { throw fail("expected a digit in the exponent") }
            while isDigit(current) { position += 1 }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard isInteger else { return .otherNumber(text) }
        // Accumulate with overflow checks; a too-large integer is kept as text.
        var value = 0
        for offset in (negative ? start + 1 : start)..<integerEnd {
            let digit = Int(bytes[offset] - 0x30)
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative
                ? shifted.subtractingReportingOverflow(digit)
                : shifted.addingReportingOverflow(digit)
            if overflow1 || overflow2 { return .otherNumber(text) }
            value = next
        }
        return .integer(value)
    }

    private func printable(_ byte: UInt8) -> String {
        (0x20..<0x7F).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }
}
