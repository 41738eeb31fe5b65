// The row kernels of the cells and the packed recurrent product, chosen by scalar type:
// Float calls the vectorised C kernels (Sources/CRNNKitKernels), Double the Swift reference
// loops beside each cell (LSTMCell.forwardReference, …), which are the oracle the tests hold the
// C kernels to. Dimension legend and buffer conventions: see StepRows.swift; the argument lists
// are those of the C kernels in rnnkit_kernels.h, whose comments say what each buffer holds.

import CRNNKitKernels

/// The per-row cell kernels and the packed product a scalar type provides (see ``RNNScalar``).
/// The layers call them; a program using RNNKit does not need to.
public protocol CellRowKernels {
    /// LSTM forward of units `0..<count` of one row (``LSTMCell/forward`` documents the buffers).
    static func lstmForwardRow(
        gates: UnsafeMutablePointer<Self>, bias: UnsafePointer<Self>, cPrev: UnsafePointer<Self>,
        cNext: UnsafeMutablePointer<Self>, hNext: UnsafeMutablePointer<Self>, tanhC: UnsafeMutablePointer<Self>?,
        output: UnsafeMutablePointer<Self>, count: Int, hidden: Int)
    /// LSTM backward of one row (``LSTMCell/backward`` documents the buffers).
    static func lstmBackwardRow(
        gates: UnsafeMutablePointer<Self>, cPrev: UnsafePointer<Self>, tanhC: UnsafePointer<Self>,
        dY: UnsafePointer<Self>, dhCarry: UnsafeMutablePointer<Self>, dcCarry: UnsafeMutablePointer<Self>,
        dBias: UnsafeMutablePointer<Self>, hidden: Int)
    /// LSTM forward with peepholes `peephole` (3H, offset like `bias`), one row.
    static func lstmPeepholeForwardRow(
        gates: UnsafeMutablePointer<Self>, bias: UnsafePointer<Self>, peephole: UnsafePointer<Self>,
        cPrev: UnsafePointer<Self>, cNext: UnsafeMutablePointer<Self>, hNext: UnsafeMutablePointer<Self>,
        tanhC: UnsafeMutablePointer<Self>?, output: UnsafeMutablePointer<Self>, count: Int, hidden: Int)
    /// LSTM backward with peepholes, one row; `dPeephole` (3H) `+=` their gradient.
    static func lstmPeepholeBackwardRow(
        gates: UnsafeMutablePointer<Self>, peephole: UnsafePointer<Self>, cPrev: UnsafePointer<Self>,
        tanhC: UnsafePointer<Self>, dY: UnsafePointer<Self>, dhCarry: UnsafeMutablePointer<Self>,
        dcCarry: UnsafeMutablePointer<Self>, dBias: UnsafeMutablePointer<Self>, dPeephole: UnsafeMutablePointer<Self>,
        hidden: Int)
    /// Layer-normalised LSTM forward of one active row (``LayerNormLSTMCell/forward``; `norms` is
    /// the 18H block of gains and shifts).
    static func layerNormLSTMForwardRow(
        gates: UnsafeMutablePointer<Self>, recurrent: UnsafePointer<Self>, bias: UnsafePointer<Self>,
        norms: UnsafePointer<Self>, cPrev: UnsafePointer<Self>, cNext: UnsafeMutablePointer<Self>,
        hNext: UnsafeMutablePointer<Self>, tanhC: UnsafeMutablePointer<Self>?, output: UnsafeMutablePointer<Self>,
        savedInput: UnsafeMutablePointer<Self>, savedHidden: UnsafeMutablePointer<Self>,
        savedCell: UnsafeMutablePointer<Self>, inverseDeviations: UnsafeMutablePointer<Self>, hidden: Int)
    /// Layer-normalised LSTM backward of one active row (``LayerNormLSTMCell/backward``).
    static func layerNormLSTMBackwardRow(
        gates: UnsafeMutablePointer<Self>, norms: UnsafePointer<Self>, savedInput: UnsafePointer<Self>,
        savedHidden: UnsafeMutablePointer<Self>, savedCell: UnsafePointer<Self>, inverseDeviations: UnsafePointer<Self>,
        cPrev: UnsafePointer<Self>, tanhC: UnsafePointer<Self>, dY: UnsafePointer<Self>,
        dhCarry: UnsafeMutablePointer<Self>, dcCarry: UnsafeMutablePointer<Self>, dBias: UnsafeMutablePointer<Self>,
        dNorms: UnsafeMutablePointer<Self>, scratch: UnsafeMutablePointer<Self>, hidden: Int)
    /// GRU reset-before, the gates `r, z` and `r ⊙ h` of one row (``GRUResetBeforeCell/gates``).
    static func gruResetGatesRow(
        gates: UnsafeMutablePointer<Self>, recurrent: UnsafePointer<Self>, inputBias: UnsafePointer<Self>,
        hiddenBias: UnsafePointer<Self>, hPrev: UnsafePointer<Self>, resetHidden: UnsafeMutablePointer<Self>,
        count: Int, hidden: Int)
    /// GRU reset-before, the candidate `n` and the new state of one row (``GRUResetBeforeCell/candidate``).
    static func gruResetCandidateRow(
        gates: UnsafeMutablePointer<Self>, recurrent: UnsafePointer<Self>, inputBias: UnsafePointer<Self>,
        hiddenBias: UnsafePointer<Self>, hPrev: UnsafePointer<Self>, hNext: UnsafeMutablePointer<Self>,
        output: UnsafeMutablePointer<Self>, count: Int, hidden: Int)
    /// GRU reset-before, backward through `h'` and `n` of one row (``GRUResetBeforeCell/backward``).
    static func gruResetBackwardRow(
        gates: UnsafeMutablePointer<Self>, hPrev: UnsafePointer<Self>, dY: UnsafePointer<Self>,
        dhCarry: UnsafeMutablePointer<Self>, dInputBias: UnsafeMutablePointer<Self>,
        dHiddenBias: UnsafeMutablePointer<Self>, hidden: Int)
    /// GRU reset-before, backward through `r ⊙ h` of one row (``GRUResetBeforeCell/backwardReset``).
    static func gruResetBackwardResetRow(
        gates: UnsafeMutablePointer<Self>, hPrev: UnsafePointer<Self>, dResetHidden: UnsafePointer<Self>,
        dhCarry: UnsafeMutablePointer<Self>, dInputBias: UnsafeMutablePointer<Self>,
        dHiddenBias: UnsafeMutablePointer<Self>, hidden: Int)
    /// GRU forward of units `0..<count` of one row (``GRUCell/forward`` documents the buffers).
    static func gruForwardRow(
        gates: UnsafeMutablePointer<Self>, recurrent: UnsafePointer<Self>, inputBias: UnsafePointer<Self>,
        hiddenBias: UnsafePointer<Self>, hPrev: UnsafePointer<Self>, hNext: UnsafeMutablePointer<Self>,
        hnSaved: UnsafeMutablePointer<Self>?, output: UnsafeMutablePointer<Self>, count: Int, hidden: Int)
    /// GRU backward of one row (``GRUCell/backward`` documents the buffers).
    static func gruBackwardRow(
        gates: UnsafeMutablePointer<Self>, hnSaved: UnsafeMutablePointer<Self>, dHidden: UnsafeMutablePointer<Self>,
        hPrev: UnsafePointer<Self>, dY: UnsafePointer<Self>, dhCarry: UnsafeMutablePointer<Self>,
        dInputBias: UnsafeMutablePointer<Self>, dHiddenBias: UnsafeMutablePointer<Self>, hidden: Int)
    /// Vanilla RNN forward of units `0..<count` of one row (``VanillaCell/forward``).
    static func rnnForwardRow(
        gates: UnsafeMutablePointer<Self>, bias: UnsafePointer<Self>, relu: Bool,
        hNext: UnsafeMutablePointer<Self>, output: UnsafeMutablePointer<Self>, count: Int)
    /// Vanilla RNN backward of one row (``VanillaCell/backward``).
    static func rnnBackwardRow(
        gates: UnsafeMutablePointer<Self>, relu: Bool, dY: UnsafePointer<Self>,
        dhCarry: UnsafeMutablePointer<Self>, dBias: UnsafeMutablePointer<Self>, hidden: Int)

