// Every file of a run directory is replaced atomically, so a crash or Ctrl-C never leaves a
// half-written checkpoint, config, metrics table or plot behind:
//   1. write `<dir>/.<name>.tmp-<pid>` (created exclusively), 2. fsync it, 3. rename it over
//   `<dir>/<name>` (atomic within one file system), 4. fsync the directory.

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `bytes` to `path` so that readers see either the previous file or the complete new one.
/// - Throws: ``CLIError`` naming the step that failed; the temporary file is then removed.
func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    let temporary = "\(directory)/.\(url.lastPathComponent).tmp-\(getpid())"
    unlink(temporary)  // a leftover of an earlier crash of this same process id
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
        throw CLIError("cannot create '\(temporary)' to write '\(path)': \(String(cString: strerror(errno)))")
    }
    var succeeded = false
    defer { if !succeeded { unlink(temporary) } }
    var isOpen = true
    defer { if isOpen { close(descriptor) } }
    var written = 0
    while written < bytes.count {
        let result = bytes.withUnsafeBytes { buffer in
            write(descriptor, buffer.baseAddress! + written, bytes.count - written)
        }
        if result < 0 {
            if errno == EINTR { continue }
            throw CLIError("cannot write '\(path)': \(String(cString: strerror(errno)))")
        }
        written += result
    }
    guard fsync(descriptor) == 0 else {
        throw CLIError("cannot flush '\(path)' to disk: \(String(cString: strerror(errno)))")
    }
    isOpen = false
    guard close(descriptor) == 0 else {
        throw CLIError("cannot write '\(path)': \(String(cString: strerror(errno)))")
    }
    guard rename(temporary, path) == 0 else {
        throw CLIError("cannot move the new '\(path)' into place: \(String(cString: strerror(errno)))")
    }
    succeeded = true
    let directoryDescriptor = open(directory, O_RDONLY | O_CLOEXEC)
    if directoryDescriptor >= 0 {
        _ = fsync(directoryDescriptor)
        close(directoryDescriptor)
    }
}

/// Writes `text` as UTF-8 to `path` atomically (see ``writeAtomically(_:to:)``).
func writeAtomically(_ text: String, to path: String) throws {
    try writeAtomically(Array(text.utf8), to: path)
}
