import AtlasModel

/// SARIF 2.1.0: one run, one rule per finding rule, one result per finding, located by server and tool.
public enum Sarif {
    public static func document(_ findings: [(server: String, finding: Finding)]) -> JSONValue {
        var rules: [String: JSONValue] = [:]
        for (_, f) in findings where rules[f.rule] == nil {
            rules[f.rule] = ["id": .string(f.rule), "shortDescription": ["text": .string(f.title)],
                             "defaultConfiguration": ["level": .string(level(f.severity))]]
        }
        let ruleIDs = rules.keys.sorted()
        let results: [JSONValue] = findings.map { (s, f) in
            let where_ = "mcp://\(s)/\(f.tool ?? "")"
            return ["ruleId": .string(f.rule), "ruleIndex": .int(Int64(ruleIDs.firstIndex(of: f.rule)!)), "level": .string(level(f.severity)),
                    "message": ["text": .string("\(f.title): \(f.fragment)")],
                    "locations": [["logicalLocations": [["name": .string(f.tool ?? s), "fullyQualifiedName": .string(where_), "kind": "function"]]]],
                    "properties": ["server": .string(s), "field": .string(f.field), "severity": .string(f.severity.rawValue)]]
        }
        return ["$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
                "runs": [["tool": ["driver": ["name": "ToolAtlas", "informationUri": "https://toolatlas.example.org/", "rules": .array(ruleIDs.map { rules[$0]! })]],
                          "results": .array(results)]]]
    }

    static func level(_ s: Severity) -> String {
        switch s {
        case .info, .low: "note"
        case .medium: "warning"
        case .high, .critical: "error"
        }
    }
}
