import AtlasModel

/// Runs every example of every rule: must-fire examples fire (with the expected label when stated), must-not-fire ones do not.
public enum RuleExamplesRunner {
    public struct Report: Sendable {
        public var passed = 0
        public var failures: [String] = []
        public var knownMisses: [String] = []
    }

    public static func check(_ rule: Rule, _ classifier: Classifier) -> [String] {
        var failures: [String] = []
        for ex in rule.examples.match {
            let r = classifier.classify(ex.tool, server: ex.server)
            if !r.firedRules.contains(rule.id) { failures.append("\(rule.file): \(rule.id) should fire on \(ex.tool.name)") }
            if let c = ex.expectCategory, r.verdict.category != c {
                failures.append("\(rule.file): \(ex.tool.name) should be \(c.rawValue), got \(r.verdict.category.rawValue) [\(r.firedRules.joined(separator: " "))]")
            }
            if let k = ex.expectRisk, r.verdict.risk != k {
                failures.append("\(rule.file): \(ex.tool.name) should be \(k.rawValue) risk, got \(r.verdict.risk.rawValue) [\(r.firedRules.joined(separator: " "))]")
            }
        }
        for ex in rule.examples.noMatch {
            let r = classifier.classify(ex.tool, server: ex.server)
            if r.firedRules.contains(rule.id) { failures.append("\(rule.file): \(rule.id) should not fire on \(ex.tool.name)") }
        }
        return failures
    }

    public static func run(_ classifier: Classifier) -> Report {
        var report = Report()
        for rule in classifier.rules {
            let f = check(rule, classifier)
            report.failures += f
            report.passed += rule.examples.match.count + rule.examples.noMatch.count - f.count
            for ex in rule.examples.knownMiss where !classifier.classify(ex.tool, server: ex.server).firedRules.contains(rule.id) {
                report.knownMisses.append("\(rule.id): \(ex.tool.name)")
            }
        }
        return report
    }
}
