// One layer and direction of a pass, and the time loops that can run over any range of batch
// rows or hidden units (the thread policy in Support/Threading.swift splits them across workers).
// Dimension legend:
//   T time steps   B batch   I_k input features of the layer   H hidden (gates, cell state)
//   G gates   D directions   R width of h (P for a projected LSTM, else H); the layer output
//   (T, B, D·R) holds this direction in columns [d·R, (d+1)·R).

import CRNNKitKernels

/// Layer 0's input given as token ids into an embedding table rather than as vectors: the input
/// row of position `n` is `embedding[ids[n]]`. Its projection through `W_ih` is then a lookup,
///   P (V, G·H) = E (V, I) · W_ih^T          one product over the vocabulary, before the time loop
///   gates[n] = P[ids[n]]                    a copy per position instead of a product,
/// and backward sums the gate gradients by token before the products,
///   ∂P[v] = Σ_{n: ids[n] = v} ∂a[n]         a scatter-add over the T·B positions
///   ∂W_ih += ∂P^T · E,   ∂E += ∂P · W_ih    products over V rows instead of T·B
/// (the same sums as with the looked-up vectors, grouped by token). Cheaper when V < T·B.
struct TokenProjection<Scalar: RNNScalar> {
    /// `[T·B]` ids in `0..<vocabulary`, time-major.
    let ids: UnsafePointer<Int>
    /// `V`.
    let vocabulary: Int
    /// `E (V, I)`, the embedding weights.
    let embedding: UnsafePointer<Scalar>
    /// `(V, G·H)`: `P` after ``DirectionPass/prepareForward(h0:c0:)``, `∂P` during backward.
    let table: UnsafeMutablePointer<Scalar>
}

/// Pointers for one layer and direction into the parameters, gradients and workspace.
struct DirectionPass<Scalar: RNNScalar> {
    let cell: CellKind
    let steps: Int, batch: Int, hidden: Int
    /// `R`, the width of the hidden state `h`: the projection size `P` of a projected LSTM, else `H`.
    let state: Int
    /// `I_k`, the width of a row of `input`; `D·R`, the width of a row of the layer output.
    let inputWidth: Int, outputWidth: Int
    let reverse: Bool
    let training: Bool
    let wIH: UnsafePointer<Scalar>     // (G·H, I_k)
    let wHH: UnsafePointer<Scalar>     // (G·H, R)
    /// Projected LSTM: `W_hr` (P, H), and its packed copy for forward's `h = m · W_hr^T` (or
    /// `nil`: then OpenBLAS); both `nil` otherwise.
    let wHR: UnsafePointer<Scalar>?
    let packedWHR: UnsafePointer<Scalar>?
    /// `W_ih` and `W_hh` packed for ``CellRowKernels/packedProduct`` (Float on CPUs where it is
    /// fast), or `nil`: both products then go through ``RNNScalar/multiplyTransposed``. For
    /// ``CellKind/gruResetBefore`` `packedWHH` holds the `r, z` rows and `packedWHN` the `n` rows.
    let packedWIH: UnsafePointer<Scalar>?
    let packedWHH: UnsafePointer<Scalar>?
    let packedWHN: UnsafePointer<Scalar>?
    /// `W_hh` packed as the right operand of backward's `∂h += ∂a · W_hh`, or `nil` (then OpenBLAS).
    /// For ``CellKind/gruResetBefore`` its `r, z` rows, and `packedWHNTransposed` its `n` rows.
    let packedWHHTransposed: UnsafePointer<Scalar>?
    let packedWHNTransposed: UnsafePointer<Scalar>?
    let bIH: UnsafePointer<Scalar>     // (G·H)
    let bHH: UnsafePointer<Scalar>     // (G·H)
    /// LSTM with peepholes: `p_i, p_f, p_o` (3H); `nil` otherwise.
    let peephole: UnsafePointer<Scalar>?
    /// Layer-normalised LSTM: its gains and shifts; `nil` otherwise.
    let norms: LayerNormParameters<Scalar>?
    /// Recurrent dropout in training: the mask `m` (B, H), values 0 or `1/(1 − p)`, by which every
    /// recurrent product's operand is multiplied (`buffers.maskedStates` holds `m ⊙ h`); `nil` otherwise.
    let recurrentMask: UnsafePointer<Scalar>?
    let buffers: DirectionBuffers<Scalar>
    let input: UnsafePointer<Scalar>   // (T, B, I_k); not read when `tokens` is given
    /// Layer 0's input as ids into an embedding (``TokenProjection``), or `nil`: then `input`.
    let tokens: TokenProjection<Scalar>?
    let output: UnsafeMutablePointer<Scalar>      // (T, B, D·R) offset to this direction's columns
    let hFinal: UnsafeMutablePointer<Scalar>      // (B, R)
    let cFinal: UnsafeMutablePointer<Scalar>      // (B, H), LSTM
    let lengths: UnsafePointer<Int>?              // (B), or nil when every row has length T
    /// Whether the pass starts from a zero hidden state (no `h0` given): the first step's recurrent
    /// product is then zero and is skipped — half the work of a single-step call.
    let startsFromZero: Bool
    /// Steps whose input projections ``forwardSteps`` computes in one product (packed weights):
    /// inference holds only that many steps of gates. `steps` without packed weights.
    let projectionSteps: Int

    var gateWidth: Int { cell.gateCount * hidden }

    /// The time index of processing step `s`.
    @inline(__always) func time(_ s: Int) -> Int { reverse ? steps - 1 - s : s }

    /// Offset of the hidden-state slot entering processing step `s` in `hStates` (rows of `R`):
    /// training keeps one slot per time index (backward needs them all); inference alternates two.
    @inline(__always) func slot(_ s: Int) -> Int {
        training ? time(s) * batch * state : (s & 1) * batch * state
    }

    /// Offset of the cell-state slot entering processing step `s` in `cStates` (rows of `H`), as ``slot(_:)``.
    @inline(__always) func cellSlot(_ s: Int) -> Int {
        training ? time(s) * batch * hidden : (s & 1) * batch * hidden
    }

    // MARK: Forward

