// Whole-file reading and atomic replacement, on POSIX calls directly.
//
// Atomic replacement (see docs/file-format.md):
//   1. create `<dir>/.<name>.tmp-<pid>-<random>` with O_CREAT | O_EXCL (never an existing file),
//   2. write every byte, fsync the file, close it (close can report a deferred write error),
//   3. rename it over the destination (atomic within one file system),
//   4. fsync the directory so the rename itself survives a crash.
// A failure before step 3 removes the temporary file and leaves the destination as it was.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The text of the current `errno`, for messages.
private func systemErrorText(_ code: Int32 = errno) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text) + " (errno \(code))"
}

/// Reads all of the regular file at `path`.
/// - Throws: ``RNNKitError/Kind/io`` if it cannot be opened or read, or is not a regular file.
func readWholeFile(at path: String) throws -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
        throw RNNKitError(.io, "cannot open '\(path)' for reading: \(systemErrorText())")
    }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else {
        throw RNNKitError(.io, "cannot query the size of '\(path)': \(systemErrorText())")
    }
    guard (status.st_mode & S_IFMT) == S_IFREG else {
        throw RNNKitError(.io, "'\(path)' is not a regular file")
    }
    let size = Int(status.st_size)
    var bytes = [UInt8](repeating: 0, count: size)
    var filled = 0
    try bytes.withUnsafeMutableBytes { buffer in
        while filled < size {
            let result = read(descriptor, buffer.baseAddress! + filled, size - filled)
            if result < 0 {
                if errno == EINTR { continue }
                throw RNNKitError(.io, "cannot read '\(path)': \(systemErrorText())")
            }
            if result == 0 {
                throw RNNKitError(.io, "'\(path)' shrank while it was read: got \(filled) of \(size) bytes")
            }
            filled += result
        }
    }
    return bytes
}

/// Splits `path` into its directory (`"."` when there is none) and its last component.
private func splitPath(_ path: String) -> (directory: String, name: String) {
    guard let slash = path.lastIndex(of: "/") else { return (".", path) }
    let directory = String(path[..<slash])
    return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
}

/// Writes `bytes` to `path` so that readers see either the old file or the complete new one.
///
/// The data go to a uniquely named temporary file in the same directory, which is fsynced,
/// renamed over `path`, and the directory fsynced. A new file gets mode 0644 (less the umask);
/// a replaced file keeps its mode. A symbolic link at `path` is replaced, not followed.
///
/// - Parameter beforeRename: called after the temporary file is complete and before the
///   rename; tests use it to inject a failure. Default: nothing.
/// - Throws: ``RNNKitError/Kind/io`` naming the step that failed. Unless the failure is the final
///   directory fsync, the temporary file is removed and `path` is untouched.
func writeFileAtomically(
    _ bytes: [UInt8], to path: String, beforeRename: () throws -> Void = {}
) throws {
    let (directory, name) = splitPath(path)
    guard !name.isEmpty, name != ".", name != ".." else {
        throw RNNKitError(.io, "cannot write '\(path)': the path does not name a file")
    }
    var existing = stat()
    let mode: mode_t = stat(path, &existing) == 0 ? existing.st_mode & 0o7777 : 0o644

    // Create the temporary file; O_EXCL guarantees we never write into someone else's file.
    var temporaryPath = ""
    var descriptor: Int32 = -1
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<16 {
        let suffix = String(generator.next() as UInt64, radix: 16)
        temporaryPath = "\(directory)/.\(name).tmp-\(getpid())-\(suffix)"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if descriptor >= 0 || errno != EEXIST { break }
    }
    guard descriptor >= 0 else {
        throw RNNKitError(.io, "cannot create a temporary file in '\(directory)' to write '\(path)': \(systemErrorText())")
    }

    var isOpen = true
    var renamed = false
    defer {
        if isOpen { close(descriptor) }
        if !renamed { unlink(temporaryPath) }
    }

    try bytes.withUnsafeBytes { buffer in
        var written = 0
        while written < buffer.count {
            let result = write(descriptor, buffer.baseAddress! + written, buffer.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                throw RNNKitError(.io, "cannot write '\(temporaryPath)' (for '\(path)'): \(systemErrorText())")
            }
            written += result
        }
    }
    // open() applied the umask; a replaced file keeps exactly its old mode.
    if fchmod(descriptor, mode) != 0 {
        throw RNNKitError(.io, "cannot set the mode of '\(temporaryPath)': \(systemErrorText())")
    }
    guard fsync(descriptor) == 0 else {
        throw RNNKitError(.io, "cannot flush '\(temporaryPath)' to disk (for '\(path)'): \(systemErrorText())")
    }
    isOpen = false
    guard close(descriptor) == 0 else {
        throw RNNKitError(.io, "cannot close '\(temporaryPath)' (for '\(path)'): \(systemErrorText())")
    }
    try beforeRename()
    guard rename(temporaryPath, path) == 0 else {
        throw RNNKitError(.io, "cannot rename '\(temporaryPath)' to '\(path)': \(systemErrorText())")
    }
    renamed = true

    // Make the rename durable. Some file systems cannot fsync a directory (EINVAL); that is
    // not an error of ours.
    let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard directoryDescriptor >= 0 else {
        throw RNNKitError(.io, "wrote '\(path)' but cannot open its directory to make the rename durable: \(systemErrorText())")
    }
    defer { close(directoryDescriptor) }
    if fsync(directoryDescriptor) != 0, errno != EINVAL {
        throw RNNKitError(.io, "wrote '\(path)' but cannot flush its directory to disk: \(systemErrorText())")
    }
}
