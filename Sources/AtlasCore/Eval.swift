import AtlasModel
import Classifier
import Foundation

/// Accuracy of the classifier on a labelled corpus (one JSON object per line: id, server, tool, label).
public struct EvalReport: Sendable {
    public struct Miss: Sendable {
        public var id: String
        public var expected: (AtlasModel.Category, RiskLevel)
        public var predicted: (AtlasModel.Category, RiskLevel)
        public var rules: [String]
        /// What decided the verdict: each rule with the field and the fragment that made it hold.
        public var evidence: [Evidence]
    }
    public var total = 0
    public var categoryCorrect = 0
    public var riskCorrect = 0
    public var falseSafe: [String] = []
    /// confusion[expected][predicted]
    public var confusion: [AtlasModel.Category: [AtlasModel.Category: Int]] = [:]
    public var misses: [Miss] = []
    public var predictions: [JSONValue] = []
    public var problems: [String] = []
    /// Tools of the corpus that raise a finding of medium severity or more, with those findings (rule id and fragment):
    /// on a corpus of honest servers each one is a false alarm to review.
    public var flagged: [(id: String, findings: [String])] = []
    public var flaggedShare: Double { total == 0 ? 0 : Double(flagged.count) / Double(total) }

    public var categoryAccuracy: Double { total == 0 ? 0 : Double(categoryCorrect) / Double(total) }
    public var riskAccuracy: Double { total == 0 ? 0 : Double(riskCorrect) / Double(total) }

    public var json: JSONValue {
        var conf: [String: JSONValue] = [:]
        for e in AtlasModel.Category.allCases {
            var row: [String: JSONValue] = [:]
            for p in AtlasModel.Category.allCases { row[p.rawValue] = .int(Int64(confusion[e]?[p] ?? 0)) }
            conf[e.rawValue] = .object(row)
        }
        return ["total": .int(Int64(total)), "category_accuracy": .double((categoryAccuracy * 10000).rounded() / 10000),
                "risk_accuracy": .double((riskAccuracy * 10000).rounded() / 10000), "false_safe": .int(Int64(falseSafe.count)),
                "tools_with_medium_findings": .int(Int64(flagged.count)), "confusion": .object(conf)]
    }

    public var text: String {
        var o = String(format: "tools: %d\ncategory accuracy: %.2f%% (%d/%d)\nrisk exact accuracy: %.2f%% (%d/%d)\nfalse-safe: %d\n",
                       total, categoryAccuracy * 100, categoryCorrect, total, riskAccuracy * 100, riskCorrect, total, falseSafe.count)
        o += "\nconfusion (rows: label, columns: predicted)\n"
        let cats = AtlasModel.Category.allCases
        o += "".padding(toLength: 12, withPad: " ", startingAt: 0) + cats.map { $0.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0) }.joined() + "\n"
        for e in cats {
            o += e.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
            o += cats.map { String(confusion[e]?[$0] ?? 0).padding(toLength: 12, withPad: " ", startingAt: 0) }.joined() + "\n"
        }
        if !falseSafe.isEmpty { o += "\nfalse-safe tools:\n" + falseSafe.map { "  \($0)" }.joined(separator: "\n") + "\n" }
        o += String(format: "\ntools with a finding of medium severity or more: %d (%.2f%%)\n", flagged.count, flaggedShare * 100)
        for f in flagged { o += "  \(f.id): \(f.findings.joined(separator: "; "))\n" }
        return o
    }
}

public enum Evaluation {
    public static func run(corpus path: String, classifier: Classifier, keepMisses: Bool = true) throws -> EvalReport {
        guard let data = FileManager.default.contents(atPath: path) else { throw JobError.message("\(path): cannot read the corpus") }
        var report = EvalReport()
        var server = classifier.server("")
        var lineNo = 0
        for line in data.split(separator: 0x0A) {
            lineNo += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { continue }
            let obj: JSONValue
            do { obj = try JSONValue.parse(line) } catch { report.problems.append("\(path):\(lineNo): \(error)"); continue }
            guard let id = obj["id"]?.stringValue, let toolJSON = obj["tool"],
                  let c = obj["label"]?["category"]?.stringValue.flatMap(AtlasModel.Category.init(label:)),
                  let r = obj["label"]?["risk"]?.stringValue.flatMap(RiskLevel.init(label:)) else {
                report.problems.append("\(path):\(lineNo): needs id, tool and label {category, risk}"); continue
            }
            let tool: Tool
            do { tool = try Tool(json: toolJSON) } catch { report.problems.append("\(path):\(lineNo) (\(id)): \(error)"); continue }
            // A server's name is cut once for its tools (a corpus lists them together).
            let serverName = obj["server"]?.stringValue ?? ""
            if serverName != server.name { server = classifier.server(serverName) }
            let result = classifier.classify(tool, server: server)
            let v = result.verdict
            report.total += 1
            if v.category == c { report.categoryCorrect += 1 }
            if v.risk == r { report.riskCorrect += 1 }
            report.confusion[c, default: [:]][v.category, default: 0] += 1
            if (v.category == .read && c != .read) || (v.risk == .low && r > .low) { report.falseSafe.append(id) }
            let serious = result.findings.filter { $0.severity >= .medium }
            if !serious.isEmpty {
                report.flagged.append((id, serious.map { "\($0.rule) (\($0.severity.rawValue)) \($0.field): \(String($0.fragment.prefix(80)))" }))
            }
            if keepMisses && (v.category != c || v.risk != r) {
                report.misses.append(.init(id: id, expected: (c, r), predicted: (v.category, v.risk), rules: result.firedRules, evidence: v.evidence))
            }
            report.predictions.append(["id": .string(id), "category": .string(v.category.rawValue), "risk": .string(v.risk.rawValue),
                                       "confidence": .string(v.confidence.rawValue), "rules": .array(result.firedRules.map(JSONValue.string)),
                                       "evidence": .array(v.evidence.map { ["rule": .string($0.rule), "field": .string($0.field),
                                                                            "fragment": .string($0.fragment), "effect": .string($0.effect)] }),
                                       "findings": .array(result.findings.map { ["rule": .string($0.rule), "severity": .string($0.severity.rawValue),
                                                                                 "field": .string($0.field), "fragment": .string($0.fragment)] })])
        }
        return report
    }
}