    /// The combined bias, the initial states and, without packed weights, the input projection of
    /// all steps; ``forwardSteps(rows:columns:barrier:)`` follows.
    func prepareForward(h0: UnsafePointer<Scalar>?, c0: UnsafePointer<Scalar>?) {
        let GH = gateWidth
        // Biases are added by the cell kernels: LSTM and RNN take b_ih + b_hh combined; the GRUs
        // keep them apart (one adds b_hn inside r ⊙ (…), the other after a product).
        if !cell.isGRU {
            for j in 0..<GH { buffers.biasScratch[j] = bIH[j] + bHH[j] }
        }
        let first = buffers.hStates + slot(0)
        if let h0 { first.update(from: h0, count: batch * state) } else { first.update(repeating: 0, count: batch * state) }
        if cell == .lstm {
            let firstCell = buffers.cStates + cellSlot(0)
            if let c0 { firstCell.update(from: c0, count: batch * hidden) } else { firstCell.update(repeating: 0, count: batch * hidden) }
        }
        if recurrentMask != nil { mask(buffers.hStates + slot(0), into: buffers.maskedStates! + slot(0), rows: 0..<batch, columns: 0..<hidden) }
        // With packed weights or tokens forwardSteps projects (or looks up) the input itself,
        // projectionSteps steps at a time.
        if let tokens {
            Scalar.multiplyTransposed(m: tokens.vocabulary, n: GH, k: inputWidth, a: tokens.embedding, lda: inputWidth,
                                      b: wIH, ldb: inputWidth, beta: 0, c: tokens.table, ldc: GH, fewRows: false)
        } else if packedWIH == nil {
            projectAllInputs()
        }
    }

    /// Whether ``forwardSteps(rows:columns:barrier:)`` fills the gates' input part itself, a chunk
    /// of ``projectionSteps`` steps at a time: from the packed `W_ih`, or by token lookup.
    var projectsInTimeLoop: Bool { packedWIH != nil || tokens != nil }

    /// The input projection of all steps at once through OpenBLAS (no packed weights),
    /// `gates (T·B, G·H) = X (T·B, I_k) · W_ih^T`, on the calling thread before the time loop.
    private func projectAllInputs() {
        let GH = gateWidth, rowCount = steps * batch
        Scalar.multiplyTransposed(m: rowCount, n: GH, k: inputWidth, a: input, lda: inputWidth,
                                  b: wIH, ldb: inputWidth, beta: 0, c: buffers.gates, ldc: GH, fewRows: false)
    }

    /// The times of the projection chunk that starts at processing step `s`: up to
    /// ``projectionSteps`` consecutive steps, ascending in time whichever the direction.
    @inline(__always) func projectionTimes(startingAt s: Int) -> Range<Int> {
        let count = min(projectionSteps, steps - s)
        return reverse ? (steps - s - count)..<(steps - s) : s..<(s + count)
    }

    /// Row offset (in rows of `B`) of time `t`'s gates while the chunk `chunk` is current: training
    /// keeps every step's gates (backward needs them); inference only the current chunk's.
    @inline(__always) func gateSlot(time t: Int, chunk: Range<Int>) -> Int {
        training ? t : t - chunk.lowerBound
    }

    /// `gates (chunk·B, G·H) = X (chunk·B, I_k) · W_ih^T` for the rows `rows` and the units
    /// `columns` of every gate, on the packed `W_ih`: one product over all the chunk's rows when
    /// `rows` is the whole batch (they are contiguous in X), else one per step.
    private func projectChunk(_ chunk: Range<Int>, rows: Range<Int>, columns: Range<Int>, packed: UnsafePointer<Scalar>) {
        let B = batch, firstSlot = gateSlot(time: chunk.lowerBound, chunk: chunk)
        if rows.count == B {
            project(rowCount: chunk.count * B, firstRow: chunk.lowerBound * B, firstSlotRow: firstSlot * B,
                    columns: columns, packed: packed)
        } else {
            for (i, t) in chunk.enumerated() {
                project(rowCount: rows.count, firstRow: t * B + rows.lowerBound,
                        firstSlotRow: (firstSlot + i) * B + rows.lowerBound, columns: columns, packed: packed)
            }
        }
    }

    /// `gates (chunk·B, G·H) = P[ids]` for the rows `rows` and the units `columns` of every gate.
    private func lookUpChunk(_ chunk: Range<Int>, rows: Range<Int>, columns: Range<Int>, tokens: TokenProjection<Scalar>) {
        let B = batch, GH = gateWidth, H = hidden, firstSlot = gateSlot(time: chunk.lowerBound, chunk: chunk)
        for (i, t) in chunk.enumerated() {
            for b in rows {
                let source = tokens.table + tokens.ids[t * B + b] * GH              // (G·H)
                let destination = buffers.gates + ((firstSlot + i) * B + b) * GH    // (G·H)
                for g in 0..<cell.gateCount {
                    let first = g * H + columns.lowerBound
                    (destination + first).update(from: source + first, count: columns.count)
                }
            }
        }
    }

    /// `gates[firstSlotRow…] (rowCount, G·H) = X[firstRow…] (rowCount, I_k) · W_ih^T` for `columns`.
    @inline(__always)
    private func project(rowCount: Int, firstRow: Int, firstSlotRow: Int, columns: Range<Int>, packed: UnsafePointer<Scalar>) {
        Scalar.packedProduct(rows: rowCount, k: inputWidth, a: input + firstRow * inputWidth, lda: inputWidth,
                             packed: packed, gates: cell.gateCount, hidden: hidden, columns: columns,
                             accumulate: false, c: buffers.gates + firstSlotRow * gateWidth, ldc: gateWidth)
    }

