import Crypto
import Foundation
import GatehouseDomain

/// The vendor's side of licensing: keys and signed license files. No database involved.
public enum LicenseVendor {
    /// Creates an Ed25519 key (PKCS#8 PEM, mode 0600) at `path` and returns its public PEM.
    /// An existing file is never overwritten: losing a vendor key is not recoverable.
    public static func keygen(path: String) throws(GatehouseError) -> String {
        let key = Curve25519.Signing.PrivateKey()
        try FileOutput.write(VendorKey.pem(key), to: path, overwrite: false, mode: 0o600)
        return VendorKey.pem(key.publicKey)
    }

    /// Signs the terms in `termsPath` (the payload JSON) with the key at `keyPath` and writes
    /// the license file. Terms that break the rules are refused with every reason.
    public static func sign(keyPath: String, kid: String, termsPath: String, outPath: String, overwrite: Bool) throws(GatehouseError) -> LicenseTerms {
        let key: Curve25519.Signing.PrivateKey
        do { key = try VendorKey.privateKey(pem: try FileOutput.read(keyPath)) } catch let error as VendorKey.KeyError {
            throw GatehouseError(.invalidKey, "\(keyPath): \(error)")
        } catch { throw GatehouseError.from(error)! }
        let termsText = try FileOutput.read(termsPath)
        let value: JSONValue
        do { value = try JSONValue.parse(termsText) } catch {
            throw GatehouseError(.invalidTerms, "\(termsPath) is not valid JSON: \(error)")
        }
        let (parsed, problems) = LicenseTerms.parse(value)
        guard let terms = parsed else {
            throw GatehouseError(.invalidTerms, "\(termsPath): " + problems.map(\.message).joined(separator: "; "))
        }
        switch LicenseVerifier.sign(terms, key: key, kid: kid) {
        case .failure(let failure):
            throw GatehouseError(.termsRefused, "refusing to sign: " + failure.problems.map(\.message).joined(separator: "; "))
        case .success(let file):
            try FileOutput.write(file.armored, to: outPath, overwrite: overwrite, mode: 0o644)
            return terms
        }
    }
}

/// Small file helpers with administrator-friendly errors.
public enum FileOutput {
    public static func read(_ path: String) throws(GatehouseError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GatehouseError(.fileUnreadable, "cannot read \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw GatehouseError(.fileUnreadable, "\(path) is not UTF-8 text")
        }
        return text
    }

    /// Writes via a temporary file and rename, so a failure never leaves half a file.
    public static func write(_ text: String, to path: String, overwrite: Bool, mode: Int) throws(GatehouseError) {
        let fm = FileManager.default
        if !overwrite, fm.fileExists(atPath: path) {
            throw GatehouseError(.fileExists, "\(path) already exists; not overwriting it")
        }
        let temp = path + ".tmp-\(getpid())"
        guard fm.createFile(atPath: temp, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
            throw GatehouseError(.fileUnwritable, "cannot write \(path)")
        }
        if rename(temp, path) != 0 {
            try? fm.removeItem(atPath: temp)
            throw GatehouseError(.fileUnwritable, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