    /// Whether this type multiplies through weights packed once (``PackedWeights``): Float on
    /// CPUs where `rk_packed_product` has vector registers (AVX2+FMA or AVX-512).
    static var hasPackedProduct: Bool { get }
    /// `rk_pack_recurrent`: packs `w` (`G·H` rows of `width`) for ``packedProduct``.
    static func packRows(gates: Int, hidden: Int, width: Int, _ w: UnsafePointer<Self>, into packed: UnsafeMutablePointer<Self>)
    /// `rk_pack_transposed`: packs `w` stored `(k, n)` as the right operand of `A (M, k) · w`.
    static func packTransposed(k: Int, n: Int, _ w: UnsafePointer<Self>, into packed: UnsafeMutablePointer<Self>)
    /// `rk_packed_product`: `C (M, G·H) (+)= A (M, K) · W^T` for the units `columns` of every gate.
    static func packedProduct(
        rows m: Int, k: Int, a: UnsafePointer<Self>, lda: Int, packed: UnsafePointer<Self>, gates: Int,
        hidden: Int, columns: Range<Int>, accumulate: Bool, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// `C (m, n) = beta · C + A (m, k) · B^T` for `m ≤ 8` rows, `B` stored `(n, k)`.
    static func fewRowsProduct(
        m: Int, n: Int, k: Int, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// `y[i] = tanh(x[i])` for `i < count` (`y` may be `x`): `rk_tanh_f32`, or the libm loop.
    static func tanhRow(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, count: Int)
}

extension Float: CellRowKernels {
    @inline(__always)
    public static func lstmForwardRow(
        gates: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, cPrev: UnsafePointer<Float>,
        cNext: UnsafeMutablePointer<Float>, hNext: UnsafeMutablePointer<Float>, tanhC: UnsafeMutablePointer<Float>?,
        output: UnsafeMutablePointer<Float>, count: Int, hidden: Int
    ) {
        rk_lstm_forward_row(gates, bias, cPrev, cNext, hNext, tanhC, output, Int64(count), Int64(hidden))
    }

    @inline(__always)
    public static func lstmBackwardRow(
        gates: UnsafeMutablePointer<Float>, cPrev: UnsafePointer<Float>, tanhC: UnsafePointer<Float>,
        dY: UnsafePointer<Float>, dhCarry: UnsafeMutablePointer<Float>, dcCarry: UnsafeMutablePointer<Float>,
        dBias: UnsafeMutablePointer<Float>, hidden: Int
    ) {
        rk_lstm_backward_row(gates, cPrev, tanhC, dY, dhCarry, dcCarry, dBias, Int64(hidden))
    }

    @inline(__always)
    public static func lstmPeepholeForwardRow(
        gates: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, peephole: UnsafePointer<Float>,
        cPrev: UnsafePointer<Float>, cNext: UnsafeMutablePointer<Float>, hNext: UnsafeMutablePointer<Float>,
        tanhC: UnsafeMutablePointer<Float>?, output: UnsafeMutablePointer<Float>, count: Int, hidden: Int
    ) {
        rk_lstm_peephole_forward_row(gates, bias, peephole, cPrev, cNext, hNext, tanhC, output, Int64(count), Int64(hidden))
    }

    @inline(__always)
    public static func lstmPeepholeBackwardRow(
        gates: UnsafeMutablePointer<Float>, peephole: UnsafePointer<Float>, cPrev: UnsafePointer<Float>,
        tanhC: UnsafePointer<Float>, dY: UnsafePointer<Float>, dhCarry: UnsafeMutablePointer<Float>,
        dcCarry: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>, dPeephole: UnsafeMutablePointer<Float>,
        hidden: Int
    ) {
        rk_lstm_peephole_backward_row(gates, peephole, cPrev, tanhC, dY, dhCarry, dcCarry, dBias, dPeephole, Int64(hidden))
    }

    @inline(__always)
    public static func layerNormLSTMForwardRow(
        gates: UnsafeMutablePointer<Float>, recurrent: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        norms: UnsafePointer<Float>, cPrev: UnsafePointer<Float>, cNext: UnsafeMutablePointer<Float>,
        hNext: UnsafeMutablePointer<Float>, tanhC: UnsafeMutablePointer<Float>?, output: UnsafeMutablePointer<Float>,
        savedInput: UnsafeMutablePointer<Float>, savedHidden: UnsafeMutablePointer<Float>,
        savedCell: UnsafeMutablePointer<Float>, inverseDeviations: UnsafeMutablePointer<Float>, hidden: Int
    ) {
        rk_lstm_layernorm_forward_row(gates, recurrent, bias, norms, cPrev, cNext, hNext, tanhC, output,
                                      savedInput, savedHidden, savedCell, inverseDeviations, Int64(hidden))
    }

    @inline(__always)
    public static func layerNormLSTMBackwardRow(
        gates: UnsafeMutablePointer<Float>, norms: UnsafePointer<Float>, savedInput: UnsafePointer<Float>,
        savedHidden: UnsafeMutablePointer<Float>, savedCell: UnsafePointer<Float>, inverseDeviations: UnsafePointer<Float>,
        cPrev: UnsafePointer<Float>, tanhC: UnsafePointer<Float>, dY: UnsafePointer<Float>,
        dhCarry: UnsafeMutablePointer<Float>, dcCarry: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>,
        dNorms: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, hidden: Int
    ) {
        rk_lstm_layernorm_backward_row(gates, norms, savedInput, savedHidden, savedCell, inverseDeviations, cPrev, tanhC,
                                       dY, dhCarry, dcCarry, dBias, dNorms, scratch, Int64(hidden))
    }

    @inline(__always)
    public static func gruResetGatesRow(
        gates: UnsafeMutablePointer<Float>, recurrent: UnsafePointer<Float>, inputBias: UnsafePointer<Float>,
        hiddenBias: UnsafePointer<Float>, hPrev: UnsafePointer<Float>, resetHidden: UnsafeMutablePointer<Float>,
        count: Int, hidden: Int
    ) {
        rk_gru_reset_gates_row(gates, recurrent, inputBias, hiddenBias, hPrev, resetHidden, Int64(count), Int64(hidden))
    }

    @inline(__always)
    public static func gruResetCandidateRow(
        gates: UnsafeMutablePointer<Float>, recurrent: UnsafePointer<Float>, inputBias: UnsafePointer<Float>,
        hiddenBias: UnsafePointer<Float>, hPrev: UnsafePointer<Float>, hNext: UnsafeMutablePointer<Float>,
        output: UnsafeMutablePointer<Float>, count: Int, hidden: Int
    ) {
        rk_gru_reset_candidate_row(gates, recurrent, inputBias, hiddenBias, hPrev, hNext, output, Int64(count), Int64(hidden))
    }

    @inline(__always)
    public static func gruResetBackwardRow(
        gates: UnsafeMutablePointer<Float>, hPrev: UnsafePointer<Float>, dY: UnsafePointer<Float>,
        dhCarry: UnsafeMutablePointer<Float>, dInputBias: UnsafeMutablePointer<Float>,
        dHiddenBias: UnsafeMutablePointer<Float>, hidden: Int
    ) {
        rk_gru_reset_backward_row(gates, hPrev, dY, dhCarry, dInputBias, dHiddenBias, Int64(hidden))
    }

    @inline(__always)
    public static func gruResetBackwardResetRow(
        gates: UnsafeMutablePointer<Float>, hPrev: UnsafePointer<Float>, dResetHidden: UnsafePointer<Float>,
        dhCarry: UnsafeMutablePointer<Float>, dInputBias: UnsafeMutablePointer<Float>,
        dHiddenBias: UnsafeMutablePointer<Float>, hidden: Int
    ) {
        rk_gru_reset_backward_reset_row(gates, hPrev, dResetHidden, dhCarry, dInputBias, dHiddenBias, Int64(hidden))
    }

    @inline(__always)
    public static func gruForwardRow(
        gates: UnsafeMutablePointer<Float>, recurrent: UnsafePointer<Float>, inputBias: UnsafePointer<Float>,
        hiddenBias: UnsafePointer<Float>, hPrev: UnsafePointer<Float>, hNext: UnsafeMutablePointer<Float>,
        hnSaved: UnsafeMutablePointer<Float>?, output: UnsafeMutablePointer<Float>, count: Int, hidden: Int
    ) {
        rk_gru_forward_row(gates, recurrent, inputBias, hiddenBias, hPrev, hNext, hnSaved, output,
                           Int64(count), Int64(hidden))
    }

    @inline(__always)
    public static func gruBackwardRow(
        gates: UnsafeMutablePointer<Float>, hnSaved: UnsafeMutablePointer<Float>, dHidden: UnsafeMutablePointer<Float>,
        hPrev: UnsafePointer<Float>, dY: UnsafePointer<Float>, dhCarry: UnsafeMutablePointer<Float>,
        dInputBias: UnsafeMutablePointer<Float>, dHiddenBias: UnsafeMutablePointer<Float>, hidden: Int
    ) {
        rk_gru_backward_row(gates, hnSaved, dHidden, hPrev, dY, dhCarry, dInputBias, dHiddenBias, Int64(hidden))
    }

    @inline(__always)
    public static func rnnForwardRow(
        gates: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, relu: Bool,
        hNext: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int
    ) {
        rk_rnn_forward_row(gates, bias, relu ? 1 : 0, hNext, output, Int64(count))
    }

    @inline(__always)
    public static func rnnBackwardRow(
        gates: UnsafeMutablePointer<Float>, relu: Bool, dY: UnsafePointer<Float>,
        dhCarry: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>, hidden: Int
    ) {
        rk_rnn_backward_row(gates, relu ? 1 : 0, dY, dhCarry, dBias, Int64(hidden))
    }

    public static var hasPackedProduct: Bool { rk_packed_product_is_fast() != 0 }

    @inline(__always)
    public static func packRows(gates: Int, hidden: Int, width: Int, _ w: UnsafePointer<Float>, into packed: UnsafeMutablePointer<Float>) {
        rk_pack_recurrent(Int64(gates), Int64(hidden), Int64(width), w, Int64(width), packed)
    }

    @inline(__always)
    public static func packTransposed(k: Int, n: Int, _ w: UnsafePointer<Float>, into packed: UnsafeMutablePointer<Float>) {
        rk_pack_transposed(Int64(k), Int64(n), w, Int64(n), packed)
    }

    @inline(__always)
    public static func packedProduct(
        rows m: Int, k: Int, a: UnsafePointer<Float>, lda: Int, packed: UnsafePointer<Float>, gates: Int,
        hidden: Int, columns: Range<Int>, accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        rk_packed_product(Int64(m), Int64(k), a, Int64(lda), packed, Int64(gates), Int64(hidden),
                          Int64(columns.lowerBound), Int64(columns.upperBound), accumulate ? 1 : 0, c, Int64(ldc))
    }

    @inline(__always)
    public static func fewRowsProduct(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        rk_gemm_nt_few_rows(Int64(m), Int64(n), Int64(k), a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
    }

    @inline(__always)
    public static func tanhRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        rk_tanh_f32(x, y, Int64(count))
    }
}

extension Double: CellRowKernels {
    @inline(__always)
    public static func lstmForwardRow(
        gates: UnsafeMutablePointer<Double>, bias: UnsafePointer<Double>, cPrev: UnsafePointer<Double>,
        cNext: UnsafeMutablePointer<Double>, hNext: UnsafeMutablePointer<Double>, tanhC: UnsafeMutablePointer<Double>?,
        output: UnsafeMutablePointer<Double>, count: Int, hidden: Int
    ) {
        LSTMCell.forwardReference(gates: gates, bias: bias, cPrev: cPrev, cNext: cNext, hNext: hNext, tanhC: tanhC,
                                  output: output, count: count, hidden: hidden)
    }

    @inline(__always)
    public static func lstmBackwardRow(
        gates: UnsafeMutablePointer<Double>, cPrev: UnsafePointer<Double>, tanhC: UnsafePointer<Double>,
        dY: UnsafePointer<Double>, dhCarry: UnsafeMutablePointer<Double>, dcCarry: UnsafeMutablePointer<Double>,
        dBias: UnsafeMutablePointer<Double>, hidden: Int
    ) {
        LSTMCell.backwardReference(gates: gates, cPrev: cPrev, tanhC: tanhC, dY: dY, dhCarry: dhCarry,
                                   dcCarry: dcCarry, dBias: dBias, hidden: hidden)
    }

    @inline(__always)
    public static func lstmPeepholeForwardRow(
        gates: UnsafeMutablePointer<Double>, bias: UnsafePointer<Double>, peephole: UnsafePointer<Double>,
        cPrev: UnsafePointer<Double>, cNext: UnsafeMutablePointer<Double>, hNext: UnsafeMutablePointer<Double>,
        tanhC: UnsafeMutablePointer<Double>?, output: UnsafeMutablePointer<Double>, count: Int, hidden: Int
    ) {
        LSTMCell.forwardReference(gates: gates, bias: bias, peephole: peephole, cPrev: cPrev, cNext: cNext, hNext: hNext,
                                  tanhC: tanhC, output: output, count: count, hidden: hidden)
    }

    @inline(__always)
    public static func lstmPeepholeBackwardRow(
        gates: UnsafeMutablePointer<Double>, peephole: UnsafePointer<Double>, cPrev: UnsafePointer<Double>,
        tanhC: UnsafePointer<Double>, dY: UnsafePointer<Double>, dhCarry: UnsafeMutablePointer<Double>,
        dcCarry: UnsafeMutablePointer<Double>, dBias: UnsafeMutablePointer<Double>, dPeephole: UnsafeMutablePointer<Double>,
        hidden: Int
    ) {
        LSTMCell.backwardReference(gates: gates, cPrev: cPrev, tanhC: tanhC, dY: dY, dhCarry: dhCarry, dcCarry: dcCarry,
                                   dBias: dBias, peephole: peephole, dPeephole: dPeephole, hidden: hidden)
    }

    @inline(__always)
    public static func layerNormLSTMForwardRow(
        gates: UnsafeMutablePointer<Double>, recurrent: UnsafePointer<Double>, bias: UnsafePointer<Double>,
        norms: UnsafePointer<Double>, cPrev: UnsafePointer<Double>, cNext: UnsafeMutablePointer<Double>,
        hNext: UnsafeMutablePointer<Double>, tanhC: UnsafeMutablePointer<Double>?, output: UnsafeMutablePointer<Double>,
        savedInput: UnsafeMutablePointer<Double>, savedHidden: UnsafeMutablePointer<Double>,
        savedCell: UnsafeMutablePointer<Double>, inverseDeviations: UnsafeMutablePointer<Double>, hidden: Int
    ) {
        LayerNormLSTMCell.forwardReference(gates: gates, recurrent: recurrent, bias: bias, norms: norms, cPrev: cPrev,
                                           cNext: cNext, hNext: hNext, tanhC: tanhC, output: output, savedInput: savedInput,
                                           savedHidden: savedHidden, savedCell: savedCell,
                                           inverseDeviations: inverseDeviations, hidden: hidden)
    }

    @inline(__always)
    public static func layerNormLSTMBackwardRow(
        gates: UnsafeMutablePointer<Double>, norms: UnsafePointer<Double>, savedInput: UnsafePointer<Double>,
        savedHidden: UnsafeMutablePointer<Double>, savedCell: UnsafePointer<Double>, inverseDeviations: UnsafePointer<Double>,
        cPrev: UnsafePointer<Double>, tanhC: UnsafePointer<Double>, dY: UnsafePointer<Double>,
        dhCarry: UnsafeMutablePointer<Double>, dcCarry: UnsafeMutablePointer<Double>, dBias: UnsafeMutablePointer<Double>,
        dNorms: UnsafeMutablePointer<Double>, scratch: UnsafeMutablePointer<Double>, hidden: Int
    ) {
        LayerNormLSTMCell.backwardReference(gates: gates, norms: norms, savedInput: savedInput, savedHidden: savedHidden,
                                            savedCell: savedCell, inverseDeviations: inverseDeviations, cPrev: cPrev,
                                            tanhC: tanhC, dY: dY, dhCarry: dhCarry, dcCarry: dcCarry, dBias: dBias,
                                            dNorms: dNorms, scratch: scratch, hidden: hidden)
    }

    @inline(__always)
    public static func gruResetGatesRow(
        gates: UnsafeMutablePointer<Double>, recurrent: UnsafePointer<Double>, inputBias: UnsafePointer<Double>,
        hiddenBias: UnsafePointer<Double>, hPrev: UnsafePointer<Double>, resetHidden: UnsafeMutablePointer<Double>,
        count: Int, hidden: Int
    ) {
        GRUResetBeforeCell.gatesReference(gates: gates, recurrent: recurrent, inputBias: inputBias, hiddenBias: hiddenBias,
                                          hPrev: hPrev, resetHidden: resetHidden, count: count, hidden: hidden)
    }

    @inline(__always)
    public static func gruResetCandidateRow(
        gates: UnsafeMutablePointer<Double>, recurrent: UnsafePointer<Double>, inputBias: UnsafePointer<Double>,
        hiddenBias: UnsafePointer<Double>, hPrev: UnsafePointer<Double>, hNext: UnsafeMutablePointer<Double>,
        output: UnsafeMutablePointer<Double>, count: Int, hidden: Int
    ) {
        GRUResetBeforeCell.candidateReference(gates: gates, recurrent: recurrent, inputBias: inputBias, hiddenBias: hiddenBias,
                                              hPrev: hPrev, hNext: hNext, output: output, count: count, hidden: hidden)
    }

    @inline(__always)
    public static func gruResetBackwardRow(
        gates: UnsafeMutablePointer<Double>, hPrev: UnsafePointer<Double>, dY: UnsafePointer<Double>,
        dhCarry: UnsafeMutablePointer<Double>, dInputBias: UnsafeMutablePointer<Double>,
        dHiddenBias: UnsafeMutablePointer<Double>, hidden: Int
    ) {
        GRUResetBeforeCell.backwardReference(gates: gates, hPrev: hPrev, dY: dY, dhCarry: dhCarry,
                                             dInputBias: dInputBias, dHiddenBias: dHiddenBias, hidden: hidden)
    }

    @inline(__always)
    public static func gruResetBackwardResetRow(
        gates: UnsafeMutablePointer<Double>, hPrev: UnsafePointer<Double>, dResetHidden: UnsafePointer<Double>,
        dhCarry: UnsafeMutablePointer<Double>, dInputBias: UnsafeMutablePointer<Double>,
        dHiddenBias: UnsafeMutablePointer<Double>, hidden: Int
    ) {
        GRUResetBeforeCell.backwardResetReference(gates: gates, hPrev: hPrev, dResetHidden: dResetHidden, dhCarry: dhCarry,
                                                  dInputBias: dInputBias, dHiddenBias: dHiddenBias, hidden: hidden)
    }

    @inline(__always)
    public static func gruForwardRow(
        gates: UnsafeMutablePointer<Double>, recurrent: UnsafePointer<Double>, inputBias: UnsafePointer<Double>,
        hiddenBias: UnsafePointer<Double>, hPrev: UnsafePointer<Double>, hNext: UnsafeMutablePointer<Double>,
        hnSaved: UnsafeMutablePointer<Double>?, output: UnsafeMutablePointer<Double>, count: Int, hidden: Int
    ) {
        GRUCell.forwardReference(gates: gates, recurrent: recurrent, inputBias: inputBias, hiddenBias: hiddenBias,
                                 hnSaved: hnSaved, hPrev: hPrev, hNext: hNext, output: output, count: count, hidden: hidden)
    }

    @inline(__always)
    public static func gruBackwardRow(
        gates: UnsafeMutablePointer<Double>, hnSaved: UnsafeMutablePointer<Double>, dHidden: UnsafeMutablePointer<Double>,
        hPrev: UnsafePointer<Double>, dY: UnsafePointer<Double>, dhCarry: UnsafeMutablePointer<Double>,
        dInputBias: UnsafeMutablePointer<Double>, dHiddenBias: UnsafeMutablePointer<Double>, hidden: Int
    ) {
        GRUCell.backwardReference(gates: gates, hnSaved: hnSaved, dHidden: dHidden, hPrev: hPrev, dY: dY,
                                  dhCarry: dhCarry, dInputBias: dInputBias, dHiddenBias: dHiddenBias, hidden: hidden)
    }

    @inline(__always)
    public static func rnnForwardRow(
        gates: UnsafeMutablePointer<Double>, bias: UnsafePointer<Double>, relu: Bool,
        hNext: UnsafeMutablePointer<Double>, output: UnsafeMutablePointer<Double>, count: Int
    ) {
        VanillaCell.forwardReference(gates: gates, bias: bias, relu: relu, hNext: hNext, output: output, count: count)
    }

    @inline(__always)
    public static func rnnBackwardRow(
        gates: UnsafeMutablePointer<Double>, relu: Bool, dY: UnsafePointer<Double>,
        dhCarry: UnsafeMutablePointer<Double>, dBias: UnsafeMutablePointer<Double>, hidden: Int
    ) {
        VanillaCell.backwardReference(gates: gates, relu: relu, dY: dY, dhCarry: dhCarry, dBias: dBias, hidden: hidden)
    }

    /// Double never packs its weights: its products go through OpenBLAS's `dgemm`.
    public static var hasPackedProduct: Bool { false }

    public static func packRows(gates: Int, hidden: Int, width: Int, _ w: UnsafePointer<Double>, into packed: UnsafeMutablePointer<Double>) {
        preconditionFailure("packed weights are Float only (Double.hasPackedProduct is false)")
    }

    public static func packTransposed(k: Int, n: Int, _ w: UnsafePointer<Double>, into packed: UnsafeMutablePointer<Double>) {
        preconditionFailure("packed weights are Float only (Double.hasPackedProduct is false)")
    }

    public static func packedProduct(
        rows m: Int, k: Int, a: UnsafePointer<Double>, lda: Int, packed: UnsafePointer<Double>, gates: Int,
        hidden: Int, columns: Range<Int>, accumulate: Bool, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        preconditionFailure("packed weights are Float only (Double.hasPackedProduct is false)")
    }

    /// Double's few-row products go through `dgemm`.
    @inline(__always)
    public static func fewRowsProduct(
        m: Int, n: Int, k: Int, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        gemm(transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
             beta: beta, c: c, ldc: ldc)
    }

    @inline(__always)
    public static func tanhRow(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int) {
        for i in 0..<count { y[i] = hyperbolicTangent(x[i]) }
    }
}