    /// Every step, in processing order, for the batch rows `rows` and the hidden units `columns`:
    /// one recurrent product and one fused cell kernel per step, and with packed weights the input
    /// projection of every ``projectionSteps`` steps ahead of them.
    ///
    /// Two ways to split a time loop across workers: disjoint `rows` with all columns (rows of a
    /// recurrence are independent: no synchronisation), or all rows with disjoint `columns`, whose
    /// workers meet at `barrier` after every step because each step reads all of `h`. A projected
    /// LSTM's column workers also own disjoint `stateColumns` of `h` (all `0..<R` otherwise) and
    /// meet once more between the cell and the projection, which reads all of `m`. A
    /// layer-normalised LSTM's column workers split only the recurrent product, meet, and then run
    /// the cell (whose normalisations read whole rows) on disjoint `cellRows` (all `rows` otherwise).
    func forwardSteps(rows: Range<Int>, columns: Range<Int>, stateColumns: Range<Int>? = nil, cellRows: Range<Int>? = nil,
                      barrier: UnsafeMutablePointer<rk_barrier>? = nil) {
        let H = hidden, R = state, GH = gateWidth, B = batch, first = rows.lowerBound, count = rows.count
        guard count > 0 else { return }
        let rowLengths = lengths.map { $0 + first }
        let combinedBias = UnsafePointer(buffers.biasScratch)                    // (G·H)
        var chunk = 0..<steps                                                    // times whose gates are held
        var nextProjection = 0                                                   // step of the next chunk
        for s in 0..<steps {
            let t = time(s), last = s == steps - 1
            if projectsInTimeLoop, s == nextProjection {
                chunk = projectionTimes(startingAt: s)
                if let tokens {
                    lookUpChunk(chunk, rows: rows, columns: columns, tokens: tokens)
                } else if let packedWIH {
                    projectChunk(chunk, rows: rows, columns: columns, packed: packedWIH)
                }
                nextProjection += projectionSteps
            }
            let hIn = buffers.hStates + slot(s) + first * R                      // (rows, R)
            // The operand of the recurrent products: m ⊙ h with recurrent dropout, else h.
            let hRecurrent = UnsafePointer(recurrentMask != nil ? buffers.maskedStates! + slot(s) + first * H : hIn)
            let hOut = (last ? hFinal : buffers.hStates + slot(s + 1)) + first * R   // (rows, R)
            let cIn = buffers.cStates + cellSlot(s) + first * H                  // (rows, H), LSTM
            let cOut = (last ? cFinal : buffers.cStates + cellSlot(s + 1)) + first * H
            let gates = buffers.gates + (gateSlot(time: t, chunk: chunk) * B + first) * GH  // (rows, G·H)
            let stepRows = StepRows(time: t, lengths: rowLengths)
            let y = StridedRows(base: output + (t * B + first) * outputWidth, stride: outputWidth)
            let recurrentIsZero = s == 0 && startsFromZero
            // Rows (relative offset and count) and units the cell and what follows it cover.
            let cellShare = norms != nil ? (cellRows ?? rows) : rows
            let cellOffset = cellShare.lowerBound - first
            let tailColumns = norms != nil && cellRows != nil ? 0..<H : columns
            switch cell {
            case .lstm where norms != nil:
                // The recurrent product goes to scratch: each side is normalised on its own.
                let recurrent = buffers.stepScratch + first * GH                 // (rows, 4H)
                if recurrentIsZero {
                    clearGates(recurrent, rows: count, columns: columns)
                } else {
                    recurrentProduct(rows: count, columns: columns, hIn: hRecurrent, into: recurrent, accumulate: false)
                }
                if let barrier { rk_barrier_wait(barrier) }
                let saved = buffers.layerNormSaved!.advanced(toRow: (training ? t * B : 0) + cellShare.lowerBound, hidden: H)
                LayerNormLSTMCell.forward(
                    gates: gates + cellOffset * GH, recurrent: recurrent + cellOffset * GH, bias: combinedBias, norms: norms!, saved: saved,
                    hPrev: hIn + cellOffset * R, cPrev: cIn + cellOffset * H, hNext: hOut + cellOffset * R, cNext: cOut + cellOffset * H,
                    tanhC: buffers.tanhC.map { $0 + (t * B + cellShare.lowerBound) * H },
                    output: StridedRows(base: y.base + cellOffset * outputWidth, stride: outputWidth),
                    rows: StepRows(time: t, lengths: lengths.map { $0 + cellShare.lowerBound }), batch: cellShare.count, hidden: H)
            case .lstm where wHR != nil:
                // The cell writes m = o ⊙ tanh(c) (rows, H), zeros for inactive rows (their
                // "entering state" is the zero buffer), and its output to scratch; then
                // h = m · W_hr^T.
                if !recurrentIsZero {
                    recurrentProduct(rows: count, columns: columns, hIn: hRecurrent, into: gates, accumulate: true)
                }
                let m = buffers.unprojected! + (training ? t * B + first : first) * H  // (rows, H)
                let scratch = buffers.stepScratch + first * H                    // (rows, H)
                LSTMCell.forward(
                    gates: gates, bias: combinedBias, peephole: peephole, hPrev: buffers.unprojectedZeros! + first * H,
                    cPrev: cIn, hNext: m, cNext: cOut, tanhC: buffers.tanhC.map { $0 + (t * B + first) * H },
                    output: StridedRows(base: scratch, stride: H), rows: stepRows, batch: count, hidden: H, columns: columns)
                if let barrier { rk_barrier_wait(barrier) }
                project(rows: count, unprojected: m, hIn: hIn, hOut: hOut, output: y, stepRows: stepRows,
                        columns: stateColumns ?? 0..<R)
            case .lstm:
                if !recurrentIsZero {
                    recurrentProduct(rows: count, columns: columns, hIn: hRecurrent, into: gates, accumulate: true)
                }
                LSTMCell.forward(
                    gates: gates, bias: combinedBias, peephole: peephole, hPrev: hIn, cPrev: cIn,
                    hNext: hOut, cNext: cOut,
                    tanhC: buffers.tanhC.map { $0 + (t * B + first) * H }, output: y,
                    rows: stepRows, batch: count, hidden: H, columns: columns)
            case .gru:
                let recurrent = buffers.stepScratch + first * GH                 // (rows, 3H)
                if recurrentIsZero {
                    clearGates(recurrent, rows: count, columns: columns)
                } else {
                    recurrentProduct(rows: count, columns: columns, hIn: hRecurrent, into: recurrent, accumulate: false)
                }
                GRUCell.forward(
                    gates: gates, recurrent: recurrent, inputBias: bIH, hiddenBias: bHH,
                    hnSaved: buffers.hiddenN.map { $0 + (t * B + first) * H },
                    hPrev: hIn, hNext: hOut, output: y, rows: stepRows, batch: count, hidden: H, columns: columns)
            case .gruResetBefore:
                // Two products in sequence; column workers also meet between them, since the
                // candidate's product reads all of r ⊙ h.
                let recurrent = buffers.stepScratch + first * GH                 // (rows, 3H)
                let resetHidden = buffers.resetHidden! + (training ? t * B + first : first) * H  // (rows, H)
                if recurrentIsZero {
                    clearGates(recurrent, rows: count, columns: columns)
                } else {
                    resetGateProduct(rows: count, columns: columns, hIn: hRecurrent, into: recurrent)
                }
                GRUResetBeforeCell.gates(
                    gates: gates, recurrent: recurrent, inputBias: bIH, hiddenBias: bHH, hPrev: hRecurrent,
                    resetHidden: resetHidden, rows: stepRows, batch: count, hidden: H, columns: columns)
                if !recurrentIsZero {
                    if let barrier { rk_barrier_wait(barrier) }
                    candidateProduct(rows: count, columns: columns, resetHidden: resetHidden, into: recurrent)
                }
                GRUResetBeforeCell.candidate(
                    gates: gates, recurrent: recurrent, inputBias: bIH, hiddenBias: bHH, hPrev: hIn, hNext: hOut,
                    output: y, rows: stepRows, batch: count, hidden: H, columns: columns)
            case .rnnTanh, .rnnRelu:
                if !recurrentIsZero {
                    recurrentProduct(rows: count, columns: columns, hIn: hRecurrent, into: gates, accumulate: true)
                }
                VanillaCell.forward(
                    gates: gates, bias: combinedBias, relu: cell == .rnnRelu, hPrev: hIn, hNext: hOut,
                    output: y, rows: stepRows, batch: count, hidden: H, columns: columns)
            }
            if let zoneout = buffers.zoneoutMasks {
                zoneOut(zoneout, time: t, rows: cellShare, columns: tailColumns,
                        stepRows: StepRows(time: t, lengths: lengths.map { $0 + cellShare.lowerBound }),
                        hIn: hIn + cellOffset * R, hOut: hOut + cellOffset * R, output: StridedRows(base: y.base + cellOffset * outputWidth, stride: outputWidth),
                        cIn: cIn + cellOffset * H, cOut: cOut + cellOffset * H)
            }
            if recurrentMask != nil, !last {
                mask(hOut - first * R, into: buffers.maskedStates! + slot(s + 1), rows: cellShare, columns: tailColumns)
            }
            if let barrier, !last { rk_barrier_wait(barrier) }
        }
    }

