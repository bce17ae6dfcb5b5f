import Foundation
import Hummingbird
import HummingbirdTesting
@testable import LoyaltyServer
import Testing

/// `schemas/openapi.yaml` against the server: the same routes, every problem type, and the
/// document served is the file.
@Suite struct OpenAPITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var document: String { (try? String(contentsOf: root.appendingPathComponent("schemas/openapi.yaml"), encoding: .utf8)) ?? "" }

    /// "METHOD /path" of every operation: the document's paths are the two-space-indented keys
    /// under `paths:`, their methods the four-space-indented keys below them.
    static func documentedRoutes(_ text: String) -> Set<String> {
        var routes = Set<String>(), path: String?, inPaths = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") { inPaths = line == "paths:"; continue }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let method = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "post", "put", "delete", "patch"].contains(method) { routes.insert(method.uppercased() + " " + path) }
            }
        }
        return routes
    }

    @Test func theDocumentListsExactlyTheRoutesOfTheRouter() async throws {
        try await withServer { _, server in
            let router = server.router()
            let served = Set(router.routes.map { "\($0.method) \($0.path)" })
            let documented = Self.documentedRoutes(Self.document)
            #expect(documented.count > 20)
            #expect(documented == served,
                    "undocumented: \(served.subtracting(documented).sorted()); not served: \(documented.subtracting(served).sorted())")
        }
    }

    @Test func theDocumentNamesEveryProblemTypeWithItsStatus() {
        let document = Self.document
        for (slug, status) in Problem.catalogue {
            #expect(document.contains("- /problems/\(slug)\n"), "problem type \(slug) is not in the Problem schema's enum")
            #expect(document.contains("\n  \(slug): \(status)\n"), "problem type \(slug) is not in x-problem-types with status \(status)")
        }
        let listed = document.components(separatedBy: "\nx-problem-types:\n").last?.split(separator: "\n").prefix { $0.hasPrefix("  ") } ?? []
        #expect(listed.count == Problem.catalogue.count, "x-problem-types lists a type the server does not have")
    }

    @Test func theEmbeddedDocumentIsTheFileAndIsServed() async throws {
        #expect(OpenAPIDocument.yaml == Self.document, "run tools/gen_openapi_swift.py")
        try await withServer { client, _ in
            let r = try await client.send(.get, "/openapi.yaml")
            #expect(r.status == .ok && r.headers[.contentType] == "application/yaml")
            #expect(r.text == Self.document)
        }
    }
}
