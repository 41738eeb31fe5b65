// Where the commands write: standard output and standard error of the process, or buffers in tests.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The output of one command run: results and progress on `out`, errors and warnings on `err`.
///
/// The process uses ``standard``; tests use ``capturing()`` and read ``capturedOutput``.
public final class Console: @unchecked Sendable {
    private let writeOut: (String) -> Void
    private let writeErr: (String) -> Void
    /// Whether `out` is an interactive terminal: then training draws a progress bar that redraws one
    /// line in place; otherwise (pipes, files, CI) it prints one plain log line per interval.
    public let isTerminal: Bool
    private var outBuffer = ""
    private var errBuffer = ""

    /// Creates a console writing through the two closures.
    public init(isTerminal: Bool, out: @escaping (String) -> Void, err: @escaping (String) -> Void) {
        self.isTerminal = isTerminal
        self.writeOut = out
        self.writeErr = err
    }

    /// The process's standard output and standard error; a terminal when `isatty(1)`.
    public static var standard: Console {
        Console(
            isTerminal: isatty(1) == 1,
            out: { writeAll($0, to: 1) },
            err: { writeAll($0, to: 2) })
    }

    /// A console that keeps everything written, for tests; never a terminal unless asked.
    public static func capturing(isTerminal: Bool = false) -> Console {
        let box = CaptureBox()
        let console = Console(isTerminal: isTerminal, out: { box.out += $0 }, err: { box.err += $0 })
        console.capture = box
        return console
    }

    private final class CaptureBox: @unchecked Sendable {
        var out = ""
        var err = ""
    }
    private var capture: CaptureBox?

    /// Everything written to `out` so far (only for ``capturing(isTerminal:)`` consoles).
    public var capturedOutput: String { capture?.out ?? "" }
    /// Everything written to `err` so far (only for ``capturing(isTerminal:)`` consoles).
    public var capturedErrors: String { capture?.err ?? "" }

    /// Writes `text` and a newline to standard output.
    public func line(_ text: String = "") { writeOut(text + "\n") }
    /// Writes `text` as it is (no newline) to standard output; the progress bar uses this with `\r`.
    public func write(_ text: String) { writeOut(text) }
    /// Writes `text` and a newline to standard error.
    public func errorLine(_ text: String) { writeErr(text + "\n") }
}

/// Writes all of `text` to file descriptor `descriptor`, unbuffered (so progress shows at once).
private func writeAll(_ text: String, to descriptor: Int32) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written < 0 {
            if errno == EINTR { continue }
            return  // a closed pipe: nothing sensible left to do with the output
        }
        bytes = bytes.dropFirst(written)
    }
}
