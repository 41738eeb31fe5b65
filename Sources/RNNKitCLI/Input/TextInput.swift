// Reading the text files the commands train on, evaluate on and prime with.

import Foundation

/// Reads input files with one clear error for each way they can be unusable.
enum InputFile {
    /// The size of the regular file at `path`, checked as ``bytes(at:purpose:)`` checks it, without reading it.
    /// - Throws: ``CLIError`` when the file is missing, a directory, unreadable, or empty.
    static func checkedSize(of path: String, purpose: String) throws -> Int {
        try checkIsFile(path, purpose: purpose)
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw CLIError("\(purpose) '\(path)' cannot be read (check its permissions)")
        }
        let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
        guard size > 0 else { throw CLIError("\(purpose) '\(path)' is empty") }
        return size
    }

    private static func checkIsFile(_ path: String, purpose: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError("\(purpose) '\(path)' does not exist")
        }
        guard !isDirectory.boolValue else {
            throw CLIError("\(purpose) '\(path)' is a directory, expected a file")
        }
    }

    /// The bytes of the regular file at `path`.
    /// - Throws: ``CLIError`` when the file is missing, a directory, unreadable, or empty.
    static func bytes(at path: String, purpose: String) throws -> [UInt8] {
        try checkIsFile(path, purpose: purpose)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("\(purpose) '\(path)' cannot be read (check its permissions)")
        }
        guard !data.isEmpty else {
            throw CLIError("\(purpose) '\(path)' is empty")
        }
        return [UInt8](data)
    }

    /// The text of the UTF-8 file at `path`, without a leading byte-order mark.
    /// - Throws: ``CLIError`` when the file is missing, empty, or not valid UTF-8 (naming the
    ///   offset of the first bad byte).
    static func text(at path: String, purpose: String = "text file") throws -> String {
        var bytes = try bytes(at: path, purpose: purpose)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        if let offset = firstInvalidUTF8Offset(bytes) {
            throw CLIError.data(
                "\(purpose) '\(path)' is not UTF-8 text: invalid byte 0x\(hex(bytes[offset])) at offset \(offset); convert it first (for example with iconv -t UTF-8)")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        guard !text.isEmpty else { throw CLIError("\(purpose) '\(path)' is empty") }
        return text
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return digits.count == 1 ? "0" + digits : digits
    }
}

/// The offset at which the first ill-formed UTF-8 sequence of `bytes` starts (RFC 3629: no
/// overlong forms, no surrogates, nothing above U+10FFFF, no truncated sequence), or `nil` when
/// the bytes are valid UTF-8. For a lead byte followed by a bad continuation, that is the lead's offset.
func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
    var index = 0
    while index < bytes.count {
        let lead = bytes[index]
        let length: Int
        var lowerSecond: UInt8 = 0x80
        var upperSecond: UInt8 = 0xBF
        switch lead {
        case 0x00...0x7F: index += 1; continue
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lowerSecond = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upperSecond = 0x9F
        case 0xF0: length = 4; lowerSecond = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upperSecond = 0x8F
        default: return index
        }
        guard index + length <= bytes.count else { return index }
        let second = bytes[index + 1]
        guard second >= lowerSecond, second <= upperSecond else { return index }
        for offset in 2..<max(2, length) where bytes[index + offset] & 0xC0 != 0x80 {
            return index
        }
        index += length
    }
    return nil
}
