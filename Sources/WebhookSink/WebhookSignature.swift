import Crypto
import LedgerProofs

/// The `Loyalty-Signature` header (schemas/webhooks.md): `t=<Unix seconds>,v1=<hex>`, where the
/// hex is HMAC-SHA-256 with the shared secret over the bytes `<t>.<body>`. The timestamp is
/// signed so a receiver can refuse a replayed old request; the body as sent, byte for byte.
public enum WebhookSignature {
    public static let headerName = "Loyalty-Signature"

    /// The header value for `body` sent at `timestamp` (Unix seconds).
    public static func header(body: [UInt8], timestamp: Int64, secret: WebhookSecret) -> String {
        "t=\(timestamp),v1=" + Hex.encode(Array(mac(body: body, timestamp: timestamp, secret: secret.bytes)))
    }

    /// True when `header` carries a `v1` signature of `body` under `secret` and its timestamp is
    /// within `toleranceSeconds` of `now`: what a receiver checks (the documented snippet does
    /// the same). The comparison takes constant time.
    public static func isValid(header: String, body: [UInt8], secret: [UInt8], now: Int64,
                               toleranceSeconds: Int64 = WebhookLimits.signatureToleranceSecondsDefault) -> Bool {
        var timestampText: Substring?
        var signatures: [[UInt8]] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestampText = pair[1] }
            if pair[0] == "v1", let bytes = Hex.decode(String(pair[1])) { signatures.append(bytes) }
        }
        guard let timestampText, timestampText.allSatisfy(\.isASCII), timestampText.allSatisfy(\.isNumber),
              let timestamp = Int64(timestampText), !signatures.isEmpty else { return false }
        let (age, overflow) = now.subtractingReportingOverflow(timestamp)
        guard !overflow, age.magnitude <= toleranceSeconds.magnitude else { return false }
        let key = SymmetricKey(data: secret)
        // The timestamp's text as sent is what was signed.
        let message = Array("\(timestampText).".utf8) + body
        return signatures.contains { HMAC<SHA256>.isValidAuthenticationCode($0, authenticating: message, using: key) }
    }

    static func mac(body: [UInt8], timestamp: Int64, secret: [UInt8]) -> HashedAuthenticationCode<SHA256> {
        HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).".utf8) + body, using: SymmetricKey(data: secret))
    }
}
