// The weights of a network packed for the product kernel (Scalar.packedProduct: for Float,
// rk_packed_product in Sources/CRNNKitKernels/recurrent_product.c), made once and remade only when
// the parameters change.
// Dimension legend: L layers, D directions, G gates, H hidden, I_k input features of layer k,
// R width of h (P for a projected LSTM, else H).

import CRNNKitKernels

/// Packed copies of `W_ih (G·H, I_k)`, `W_hh (G·H, R)` and a projected LSTM's `W_hr (P, H)` of
/// every layer and direction for forward, of `W_hh` as the right operand of backward's
/// `∂h = ∂a · W_hh`, and the parameter versions they were packed from.
///
/// OpenBLAS packs its operand on every call; packing once per change of the parameters takes
/// that work out of every time step. In inference the packing is paid once; in training once
/// per forward (the optimizer changes the weights between steps).
///
/// Both products of a forward go through the packed kernel, which computes every element as one
/// FMA chain in a fixed order: a row's result does not depend on how many rows are multiplied
/// with it (a streamed step and a whole sequence agree bitwise) nor on which columns a worker owns.
final class PackedWeights<Scalar: RNNScalar> {
    /// Per matrix `2·(layer·D + direction) + {0: input, 1: recurrent}`: its offset in `storage`.
    private let offsets: [Int]
    /// Projected LSTM: per `layer·D + direction` the offset of its packed `W_hr`; empty otherwise.
    private let projectionOffsets: [Int]
    private let storage: UnsafeMutableBufferPointer<Scalar>
    /// The ``RecurrentNetwork/parameters`` version the copies were made from, `nil` before the first.
    private var packedVersion: UInt64?
    /// Backward's copies, `L·D` of `rk_packed_count(1, R, G·H)` floats, allocated by the first
    /// training forward (inference never needs them), and their version.
    private var transposed: UnsafeMutableBufferPointer<Scalar>?
    private var transposedVersion: UInt64?
    private let transposedCount: Int
    private let matrixPairs: Int
    private let isResetBefore: Bool
    /// Reset-before GRU: where the `n` block starts inside a direction's packed `W_hh`, for
    /// forward (after the packed `r, z` rows) and backward (after the transposed `r, z` rows).
    private let candidateOffset: Int, candidateTransposedOffset: Int

    /// Whether a network of `Scalar` uses packed weights on this CPU: ``CellRowKernels/hasPackedProduct``
    /// (Float where the packed kernel has vector registers, AVX2+FMA or AVX-512; elsewhere OpenBLAS
    /// is faster than its portable path, and `RNNKIT_PACKED_KERNEL=portable` also selects that).
    static var isUsed: Bool { Scalar.hasPackedProduct }

    /// Allocates the packed copies for `configuration`.
    /// - Throws: if they would not fit in memory.
    init(_ configuration: RecurrentConfiguration) throws {
        let c = configuration
        var offsets: [Int] = [], projectionOffsets: [Int] = []
        var total = 0
        let G = Int64(c.cell.gateCount), H = Int64(c.hiddenSize), R = Int64(c.stateSize)
        for layer in 0..<c.numLayers {
            for _ in 0..<c.directionCount {
                offsets.append(total)
                total += Int(rk_packed_count(G, H, Int64(c.layerInputSize(layer))))
                offsets.append(total)
                // The reset-before GRU's W_hh is two packed matrices, r, z rows then n rows.
                total += c.cell == .gruResetBefore
                    ? Int(rk_packed_count(2, H, H) + rk_packed_count(1, H, H)) : Int(rk_packed_count(G, H, R))
                if c.isProjected {
                    projectionOffsets.append(total)
                    total += Int(rk_packed_count(1, R, H))
                }
            }
        }
        try ensureAllocatable(total, of: Scalar.self, what: "packed weights")
        self.offsets = offsets
        self.projectionOffsets = projectionOffsets
        matrixPairs = c.numLayers * c.directionCount
        isResetBefore = c.cell == .gruResetBefore
        candidateOffset = Int(rk_packed_count(2, H, H))
        candidateTransposedOffset = Int(rk_packed_count(1, H, 2 * H))
        // The reset-before GRU's backward multiplies by W_h{r,z} (2H rows) and W_hn (H rows) apart.
        transposedCount = c.cell == .gruResetBefore
            ? Int(rk_packed_count(1, H, 2 * H) + rk_packed_count(1, H, H))
            : Int(rk_packed_count(1, R, G * H))
        storage = .allocateAligned(capacity: total)
        storage.initialize(repeating: 0)
    }

    deinit {
        storage.deallocate()
        transposed?.deallocate()
    }

    /// The packed `W_ih` of `layer·D + direction`.
    func input(_ index: Int) -> UnsafePointer<Scalar> { UnsafePointer(storage.baseAddress! + offsets[2 * index]) }

    /// The packed `W_hh` of `layer·D + direction`.
    func recurrent(_ index: Int) -> UnsafePointer<Scalar> { UnsafePointer(storage.baseAddress! + offsets[2 * index + 1]) }

