// The per-thread message behind `rnnkit_last_error`.
//
// Each thread's message is a malloc'd C string stored under one pthread key. Setting a new
// message frees the old one, so a pointer returned by `rnnkit_last_error` stays valid until
// the next failing call on the same thread. The key's destructor frees the message when a
// thread exits.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The key of the per-thread message; created once, on first use (Swift globals are lazily
/// and thread-safely initialised).
private let lastErrorKey: pthread_key_t = {
    var key = pthread_key_t()
    let result = pthread_key_create(&key) { message in
        if message != UnsafeMutableRawPointer(mutating: lostMessage) { free(message) }
    }
    // Without a key (the process ran out of keys) the message cannot be stored; `setLastError`
    // then drops it and `rnnkit_last_error` reports that.
    return result == 0 ? key : pthread_key_t.max
}()

/// Returned while this thread has no message.
nonisolated(unsafe) private let emptyMessage: UnsafePointer<CChar> = UnsafePointer(strdup("")!)
/// Returned when the message could not be stored.
nonisolated(unsafe) private let lostMessage: UnsafePointer<CChar> =
    UnsafePointer(strdup("an error occurred, but its message could not be stored (out of memory or thread keys)")!)

/// Whether the per-thread key exists.
private func keyIsUsable() -> Bool { lastErrorKey != pthread_key_t.max }

/// Makes `message` this thread's last error, freeing the previous one.
func setLastError(_ message: String) {
    guard keyIsUsable() else { return }
    let previous = pthread_getspecific(lastErrorKey)
    let copy = strdup(message).map(UnsafeMutableRawPointer.init)  // nil only when out of memory
    if pthread_setspecific(lastErrorKey, copy ?? UnsafeMutableRawPointer(mutating: lostMessage)) != 0 {
        free(copy)
        return
    }
    if let previous, previous != UnsafeMutableRawPointer(mutating: lostMessage) { free(previous) }
}

/// This thread's last error, or "" if there is none.
func lastErrorMessage() -> UnsafePointer<CChar> {
    guard keyIsUsable() else { return lostMessage }
    guard let message = pthread_getspecific(lastErrorKey) else { return emptyMessage }
    return UnsafePointer(message.assumingMemoryBound(to: CChar.self))
}