    /// Zoneout after a step's cell kernel, for the active rows of `rows` and the units `columns`:
    /// where `d_h = 1` the unit keeps its previous value, `h_t = h_{t−1}` (and the output with it),
    /// where `d_c = 1` (LSTM) `c_t = c_{t−1}`. A selection, not `d ⊙ h + (1 − d) ⊙ h̃`: exact.
    /// `hIn`, `hOut`, `cIn`, `cOut` point at row `rows.lowerBound`; `output` likewise.
    @inline(__always)
    private func zoneOut(
        _ masks: (hidden: UnsafeMutablePointer<Scalar>, cell: UnsafeMutablePointer<Scalar>), time t: Int,
        rows: Range<Int>, columns: Range<Int>, stepRows: StepRows,
        hIn: UnsafePointer<Scalar>, hOut: UnsafeMutablePointer<Scalar>, output: StridedRows<Scalar>,
        cIn: UnsafePointer<Scalar>, cOut: UnsafeMutablePointer<Scalar>
    ) {
        let H = hidden, first = rows.lowerBound
        for b in 0..<rows.count where stepRows.isActive(b) {
            let dh = masks.hidden + (t * batch + first + b) * H, dc = masks.cell + (t * batch + first + b) * H
            let y = output.row(b)
            for j in columns {
                if dh[j] != 0 {
                    hOut[b * H + j] = hIn[b * H + j]
                    y[j] = hIn[b * H + j]
                }
                if cell == .lstm, dc[j] != 0 { cOut[b * H + j] = cIn[b * H + j] }
            }
        }
    }

    /// The projected LSTM after a step's cell kernel, for `rows` rows and the units `columns` of
    /// `h` (all `0..<R`, or a column worker's share): `h_t (rows, R) = m (rows, H) · W_hr^T` and
    /// the output with it for the active rows; inactive rows keep `h_{t−1}` and output 0.
    @inline(__always)
    private func project(
        rows count: Int, unprojected m: UnsafePointer<Scalar>, hIn: UnsafePointer<Scalar>,
        hOut: UnsafeMutablePointer<Scalar>, output y: StridedRows<Scalar>, stepRows: StepRows, columns: Range<Int>
    ) {
        let H = hidden, R = state, first = columns.lowerBound
        if let packedWHR {
            Scalar.packedProduct(rows: count, k: H, a: m, lda: H, packed: packedWHR, gates: 1, hidden: R,
                                 columns: columns, accumulate: false, c: hOut, ldc: R)
        } else {
            precondition(columns.count == R, "only packed weights split a step's units across workers")
            Scalar.multiplyTransposed(m: count, n: R, k: H, a: m, lda: H, b: wHR!, ldb: H, beta: 0, c: hOut, ldc: R)
        }
        for b in 0..<count {
            if stepRows.isActive(b) {
                (y.row(b) + first).update(from: hOut + b * R + first, count: columns.count)
            } else {
                (hOut + b * R + first).update(from: hIn + b * R + first, count: columns.count)
                (y.row(b) + first).update(repeating: 0, count: columns.count)
            }
        }
    }