    /// Projected LSTM: the packed `W_hr` of `layer·D + direction`; `nil` for every other network.
    func projection(_ index: Int) -> UnsafePointer<Scalar>? {
        projectionOffsets.isEmpty ? nil : UnsafePointer(storage.baseAddress! + projectionOffsets[index])
    }

    /// Reset-before GRU: the packed `n` rows of `W_hh` of `layer·D + direction` (``recurrent(_:)``
    /// then holds the `r, z` rows); `nil` for every other cell.
    func candidate(_ index: Int) -> UnsafePointer<Scalar>? {
        guard isResetBefore else { return nil }
        return recurrent(index) + candidateOffset
    }

    /// Backward's packed `W_hh` of `layer·D + direction`, after ``refreshTransposed(from:layout:configuration:version:)``.
    /// For the reset-before GRU, the `r, z` rows of `W_hh` alone (`k = 2H`); ``candidateTransposed(_:)`` has the `n` rows.
    func recurrentTransposed(_ index: Int) -> UnsafePointer<Scalar>? {
        transposed.map { UnsafePointer($0.baseAddress! + index * transposedCount) }
    }

    /// Reset-before GRU: backward's packed `n` rows of `W_hh` (`k = H`), the right operand of
    /// `∂(r ⊙ h) = ∂a_n · W_hn`; `nil` for every other cell or before the first training forward.
    func candidateTransposed(_ index: Int) -> UnsafePointer<Scalar>? {
        guard isResetBefore else { return nil }
        return recurrentTransposed(index).map { $0 + candidateTransposedOffset }
    }

    /// Allocates (once) and repacks backward's copies unless they were made from `version`.
    /// - Throws: if they would not fit in memory.
    func refreshTransposed(from parameters: UnsafePointer<Scalar>, layout: ParameterLayout,
                           configuration c: RecurrentConfiguration, version: UInt64) throws {
        if transposed == nil {
            let total = try checkedProduct(matrixPairs, transposedCount, what: "packed recurrent weights")
            try ensureAllocatable(total, of: Scalar.self, what: "packed recurrent weights")
            transposed = .allocateAligned(capacity: total)
            transposed!.initialize(repeating: 0)
        }
        guard transposedVersion != version, let transposed else { return }
        let GH = c.cell.gateCount * c.hiddenSize, H = c.hiddenSize, R = c.stateSize
        forEachDirection(of: c, layout: layout) { index, _, weightHH in
            let packed = transposed.baseAddress! + index * transposedCount
            if isResetBefore {
                Scalar.packTransposed(k: 2 * H, n: H, parameters + weightHH.offset, into: packed)
                Scalar.packTransposed(k: H, n: H, parameters + weightHH.offset + 2 * H * H,
                                      into: packed + candidateTransposedOffset)
            } else {
                Scalar.packTransposed(k: GH, n: R, parameters + weightHH.offset, into: packed)
            }
        }
        transposedVersion = version
    }

    /// Repacks every weight matrix from `parameters` unless the copies were made from `version`.
    func refresh(from parameters: UnsafePointer<Scalar>, layout: ParameterLayout,
                 configuration c: RecurrentConfiguration, version: UInt64) {
        guard packedVersion != version else { return }
        let G = c.cell.gateCount, H = c.hiddenSize, R = c.stateSize
        forEachDirection(of: c, layout: layout) { index, weightIH, weightHH in
            let I = weightIH.count / (G * H)
            Scalar.packRows(gates: G, hidden: H, width: I, parameters + weightIH.offset,
                            into: storage.baseAddress! + offsets[2 * index])
            let recurrent = storage.baseAddress! + offsets[2 * index + 1]
            if isResetBefore {
                Scalar.packRows(gates: 2, hidden: H, width: H, parameters + weightHH.offset, into: recurrent)
                Scalar.packRows(gates: 1, hidden: H, width: H, parameters + weightHH.offset + 2 * H * H,
                                into: recurrent + candidateOffset)
            } else {
                Scalar.packRows(gates: G, hidden: H, width: R, parameters + weightHH.offset, into: recurrent)
            }
            if c.isProjected {
                let group = layout.group(layer: index / c.directionCount, direction: index % c.directionCount,
                                         directionCount: c.directionCount)
                Scalar.packRows(gates: 1, hidden: R, width: H, parameters + group.entry(.projectionWeight)!.offset,
                                into: storage.baseAddress! + projectionOffsets[index])
            }
        }
        packedVersion = version
    }

    /// Calls `body(layer·D + direction, W_ih entry, W_hh entry)` for every layer and direction.
    private func forEachDirection(
        of c: RecurrentConfiguration, layout: ParameterLayout,
        _ body: (_ index: Int, _ weightIH: ParameterEntry, _ weightHH: ParameterEntry) -> Void
    ) {
        for layer in 0..<c.numLayers {
            for direction in 0..<c.directionCount {
                let group = layout.group(layer: layer, direction: direction, directionCount: c.directionCount)
                body(layer * c.directionCount + direction, group[group.startIndex], group[group.startIndex + 1])
            }
        }
    }
}
