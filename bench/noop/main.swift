// The no-op baseline for bench/authz.sh: Hummingbird answering a constant JSON body, with
// nothing else. It shows what the framework costs on this machine; it is never part of the
// gatehouse binary.  Usage: bench-noop PORT
import Hummingbird

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 8090 : 8090
let router = Router()
// The same path the benchmark's login requests use, so every target gets identical requests.
router.post("/v1/authorize/login") { _, _ in
    Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"allow\":true}")))
}
router.get("/healthz") { _, _ in Response(status: .ok) }
// The gate's question (bench/gate.sh asks it through the shipped nginx locations): yes to all.
router.get("/gate/auth") { _, _ in Response(status: .ok) }
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
