// libFuzzer target "network-file": arbitrary bytes written to a temporary file, then
// RecurrentNetwork<Float>(contentsOf:) (architecture from the metadata) and, on a network of the
// fixture's architecture, load(from:). A loaded network must run a forward pass. Built by
// scripts/fuzz.sh against RNNKit compiled with the same instrumentation. The expected outcome for bad input is a thrown RNNKitError.

#if canImport(Glibc)
import Glibc
#endif
import RNNKit

/// One temporary path per process (libFuzzer runs inputs one after another in one thread).
private let fuzzPath: String = {
    let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    return "\(directory)/rnnkit-fuzz-network-\(getpid()).safetensors"
}()

/// The architecture of Tests/Fuzz/corpus/network-file/lstm-*.safetensors, so mutations of it reach
/// the shape and dtype checks of load(from:) rather than stopping at the metadata.
nonisolated(unsafe) private let fixedNetwork = try! RecurrentNetwork<Float>(
    RecurrentConfiguration(cell: .lstm, inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true))

private func writeInput(_ data: UnsafePointer<UInt8>, _ size: Int) {
    let fd = open(fuzzPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(fd >= 0, "cannot create \(fuzzPath)")
    var written = 0
    while written < size {
        let n = write(fd, data + written, size - written)
        precondition(n > 0, "cannot write \(fuzzPath)")
        written += n
    }
    close(fd)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNetworkFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    writeInput(data, size)
    defer { unlink(fuzzPath) }

    if let network = try? RecurrentNetwork<Float>(contentsOf: fuzzPath) {
        let c = network.configuration
        precondition(network.parameters.count == network.layout.totalCount, "loaded parameter count")
        // Run only small architectures: the point is that loading produced a usable network.
        if network.layout.totalCount <= 1 << 16, c.inputSize <= 256 {
            let input = [Float](repeating: 0.5, count: 2 * c.inputSize)
            precondition((try? network.forward(input, steps: 2, batch: 1)) != nil, "forward after load failed")
        }
    }

    let before = fixedNetwork.parameters
    do {
        try fixedNetwork.load(from: fuzzPath)
        precondition(fixedNetwork.parameters.count == fixedNetwork.layout.totalCount, "load changed the count")
        fixedNetwork.parameters = before
    } catch {
        precondition(fixedNetwork.parameters == before, "a failed load changed the parameters")
    }
    return 0
}
