import CRNNKitKernels
import Foundation
import Testing
@testable import RNNKit

/// The vectorised C kernels (Float) against the generic Swift reference kernels.
@Suite struct KernelTests {
    /// Max |fast − exact| over a dense grid of [-20, 20], the exact value computed in Double.
    static func maxError(_ fast: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int64) -> Void,
                         _ exact: (Double) -> Double) -> Double {
        let count = 400_001
        let x = (0..<count).map { Float(-20 + 40 * Double($0) / Double(count - 1)) }
        var y = [Float](repeating: 0, count: count)
        fast(x, &y, Int64(count))
        return zip(x, y).reduce(0) { max($0, abs(Double($1.1) - exact(Double($1.0)))) }
    }

    @Test func sigmoidAndTanhAreWithinTheirStatedError() {
        let sigmoidError = Self.maxError(rk_sigmoid_f32) { 1 / (1 + exp(-$0)) }
        let tanhError = Self.maxError(rk_tanh_f32) { tanh($0) }
        #expect(sigmoidError <= 5e-7, "sigmoid max abs error \(sigmoidError)")
        #expect(tanhError <= 5e-7, "tanh max abs error \(tanhError)")
        // Near zero tanh keeps relative accuracy (the odd polynomial branch).
        var y: Float = 0
        var x: Float = 1e-6
        rk_tanh_f32(&x, &y, 1)
        #expect(abs(y - 1e-6) <= 1e-12)
    }

    @Test func nonFiniteValuesPropagate() {
        var x: [Float] = [.nan, .infinity, -.infinity, 1e30, -1e30]
        var s = [Float](repeating: 0, count: 5), t = [Float](repeating: 0, count: 5)
        rk_sigmoid_f32(&x, &s, 5)
        rk_tanh_f32(&x, &t, 5)
        #expect(s[0].isNaN && t[0].isNaN, "a NaN must stay a NaN so training can detect it")
        #expect(s[1] == 1 && s[3] == 1)
        #expect(s[2] < 1e-37 && s[4] < 1e-37, "exp's input is clamped at −88.3: σ(−∞) ≈ 4.7e-39")
        #expect(t[1] == 1 && t[2] == -1 && t[3] == 1 && t[4] == -1)
    }

    /// Runs `fast` and `reference` on copies of the same random buffers and compares every buffer.
    static func compare(
        buffers sizes: [Int], seed: UInt64, tolerance: Float = 2e-6,
        fast: ([UnsafeMutablePointer<Float>]) -> Void, reference: ([UnsafeMutablePointer<Float>]) -> Void
    ) {
        let inputs: [[Float]] = sizes.enumerated().map { randomValues($1, seed: seed + UInt64($0), scale: 2) }
        var a = inputs, b = inputs
        func run(_ buffers: inout [[Float]], _ body: ([UnsafeMutablePointer<Float>]) -> Void) {
            let pointers = buffers.map { buffer -> UnsafeMutablePointer<Float> in
                let p = UnsafeMutablePointer<Float>.allocate(capacity: buffer.count)
                p.initialize(from: buffer, count: buffer.count)
                return p
            }
            body(pointers)
            for (i, p) in pointers.enumerated() {
                buffers[i] = Array(UnsafeBufferPointer(start: p, count: buffers[i].count))
                p.deallocate()
            }
        }
        run(&a, fast)
        run(&b, reference)
        // Relative to max(1, |reference|): the C kernels contract a·b + c into FMAs.
        for i in sizes.indices {
            let difference = zip(a[i], b[i]).reduce(0.0) { max($0, Double(abs($1.0 - $1.1) / max(1, abs($1.1)))) }
            #expect(difference <= Double(tolerance), "buffer \(i): max relative |fast − reference| \(difference)")
        }
    }

    @Test(arguments: [1, 7, 64, 131])
    func lstmRowsMatchTheReference(hidden H: Int) {
        // gates 4H, bias 4H, cPrev, cNext, hNext, tanhC, y
        // All units, then the units [j0, H − 1) alone (a column-split worker's share).
        for j0 in H > 3 ? [0, 2] : [0] {
            let count = j0 == 0 ? H : H - 1 - j0
            Self.compare(buffers: [4 * H, 4 * H, H, H, H, H, H], seed: 10, fast: { p in
                rk_lstm_forward_row(p[0] + j0, p[1] + j0, p[2] + j0, p[3] + j0, p[4] + j0, p[5] + j0, p[6] + j0,
                                    Int64(count), Int64(H))
            }, reference: { p in
                LSTMCell.forwardReference(gates: p[0] + j0, bias: p[1] + j0, cPrev: p[2] + j0, cNext: p[3] + j0,
                                          hNext: p[4] + j0, tanhC: p[5] + j0, output: p[6] + j0, count: count, hidden: H)
            })
        }
        // gates 4H (activations in (0, 1) are not needed: the identities hold for any values),
        // cPrev, tanhC, dy, dhCarry, dcCarry, dBias
        Self.compare(buffers: [4 * H, H, H, H, H, H, 4 * H], seed: 20, fast: { p in
            rk_lstm_backward_row(p[0], p[1], p[2], p[3], p[4], p[5], p[6], Int64(H))
        }, reference: { p in
            LSTMCell.backwardReference(gates: p[0], cPrev: p[1], tanhC: p[2], dY: p[3], dhCarry: p[4],
                                       dcCarry: p[5], dBias: p[6], hidden: H)
        })
    }

    @Test(arguments: [1, 7, 64, 131])
    func gruRowsMatchTheReference(hidden H: Int) {
        // gates 3H, hh 3H, b_ih 3H, b_hh 3H, hPrev, hNext, hnSaved, y
        for j0 in H > 3 ? [0, 2] : [0] {
            let count = j0 == 0 ? H : H - 1 - j0
            Self.compare(buffers: [3 * H, 3 * H, 3 * H, 3 * H, H, H, H, H], seed: 30, fast: { p in
                rk_gru_forward_row(p[0] + j0, p[1] + j0, p[2] + j0, p[3] + j0, p[4] + j0, p[5] + j0, p[6] + j0,
                                   p[7] + j0, Int64(count), Int64(H))
            }, reference: { p in
                GRUCell.forwardReference(gates: p[0] + j0, recurrent: p[1] + j0, inputBias: p[2] + j0,
                                         hiddenBias: p[3] + j0, hnSaved: p[6] + j0, hPrev: p[4] + j0,
                                         hNext: p[5] + j0, output: p[7] + j0, count: count, hidden: H)
            })
        }
        // gates 3H, hnSaved, dHidden 3H, hPrev, dy, dhCarry, dBiasIH 3H, dBiasHH 3H
        Self.compare(buffers: [3 * H, H, 3 * H, H, H, H, 3 * H, 3 * H], seed: 40, fast: { p in
            rk_gru_backward_row(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], Int64(H))
        }, reference: { p in
            GRUCell.backwardReference(gates: p[0], hnSaved: p[1], dHidden: p[2], hPrev: p[3], dY: p[4],
                                      dhCarry: p[5], dInputBias: p[6], dHiddenBias: p[7], hidden: H)
        })
    }

    @Test(arguments: [1, 7, 64, 131])
    func peepholeLSTMRowsMatchTheReference(hidden H: Int) {
        // gates 4H, bias 4H, peephole 3H, cPrev, cNext, hNext, tanhC, y
        for j0 in H > 3 ? [0, 2] : [0] {
            let count = j0 == 0 ? H : H - 1 - j0
            Self.compare(buffers: [4 * H, 4 * H, 3 * H, H, H, H, H, H], seed: 70, fast: { p in
                rk_lstm_peephole_forward_row(p[0] + j0, p[1] + j0, p[2] + j0, p[3] + j0, p[4] + j0, p[5] + j0,
                                             p[6] + j0, p[7] + j0, Int64(count), Int64(H))
            }, reference: { p in
                LSTMCell.forwardReference(gates: p[0] + j0, bias: p[1] + j0, peephole: p[2] + j0, cPrev: p[3] + j0,
                                          cNext: p[4] + j0, hNext: p[5] + j0, tanhC: p[6] + j0, output: p[7] + j0,
                                          count: count, hidden: H)
            })
        }
        // gates 4H, peephole 3H, cPrev, tanhC, dy, dhCarry, dcCarry, dBias 4H, dPeephole 3H
        Self.compare(buffers: [4 * H, 3 * H, H, H, H, H, H, 4 * H, 3 * H], seed: 80, fast: { p in
            rk_lstm_peephole_backward_row(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], Int64(H))
        }, reference: { p in
            LSTMCell.backwardReference(gates: p[0], cPrev: p[2], tanhC: p[3], dY: p[4], dhCarry: p[5], dcCarry: p[6],
                                       dBias: p[7], peephole: p[1], dPeephole: p[8], hidden: H)
        })
    }

    @Test(arguments: [1, 7, 64, 131])
    func layerNormLSTMRowsMatchTheReference(hidden H: Int) {
        // gates 4H, recurrent 4H, bias 4H, norms 18H, cPrev, cNext, hNext, tanhC, y,
        // savedInput 4H, savedHidden 4H, savedCell, inverseDeviations 3
        Self.compare(buffers: [4 * H, 4 * H, 4 * H, 18 * H, H, H, H, H, H, 4 * H, 4 * H, H, 3], seed: 120, fast: { p in
            rk_lstm_layernorm_forward_row(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12],
                                          Int64(H))
        }, reference: { p in
            LayerNormLSTMCell.forwardReference(gates: p[0], recurrent: p[1], bias: p[2], norms: p[3], cPrev: p[4], cNext: p[5],
                                               hNext: p[6], tanhC: p[7], output: p[8], savedInput: p[9], savedHidden: p[10],
                                               savedCell: p[11], inverseDeviations: p[12], hidden: H)
        })
        // gates 4H, norms 18H, savedInput 4H, savedHidden 4H, savedCell, inverseDeviations 3, cPrev, tanhC, dy,
        // dhCarry, dcCarry, dBias 4H, dNorms 10H, scratch 4H
        Self.compare(buffers: [4 * H, 18 * H, 4 * H, 4 * H, H, 3, H, H, H, H, H, 4 * H, 10 * H, 4 * H], seed: 130, fast: { p in
            rk_lstm_layernorm_backward_row(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12],
                                           p[13], Int64(H))
        }, reference: { p in
            LayerNormLSTMCell.backwardReference(gates: p[0], norms: p[1], savedInput: p[2], savedHidden: p[3], savedCell: p[4],
                                                inverseDeviations: p[5], cPrev: p[6], tanhC: p[7], dY: p[8], dhCarry: p[9],
                                                dcCarry: p[10], dBias: p[11], dNorms: p[12], scratch: p[13], hidden: H)
        })
    }

    @Test(arguments: [1, 7, 64, 131])
    func resetBeforeGRURowsMatchTheReference(hidden H: Int) {
        // gates 3H, hh 3H, b_ih 3H, b_hh 3H, hPrev, resetHidden / hNext, y
        Self.compare(buffers: [3 * H, 3 * H, 3 * H, 3 * H, H, H], seed: 90, fast: { p in
            rk_gru_reset_gates_row(p[0], p[1], p[2], p[3], p[4], p[5], Int64(H), Int64(H))
        }, reference: { p in
            GRUResetBeforeCell.gatesReference(gates: p[0], recurrent: p[1], inputBias: p[2], hiddenBias: p[3],
                                              hPrev: p[4], resetHidden: p[5], count: H, hidden: H)
        })
        Self.compare(buffers: [3 * H, 3 * H, 3 * H, 3 * H, H, H, H], seed: 100, fast: { p in
            rk_gru_reset_candidate_row(p[0], p[1], p[2], p[3], p[4], p[5], p[6], Int64(H), Int64(H))
        }, reference: { p in
            GRUResetBeforeCell.candidateReference(gates: p[0], recurrent: p[1], inputBias: p[2], hiddenBias: p[3],
                                                  hPrev: p[4], hNext: p[5], output: p[6], count: H, hidden: H)
        })
        // gates 3H, hPrev, dy / dResetHidden, dhCarry, dBiasIH 3H, dBiasHH 3H
        Self.compare(buffers: [3 * H, H, H, H, 3 * H, 3 * H], seed: 110, fast: { p in
            rk_gru_reset_backward_row(p[0], p[1], p[2], p[3], p[4], p[5], Int64(H))
        }, reference: { p in
            GRUResetBeforeCell.backwardReference(gates: p[0], hPrev: p[1], dY: p[2], dhCarry: p[3],
                                                 dInputBias: p[4], dHiddenBias: p[5], hidden: H)
        })
        Self.compare(buffers: [3 * H, H, H, H, 3 * H, 3 * H], seed: 120, fast: { p in
            rk_gru_reset_backward_reset_row(p[0], p[1], p[2], p[3], p[4], p[5], Int64(H))
        }, reference: { p in
            GRUResetBeforeCell.backwardResetReference(gates: p[0], hPrev: p[1], dResetHidden: p[2], dhCarry: p[3],
                                                      dInputBias: p[4], dHiddenBias: p[5], hidden: H)
        })
    }

    @Test(arguments: [false, true])
    func vanillaRowsMatchTheReference(relu: Bool) {
        for H in [1, 9, 64] {
            Self.compare(buffers: [H, H, H, H], seed: 50, fast: { p in
                rk_rnn_forward_row(p[0], p[1], relu ? 1 : 0, p[2], p[3], Int64(H))
            }, reference: { p in
                VanillaCell.forwardReference(gates: p[0], bias: p[1], relu: relu, hNext: p[2], output: p[3], count: H)
            })
            Self.compare(buffers: [H, H, H, H], seed: 60, fast: { p in
                rk_rnn_backward_row(p[0], relu ? 1 : 0, p[1], p[2], p[3], Int64(H))
            }, reference: { p in
                VanillaCell.backwardReference(gates: p[0], relu: relu, dY: p[1], dhCarry: p[2], dBias: p[3], hidden: H)
            })
        }
    }

    @Test func fewRowsProductMatchesANaiveProduct() {
        for m in 1...8 {
            for (n, k) in [(1, 1), (5, 15), (4, 16), (37, 17), (9, 100)] {
                let a: [Float] = randomValues(m * k, seed: UInt64(m * 100 + k))
                let w: [Float] = randomValues(n * k, seed: UInt64(n * 7 + k))
                let start: [Float] = randomValues(m * n, seed: 3)
                for beta: Float in [0, 1, 0.5] {
                    // With beta = 0 the output must not be read: NaN there must not leak through.
                    var c = beta == 0 ? [Float](repeating: .nan, count: m * n) : start
                    rk_gemm_nt_few_rows(Int64(m), Int64(n), Int64(k), a, Int64(k), w, Int64(k), beta, &c, Int64(n))
                    var worst: Float = 0
                    for i in 0..<m {
                        for j in 0..<n {
                            var dot: Double = 0
                            for l in 0..<k { dot += Double(a[i * k + l]) * Double(w[j * k + l]) }
                            let expected = Double(beta) * Double(beta == 0 ? 0 : start[i * n + j]) + dot
                            worst = max(worst, Float(abs(Double(c[i * n + j]) - expected)))
                        }
                    }
                    #expect(worst <= 1e-5 * Float(max(1, k / 16)), "m \(m) n \(n) k \(k) beta \(beta): \(worst)")
                }
            }
        }
    }

    /// `W (G·H, K)` packed, against a product computed in Double from the unpacked `W`, for row
    /// counts on both sides of every register tile, partial panels, gates of more panels than a
    /// one-row tile takes, and column ranges; and every vector kernel this CPU has (AVX-512, AVX2)
    /// against the portable reference, bitwise (all are one FMA chain per element).
    @Test func packedProductMatchesANaiveProductAndItsReference() {
        let kernels = [Int32(RK_KERNEL_AVX512), Int32(RK_KERNEL_AVX2)].filter {
            var probe: Float = 0, one: Float = 1
            return rk_packed_product_on($0, 0, 1, &one, 1, &one, 1, 1, 0, 1, 0, &probe, 1) == 1
        }
        #if arch(x86_64)
        #expect(!kernels.isEmpty, "x86-64 machines of the CI have AVX2 at least")
        #endif
        // rk_packed_product runs the widest kernel unless RNNKIT_PACKED_KERNEL names a narrower one.
        if getenv("RNNKIT_PACKED_KERNEL") == nil {
            #expect(rk_packed_kernel() == kernels.first ?? Int32(RK_KERNEL_PORTABLE))
        }
        for (G, H) in [(4, 5), (3, 16), (1, 37), (4, 48), (2, 100)] {
            let K = H, N = G * H
            let w: [Float] = randomValues(N * K, seed: UInt64(G * 31 + H))
            var packed = [Float](repeating: .nan, count: Int(rk_packed_count(Int64(G), Int64(H), Int64(K))))
            rk_pack_recurrent(Int64(G), Int64(H), Int64(K), w, Int64(K), &packed)
            let ranges = H > 16 ? [0..<H, 16..<H, 0..<16] : [0..<H]
            for m in Array(1...13) + [24, 25, 64] {
                let a: [Float] = randomValues(m * K, seed: UInt64(m))
                let start: [Float] = randomValues(m * N, seed: 5)
                for columns in ranges {
                    for accumulate: Int32 in [0, 1] {
                        // Without accumulate C is not read: NaN there must not leak through.
                        let initial = accumulate == 1 ? start : [Float](repeating: .nan, count: m * N)
                        var reference = initial
                        rk_packed_product_reference(Int64(m), Int64(K), a, Int64(K), packed, Int64(G), Int64(H),
                                                    Int64(columns.lowerBound), Int64(columns.upperBound), accumulate,
                                                    &reference, Int64(N))
                        for kernel in kernels {
                            var fast = initial
                            rk_packed_product_on(kernel, Int64(m), Int64(K), a, Int64(K), packed, Int64(G), Int64(H),
                                                 Int64(columns.lowerBound), Int64(columns.upperBound), accumulate,
                                                 &fast, Int64(N))
                            #expect(fast.elementsEqual(reference) { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) },
                                    "kernel \(kernel) G \(G) H \(H) m \(m) columns \(columns) accumulate \(accumulate)")
                        }
                        var worst: Double = 0
                        for r in 0..<m {
                            for g in 0..<G {
                                for j in 0..<H {
                                    let n = g * H + j
                                    guard columns.contains(j) else {
                                        #expect(reference[r * N + n].bitPattern == initial[r * N + n].bitPattern,
                                                "column \(n) outside the range was written")
                                        continue
                                    }
                                    var dot = accumulate == 1 ? Double(start[r * N + n]) : 0
                                    for l in 0..<K { dot += Double(a[r * K + l]) * Double(w[n * K + l]) }
                                    worst = max(worst, abs(Double(reference[r * N + n]) - dot))
                                }
                            }
                        }
                        #expect(worst <= 2e-6 * Double(K), "G \(G) H \(H) m \(m) columns \(columns): \(worst)")
                    }
                }
            }
        }
    }

    /// Backward's operand: `W (K, N)` packed as is, so that the product is `A (M, K) · W`.
    @Test func transposedPackingGivesTheProductWithTheMatrixAsStored() {
        for (K, N) in [(12, 3), (64, 16), (120, 37)] {
            let w: [Float] = randomValues(K * N, seed: UInt64(K + N))
            var packed = [Float](repeating: .nan, count: Int(rk_packed_count(1, Int64(N), Int64(K))))
            rk_pack_transposed(Int64(K), Int64(N), w, Int64(N), &packed)
            for m in [1, 5, 16] {
                let a: [Float] = randomValues(m * K, seed: UInt64(m))
                let start: [Float] = randomValues(m * N, seed: 9)
                var c = start
                rk_packed_product(Int64(m), Int64(K), a, Int64(K), packed, 1, Int64(N), 0, Int64(N), 1, &c, Int64(N))
                var worst: Double = 0
                for r in 0..<m {
                    for n in 0..<N {
                        var dot = Double(start[r * N + n])
                        for l in 0..<K { dot += Double(a[r * K + l]) * Double(w[l * N + n]) }
                        worst = max(worst, abs(Double(c[r * N + n]) - dot))
                    }
                }
                #expect(worst <= 2e-6 * Double(K), "K \(K) N \(N) m \(m): \(worst)")
            }
        }
    }
}