    /// Zeroes the units `columns` of every gate of `rows` rows of a (rows, G·H) buffer: the GRUs'
    /// recurrent product of a step that starts from a zero state.
    @inline(__always)
    private func clearGates(_ c: UnsafeMutablePointer<Scalar>, rows: Int, columns: Range<Int>) {
        let H = hidden, GH = gateWidth
        for b in 0..<rows {
            for g in 0..<cell.gateCount {
                (c + b * GH + g * H + columns.lowerBound).update(repeating: 0, count: columns.count)
            }
        }
    }

    /// Recurrent dropout: `masked[rows, columns] = h[rows, columns] ⊙ m[rows, columns]`, both (B, H) slots.
    @inline(__always)
    private func mask(_ h: UnsafePointer<Scalar>, into masked: UnsafeMutablePointer<Scalar>, rows: Range<Int>, columns: Range<Int>) {
        let m = recurrentMask!
        for b in rows {
            for j in columns { masked[b * hidden + j] = h[b * hidden + j] * m[b * hidden + j] }
        }
    }

    /// `c (rows, G·H) (+)= hIn (rows, R) · W_hh^T` for the units `columns` of every gate.
    @inline(__always)
    private func recurrentProduct(
        rows: Int, columns: Range<Int>, hIn: UnsafePointer<Scalar>, into c: UnsafeMutablePointer<Scalar>,
        accumulate: Bool
    ) {
        let H = hidden, R = state, GH = gateWidth
        if let packedWHH {
            Scalar.packedProduct(rows: rows, k: R, a: hIn, lda: R, packed: packedWHH, gates: cell.gateCount,
                                 hidden: H, columns: columns, accumulate: accumulate, c: c, ldc: GH)
        } else {
            precondition(columns.count == H, "only packed weights split a step's units across workers")
            Scalar.multiplyTransposed(m: rows, n: GH, k: R, a: hIn, lda: R, b: wHH, ldb: R,
                                      beta: accumulate ? 1 : 0, c: c, ldc: GH)
        }
    }

    /// Reset-before GRU: `c[:, 0..<2H] (rows, 3H) = hIn (rows, H) · W_h{r,z}^T` for the units `columns` of `r` and `z`.
    @inline(__always)
    private func resetGateProduct(rows: Int, columns: Range<Int>, hIn: UnsafePointer<Scalar>, into c: UnsafeMutablePointer<Scalar>) {
        let H = hidden, GH = gateWidth
        if let packedWHH {
            Scalar.packedProduct(rows: rows, k: H, a: hIn, lda: H, packed: packedWHH, gates: 2, hidden: H,
                                 columns: columns, accumulate: false, c: c, ldc: GH)
        } else {
            precondition(columns.count == H, "only packed weights split a step's units across workers")
            Scalar.multiplyTransposed(m: rows, n: 2 * H, k: H, a: hIn, lda: H, b: wHH, ldb: H, beta: 0, c: c, ldc: GH)
        }
    }

    /// Reset-before GRU: `c[:, 2H..<3H] (rows, 3H) = (r ⊙ h) (rows, H) · W_hn^T` for the units `columns` of `n`.
    @inline(__always)
    private func candidateProduct(rows: Int, columns: Range<Int>, resetHidden: UnsafePointer<Scalar>,
                                  into c: UnsafeMutablePointer<Scalar>) {
        let H = hidden, GH = gateWidth
        if let packedWHN {
            Scalar.packedProduct(rows: rows, k: H, a: resetHidden, lda: H, packed: packedWHN, gates: 1, hidden: H,
                                 columns: columns, accumulate: false, c: c + 2 * H, ldc: GH)
        } else {
            Scalar.multiplyTransposed(m: rows, n: H, k: H, a: resetHidden, lda: H, b: wHH + 2 * H * H, ldb: H,
                                      beta: 0, c: c + 2 * H, ldc: GH)
        }
    }

    // MARK: Backward

    /// Seeds the carried gradients with `∂L/∂h_n` and `∂L/∂c_n` (zeros when not given) and clears
    /// the bias accumulators of `workers` workers.
    func prepareBackward(dhN: UnsafePointer<Scalar>?, dcN: UnsafePointer<Scalar>?, workers: Int) {
        let count = batch * hidden, stateCount = batch * state
        if let dhN { buffers.dhCarry.update(from: dhN, count: stateCount) } else { buffers.dhCarry.update(repeating: 0, count: stateCount) }
        if cell == .lstm {
            if let dcN { buffers.dcCarry.update(from: dcN, count: count) } else { buffers.dcCarry.update(repeating: 0, count: count) }
        }
        buffers.biasScratch.update(repeating: 0, count: workers * 2 * gateWidth)
        buffers.layerNormScratch?.update(repeating: 0, count: workers * 10 * hidden)
        if peephole != nil { buffers.peepholeScratch!.update(repeating: 0, count: workers * 3 * hidden) }
        // Zoneout: the zero output gradient its kernels read (splitZonedOutGradients).
        buffers.zoneoutScratch?.advanced(by: 2 * batch * hidden).update(repeating: 0, count: batch * hidden)
    }

