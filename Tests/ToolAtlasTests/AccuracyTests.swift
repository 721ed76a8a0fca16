import AtlasCore
import AtlasModel
import Classifier
import Foundation
import Testing

/// The classifier against the shared labelled corpus: a regression floor at the accuracy measured when the rules were written.
@Suite("Accuracy on the labelled corpus")
struct AccuracyTests {
    static var corpusPresent: Bool { FileManager.default.fileExists(atPath: Fixtures.corpus) }

    @Test("category and risk accuracy stay at or above their measured levels", .enabled(if: corpusPresent))
    func accuracy() throws {
        let report = try Evaluation.run(corpus: Fixtures.corpus, classifier: try Classifier(directory: Fixtures.rules))
        #expect(report.total > 1000)
        #expect(report.problems.isEmpty)
        #expect(report.categoryAccuracy >= 0.97, "category accuracy \(report.categoryAccuracy)")
        #expect(report.riskAccuracy >= 0.88, "risk accuracy \(report.riskAccuracy)")
        #expect(report.falseSafe.count <= 21, "false-safe: \(report.falseSafe.joined(separator: ", "))")
    }

    @Test("--eval --json prints the documented metrics", .enabled(if: corpusPresent))
    func evalJSON() throws {
        let r = try Fixtures.run(Fixtures.toolatlas, ["classify", "--eval", Fixtures.corpus, "--json", "--rules", Fixtures.rules])
        #expect(r.status == 0)
        let v = try JSONValue.parse(r.out.trimmingCharacters(in: .whitespacesAndNewlines))
        for key in ["category_accuracy", "risk_accuracy", "false_safe", "total", "confusion"] { #expect(v[key] != nil, "\(key)") }
        #expect(v["confusion"]?["Read"]?["Read"]?.intValue ?? 0 > 500)
    }
}
