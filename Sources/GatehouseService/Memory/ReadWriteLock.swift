import Glibc
import Synchronization

/// A value behind a reader-writer lock: decisions read memory on every request from every
/// event-loop thread at once, and writes (state changes) are rare; readers never wait for
/// each other.
///
/// The value lives behind a pointer, not in a stored property: a class's `var` handed to a
/// `borrowing` parameter is copied first (exclusivity), and copying the live snapshot (a dozen
/// tables, each retained and released) on every decision cost ~2% of one. A closure that only
/// picks a field was still compiled as a copy then the field (perf showed it in the token and
/// loaded checks): those read through `withPointer`.
public final class ReadWriteLock<Value>: @unchecked Sendable {
    private let value: UnsafeMutablePointer<Value>
    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)

    public init(_ value: Value) {
        self.value = UnsafeMutablePointer<Value>.allocate(capacity: 1)
        self.value.initialize(to: value)
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
        value.deinitialize(count: 1)
        value.deallocate()
    }

    public func read<T>(_ body: (borrowing Value) throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(value.pointee)
    }

    /// Reads through a pointer: for a closure that only picks a field or two, which the
    /// optimiser otherwise compiles as a copy of the whole value, then the field.
    public func withPointer<T>(_ body: (UnsafePointer<Value>) throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(value)
    }

    public func write<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&value.pointee)
    }
}

/// A mutex-protected value in a class, so that several can be kept in an array (stripes).
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<T>(_ body: (inout sending Value) throws -> sending T) rethrows -> sending T { try mutex.withLock(body) }
}