    /// Every step in reverse processing order for the batch rows `rows`, with the bias gradient
    /// sums of worker `worker`. `outputGradient` is the layer's (T, B, D·R) `∂L/∂y`.
    func backwardSteps(rows: Range<Int>, worker: Int, outputGradient: UnsafePointer<Scalar>, directionColumn: Int) {
        let H = hidden, R = state, GH = gateWidth, B = batch, first = rows.lowerBound, count = rows.count
        guard count > 0 else { return }
        let rowLengths = lengths.map { $0 + first }
        let dInputBias = buffers.biasScratch + worker * 2 * GH                   // (G·H)
        let dHiddenBias = dInputBias + GH                                        // (G·H), GRU
        let dhCarry = buffers.dhCarry + first * R                                // (rows, R)
        let dcCarry = buffers.dcCarry + first * H                                // (rows, H)
        let dPeephole = peephole.map { _ in buffers.peepholeScratch! + worker * 3 * H }  // (3H)
        // ∂L/∂(operand of the recurrent products): with recurrent dropout ∂(m ⊙ h), multiplied by
        // m into dhCarry after the step; else dhCarry itself.
        let dRecurrent = recurrentMask != nil ? buffers.maskedGradient! + first * H : dhCarry  // (rows, H)
        for s in stride(from: steps - 1, through: 0, by: -1) {
            let t = time(s)
            let gates = buffers.gates + (t * B + first) * GH                     // (rows, G·H)
            let hRecurrent = (recurrentMask != nil ? buffers.maskedStates! : buffers.hStates) + (t * B + first) * R  // (rows, R)
            if recurrentMask != nil { dRecurrent.update(repeating: 0, count: count * H) }
            let stepRows = StepRows(time: t, lengths: rowLengths)
            var dY = StridedConstRows(
                base: outputGradient + (t * B + first) * outputWidth + directionColumn, stride: outputWidth)
            if let zoneout = buffers.zoneoutMasks {
                dY = splitZonedOutGradients(zoneout, time: t, rows: rows, stepRows: stepRows, dY: dY)
            }
            switch cell {
            case .lstm where norms != nil:
                let saved = buffers.layerNormSaved!.advanced(toRow: t * B + first, hidden: H)
                LayerNormLSTMCell.backward(
                    gates: gates, norms: norms!, saved: saved, cPrev: buffers.cStates + (t * B + first) * H,
                    tanhC: buffers.tanhC! + (t * B + first) * H, dY: dY, dhCarry: dhCarry, dcCarry: dcCarry,
                    dBias: dInputBias, dNorms: buffers.layerNormScratch! + worker * 10 * H,
                    scratch: buffers.stepScratch + first * GH, rows: stepRows, batch: count, hidden: H)
                // ∂h_prev += ∂z_h · W_hh
                backwardProduct(rows: count, dGates: saved.hidden, into: dRecurrent)
            case .lstm where wHR != nil:
                // ∂h_t = carry + ∂y (active rows; kept for ∂W_hr), ∂m = ∂h_t · W_hr, then the
                // cell's backward with ∂m as its output gradient and a zero carry.
                let dH = buffers.projectedGradients! + (t * B + first) * R       // (rows, R)
                let dM = buffers.stepScratch + first * H                         // (rows, H)
                for b in 0..<count {
                    let carry = dhCarry + b * R, total = dH + b * R
                    if stepRows.isActive(b) {
                        let y = dY.row(b)
                        for j in 0..<R { total[j] = carry[j] + y[j]; carry[j] = 0 }
                    } else {
                        total.update(repeating: 0, count: R)                     // the carry passes through
                    }
                }
                if let wHR {
                    Scalar.multiply(m: count, n: H, k: R, a: dH, lda: R, b: wHR, ldb: H, beta: 0, c: dM, ldc: H)
                }
                LSTMCell.backward(
                    gates: gates, cPrev: buffers.cStates + (t * B + first) * H,
                    tanhC: buffers.tanhC! + (t * B + first) * H, dY: StridedConstRows(base: dM, stride: H),
                    dhCarry: buffers.unprojectedZeros! + first * H, dcCarry: dcCarry,
                    dBias: dInputBias, peephole: peephole, dPeephole: dPeephole, rows: stepRows, batch: count, hidden: H)
                // ∂h_prev += ∂a · W_hh
                backwardProduct(rows: count, dGates: gates, into: dRecurrent)
            case .lstm:
                LSTMCell.backward(
                    gates: gates, cPrev: buffers.cStates + (t * B + first) * H,
                    tanhC: buffers.tanhC! + (t * B + first) * H, dY: dY, dhCarry: dhCarry, dcCarry: dcCarry,
                    dBias: dInputBias, peephole: peephole, dPeephole: dPeephole, rows: stepRows, batch: count, hidden: H)
                // ∂h_prev += ∂a · W_hh
                backwardProduct(rows: count, dGates: gates, into: dRecurrent)
            case .gru:
                let dHidden = buffers.stepScratch + first * GH                   // (rows, 3H)
                GRUCell.backward(
                    gates: gates, hnSaved: buffers.hiddenN! + (t * B + first) * H, dHidden: dHidden,
                    hPrev: buffers.hStates + (t * B + first) * H, dY: dY, dhCarry: dhCarry,
                    dInputBias: dInputBias, dHiddenBias: dHiddenBias, rows: stepRows, batch: count, hidden: H)
                backwardProduct(rows: count, dGates: dHidden, into: dRecurrent)
            case .gruResetBefore:
                let hPrev = buffers.hStates + (t * B + first) * H                // (rows, H)
                let dResetHidden = buffers.stepScratch + first * GH              // (rows, H)
                GRUResetBeforeCell.backward(
                    gates: gates, hPrev: hPrev, dY: dY, dhCarry: dhCarry, dInputBias: dInputBias,
                    dHiddenBias: dHiddenBias, rows: stepRows, batch: count, hidden: H)
                // ∂(r ⊙ h) = ∂a_n · W_hn
                if let packedWHNTransposed {
                    Scalar.packedProduct(rows: count, k: H, a: gates + 2 * H, lda: GH, packed: packedWHNTransposed, gates: 1,
                                         hidden: H, columns: 0..<H, accumulate: false, c: dResetHidden, ldc: H)
                } else {
                    Scalar.multiply(m: count, n: H, k: H, a: gates + 2 * H, lda: GH, b: wHH + 2 * H * H, ldb: H,
                                    beta: 0, c: dResetHidden, ldc: H)
                }
                GRUResetBeforeCell.backwardReset(
                    gates: gates, hPrev: hRecurrent, dResetHidden: dResetHidden, dhCarry: dRecurrent, dInputBias: dInputBias,
                    dHiddenBias: dHiddenBias, rows: stepRows, batch: count, hidden: H)
                // ∂h_prev += [∂a_r, ∂a_z] · W_h{r,z}
                if let packedWHHTransposed {
                    Scalar.packedProduct(rows: count, k: 2 * H, a: gates, lda: GH, packed: packedWHHTransposed, gates: 1,
                                         hidden: H, columns: 0..<H, accumulate: true, c: dRecurrent, ldc: H)
                } else {
                    Scalar.multiply(m: count, n: H, k: 2 * H, a: gates, lda: GH, b: wHH, ldb: H, beta: 1, c: dRecurrent, ldc: H)
                }
            case .rnnTanh, .rnnRelu:
                VanillaCell.backward(
                    gates: gates, relu: cell == .rnnRelu, dY: dY, dhCarry: dhCarry,
                    dBias: dInputBias, rows: stepRows, batch: count, hidden: H)
                backwardProduct(rows: count, dGates: gates, into: dRecurrent)
            }
            if let recurrentMask {
                // ∂h_prev += ∂(m ⊙ h) ⊙ m
                let m = recurrentMask + first * H
                for i in 0..<count * H { dhCarry[i] += dRecurrent[i] * m[i] }
            }
            if buffers.zoneoutMasks != nil {
                // The zoned-out units' gradients go straight to the previous state.
                let kept = buffers.zoneoutScratch! + first * H, keptCell = buffers.zoneoutScratch! + (B + first) * H
                for i in 0..<count * H { dhCarry[i] += kept[i] }
                if cell == .lstm { for i in 0..<count * H { dcCarry[i] += keptCell[i] } }
            }
        }
    }

