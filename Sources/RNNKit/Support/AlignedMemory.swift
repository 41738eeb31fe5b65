// Buffers for the vector kernels, aligned to a cache line.

/// Bytes of alignment of every buffer the vector kernels stream: a 16-float (64-byte) load or
/// store from a line-aligned panel or row never straddles two cache lines (malloc only promises
/// 16 bytes).
let vectorAlignment = 64

extension UnsafeMutableBufferPointer {
    /// Allocates `max(count, 1)` uninitialised elements aligned to ``vectorAlignment``; free them
    /// with `deallocate()`.
    static func allocateAligned(capacity count: Int) -> UnsafeMutableBufferPointer<Element> {
        let capacity = Swift.max(count, 1)
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: capacity * MemoryLayout<Element>.stride,
            alignment: Swift.max(vectorAlignment, MemoryLayout<Element>.alignment))
        return UnsafeMutableBufferPointer(start: raw.bindMemory(to: Element.self, capacity: capacity), count: capacity)
    }
}

/// An owned buffer of `count` uninitialised elements aligned to ``vectorAlignment``, freed with
/// its owner.
final class AlignedBuffer<Element> {
    let pointer: UnsafeMutablePointer<Element>
    let count: Int

    init(count: Int) {
        pointer = UnsafeMutableBufferPointer<Element>.allocateAligned(capacity: count).baseAddress!
        self.count = count
    }

    deinit { pointer.deallocate() }
}
