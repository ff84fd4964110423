extension Duration {
    /// Seconds as a floating-point number, for timings shown to people and elapsed-time arithmetic.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