    /// Zoneout in backward, before a step's kernel, for the active rows of `rows`: `∂L/∂h_t`
    /// (the carry plus the output's gradient) goes to the kernel as `∂L/∂h̃_t` where the unit was
    /// updated, and is kept for `∂L/∂h_{t−1}` where it kept its value; the same for `∂L/∂c_t`.
    /// Returns the zero output gradient the kernel is then given (the carry holds it).
    private func splitZonedOutGradients(
        _ masks: (hidden: UnsafeMutablePointer<Scalar>, cell: UnsafeMutablePointer<Scalar>), time t: Int,
        rows: Range<Int>, stepRows: StepRows, dY: StridedConstRows<Scalar>
    ) -> StridedConstRows<Scalar> {
        let H = hidden, B = batch, first = rows.lowerBound
        let kept = buffers.zoneoutScratch! + first * H, keptCell = buffers.zoneoutScratch! + (B + first) * H
        let zeros = buffers.zoneoutScratch! + 2 * B * H                          // (B, H), zeroed by prepareBackward
        kept.update(repeating: 0, count: rows.count * H)
        keptCell.update(repeating: 0, count: rows.count * H)
        for b in 0..<rows.count where stepRows.isActive(b) {
            let dh = masks.hidden + (t * B + first + b) * H, dc = masks.cell + (t * B + first + b) * H
            let carry = buffers.dhCarry + (first + b) * H, cellCarry = buffers.dcCarry + (first + b) * H
            let y = dY.row(b)
            for j in 0..<H {
                let total = carry[j] + y[j]
                if dh[j] != 0 { kept[b * H + j] = total; carry[j] = 0 } else { carry[j] = total }
                if cell == .lstm, dc[j] != 0 { keptCell[b * H + j] = cellCarry[j]; cellCarry[j] = 0 }
            }
        }
        return StridedConstRows(base: zeros + first * H, stride: H)
    }

    /// `dh (rows, R) += dGates (rows, G·H) · W_hh`, through the packed copy when there is one.
    @inline(__always)
    private func backwardProduct(rows: Int, dGates: UnsafePointer<Scalar>, into dh: UnsafeMutablePointer<Scalar>) {
        let R = state, GH = gateWidth
        if let packedWHHTransposed {
            Scalar.packedProduct(rows: rows, k: GH, a: dGates, lda: GH, packed: packedWHHTransposed, gates: 1,
                                 hidden: R, columns: 0..<R, accumulate: true, c: dh, ldc: R)
        } else {
            Scalar.multiply(m: rows, n: R, k: GH, a: dGates, lda: GH, b: wHH, ldb: R, beta: 1, c: dh, ldc: R)
        }
    }

    /// After the time loop, the rows `gateRows` of the weight gradients (all `0..<G·H`, or one
    /// worker's share): `∂W_ih += ∂a^T · X` and `∂W_hh += ∂a_hh^T · H_prev`, over all T·B rows.
    /// `gates` holds `∂a` by now. With tokens, `∂W_ih += ∂P^T · E` instead, and the columns
    /// `gateRows` of `∂P` are left in the table for ``accumulateInputGradient(_:rows:)``.
    func accumulateWeightGradients(
        dWIH: UnsafeMutablePointer<Scalar>, dWHH: UnsafeMutablePointer<Scalar>, gateRows: Range<Int>
    ) {
        let H = hidden, R = state, GH = gateWidth, rowCount = steps * batch
        guard !gateRows.isEmpty else { return }
        if let tokens {
            // ∂P[v, gateRows] = Σ_{n: ids[n] = v} ∂a[n, gateRows]
            let V = tokens.vocabulary, first = gateRows.lowerBound, width = gateRows.count
            for v in 0..<V { (tokens.table + v * GH + first).update(repeating: 0, count: width) }
            for n in 0..<rowCount {
                let sum = tokens.table + tokens.ids[n] * GH + first, dA = buffers.gates + n * GH + first
                for j in 0..<width { sum[j] += dA[j] }
            }
            Scalar.gemm(transposeA: true, transposeB: false, m: width, n: inputWidth, k: V,
                        alpha: 1, a: tokens.table + first, lda: GH, b: tokens.embedding, ldb: inputWidth,
                        beta: 1, c: dWIH + first * inputWidth, ldc: inputWidth)
        } else {
            Scalar.gemm(transposeA: true, transposeB: false, m: gateRows.count, n: inputWidth, k: rowCount,
                        alpha: 1, a: buffers.gates + gateRows.lowerBound, lda: GH, b: input, ldb: inputWidth,
                        beta: 1, c: dWIH + gateRows.lowerBound * inputWidth, ldc: inputWidth)
        }
        // GRU: the r and z rows see the same gradient on both sides; the n rows see ∂hh_n = ∂x_n ⊙ r
        // against h, or (reset-before) ∂a_n against r ⊙ h. With recurrent dropout h is m ⊙ h.
        let statesIn = UnsafePointer(recurrentMask != nil ? buffers.maskedStates! : buffers.hStates)  // (T·B, R)
        let sharedRows = cell.isGRU ? gateRows.clamped(to: 0..<2 * H) : gateRows
        // The layer-normalised LSTM's recurrent side has a gradient of its own, ∂z_h.
        let hiddenSide = buffers.layerNormSaved.map { UnsafePointer($0.hidden) } ?? UnsafePointer(buffers.gates)  // (T·B, G·H)
        if !sharedRows.isEmpty {
            Scalar.gemm(transposeA: true, transposeB: false, m: sharedRows.count, n: R, k: rowCount,
                        alpha: 1, a: hiddenSide + sharedRows.lowerBound, lda: GH, b: statesIn, ldb: R,
                        beta: 1, c: dWHH + sharedRows.lowerBound * R, ldc: R)
        }
        let newGateRows = cell.isGRU ? gateRows.clamped(to: 2 * H..<3 * H) : 0..<0
        if !newGateRows.isEmpty, cell == .gruResetBefore {
            Scalar.gemm(transposeA: true, transposeB: false, m: newGateRows.count, n: H, k: rowCount,
                        alpha: 1, a: buffers.gates + newGateRows.lowerBound, lda: GH,
                        b: buffers.resetHidden!, ldb: H, beta: 1, c: dWHH + newGateRows.lowerBound * H, ldc: H)
        } else if !newGateRows.isEmpty {
            Scalar.gemm(transposeA: true, transposeB: false, m: newGateRows.count, n: H, k: rowCount,
                        alpha: 1, a: buffers.hiddenN! + (newGateRows.lowerBound - 2 * H), lda: H,
                        b: statesIn, ldb: H, beta: 1, c: dWHH + newGateRows.lowerBound * H, ldc: H)
        }
    }

