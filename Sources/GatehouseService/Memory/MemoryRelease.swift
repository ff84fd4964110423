#if canImport(Glibc)
    import Glibc
#endif

/// Returns freed heap to the operating system.
enum MemoryRelease {
    /// After a whole load (a million people's rows read, decoded and dropped, and the index
    /// they replace), glibc keeps the freed pages in its arenas and the process's resident
    /// size counts them until they are reused; `malloc_trim` gives whole free pages back.
    /// (Looked up at run time: Swift's Glibc module does not include `<malloc.h>`.)
    static func returnFreedMemory() {
        #if canImport(Glibc)
            typealias Trim = @convention(c) (Int) -> Int32
            if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") {
                _ = unsafeBitCast(symbol, to: Trim.self)(0)
            }
        #endif
    }
}