    /// Projected LSTM, after the time loop: `∂W_hr (P, H) += ∂H^T · M` over all `T·B` rows, from
    /// every step's `∂L/∂h_t` (``DirectionBuffers/projectedGradients``) and `m`; rows of inactive
    /// steps are zero in both.
    func accumulateProjectionGradient(_ dWHR: UnsafeMutablePointer<Scalar>) {
        guard let dH = buffers.projectedGradients, let m = buffers.unprojected else { return }
        Scalar.gemm(transposeA: true, transposeB: false, m: state, n: hidden, k: steps * batch,
                    alpha: 1, a: dH, lda: state, b: m, ldb: hidden, beta: 1, c: dWHR, ldc: hidden)
    }

    /// After the time loop: the bias gradients, summed over the time-loop workers' accumulators.
    func accumulateBiasGradients(dbIH: UnsafeMutablePointer<Scalar>, dbHH: UnsafeMutablePointer<Scalar>, workers: Int) {
        let GH = gateWidth
        for worker in 0..<workers {
            let inputSide = buffers.biasScratch + worker * 2 * GH
            // LSTM and RNN: one sum serves b_ih and b_hh; GRU: the hidden side is summed apart.
            let hiddenSide = cell.isGRU ? inputSide + GH : inputSide
            for j in 0..<GH {
                dbIH[j] += inputSide[j]
                dbHH[j] += hiddenSide[j]
            }
        }
    }

    /// After the time loop, with layer normalisation: the gains' and shifts' gradients into their
    /// 18H block `dNorms` (laid out as ``LayerNormParameters``), from the time-loop workers' sums;
    /// `∂β_x` and `∂β_h` are the bias gradient (`β` adds to `a` as `b` does).
    func accumulateLayerNormGradients(_ dNorms: UnsafeMutablePointer<Scalar>, workers: Int) {
        guard let sums = buffers.layerNormScratch else { return }
        let H = hidden, GH = gateWidth
        let inputSite = LayerNormParameters<Scalar>.offsets(.input, hidden: H)
        let hiddenSite = LayerNormParameters<Scalar>.offsets(.hidden, hidden: H)
        let cellSite = LayerNormParameters<Scalar>.offsets(.cell, hidden: H)
        let dInputGain = dNorms + inputSite.gain, dInputShift = dNorms + inputSite.shift
        let dHiddenGain = dNorms + hiddenSite.gain, dHiddenShift = dNorms + hiddenSite.shift
        let dCellGain = dNorms + cellSite.gain, dCellShift = dNorms + cellSite.shift
        for worker in 0..<workers {
            let base = sums + worker * 10 * H, bias = buffers.biasScratch + worker * 2 * GH
            for k in 0..<GH {
                dInputGain[k] += base[k]
                dHiddenGain[k] += base[GH + k]
                dInputShift[k] += bias[k]
                dHiddenShift[k] += bias[k]
            }
            for j in 0..<H {
                dCellGain[j] += base[2 * GH + j]
                dCellShift[j] += base[2 * GH + H + j]
            }
        }
    }

    /// After the time loop, with peepholes: `∂p (3H) +=` the time-loop workers' sums.
    func accumulatePeepholeGradients(_ dPeephole: UnsafeMutablePointer<Scalar>, workers: Int) {
        guard peephole != nil, let sums = buffers.peepholeScratch else { return }
        let count = 3 * hidden
        for worker in 0..<workers {
            for j in 0..<count { dPeephole[j] += sums[worker * count + j] }
        }
    }

    /// Rows of the input gradient: `T·B` positions, or the `V` tokens of a ``TokenProjection``.
    var inputGradientRows: Int { tokens?.vocabulary ?? steps * batch }

    /// `∂X (T·B, I_k) += ∂a · W_ih` — with tokens `∂E (V, I) += ∂P · W_ih` — for the rows `rows`
    /// of ``inputGradientRows`` (all, or one worker's share), after ``accumulateWeightGradients(dWIH:dWHH:gateRows:)``.
    func accumulateInputGradient(_ dInput: UnsafeMutablePointer<Scalar>, rows: Range<Int>) {
        let GH = gateWidth
        guard !rows.isEmpty else { return }
        let dA = tokens?.table ?? buffers.gates                                  // (T·B or V, G·H)
        Scalar.multiply(m: rows.count, n: inputWidth, k: GH, a: dA + rows.lowerBound * GH, lda: GH,
                        b: wIH, ldb: inputWidth, beta: 1, c: dInput + rows.lowerBound * inputWidth, ldc: inputWidth)
    }
}
