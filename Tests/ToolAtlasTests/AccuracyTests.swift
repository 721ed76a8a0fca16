import AtlasCore
import AtlasModel
import Classifier
import Foundation
import Testing

/// The classifier against the shared labelled corpus: floors a little under the measured accuracy (98.5% category, 94.5% risk), above the issue's targets (97%, 92%), and no false-safe tool.
@Suite("Accuracy on the labelled corpus")
struct AccuracyTests {
    static var corpusPresent: Bool { FileManager.default.fileExists(atPath: Fixtures.corpus) }

    @Test("category and risk accuracy stay at or above their measured levels", .enabled(if: corpusPresent))
    func accuracy() throws {
        let report = try Evaluation.run(corpus: Fixtures.corpus, classifier: try Classifier(directory: Fixtures.rules))
        #expect(report.total > 1000)
        #expect(report.problems.isEmpty)
        #expect(report.categoryAccuracy >= 0.983, "category accuracy \(report.categoryAccuracy)")
        #expect(report.riskAccuracy >= 0.94, "risk accuracy \(report.riskAccuracy)")
        #expect(report.falseSafe.isEmpty, "false-safe: \(report.falseSafe.joined(separator: ", "))")
    }

    @Test("findings stay quiet on the honest servers of the corpus: at most 1% of tools with a medium+ finding", .enabled(if: corpusPresent))
    func benignFindings() throws {
        let report = try Evaluation.run(corpus: Fixtures.corpus, classifier: try Classifier(directory: Fixtures.rules))
        #expect(report.flaggedShare <= 0.01, "\(report.flagged.map { "\($0.id): \($0.findings)" }.joined(separator: "\n"))")
        // The ones that remain are real contradictions between a tool and its annotations.
        #expect(report.flagged.allSatisfy { $0.findings.allSatisfy { $0.hasPrefix("annotation-") } })
    }

    @Test("--eval --json prints the documented metrics", .enabled(if: corpusPresent))
    func evalJSON() throws {
        let r = try Fixtures.run(Fixtures.toolatlas, ["classify", "--eval", Fixtures.corpus, "--json", "--rules", Fixtures.rules])
        #expect(r.status == 0)
        let v = try JSONValue.parse(r.out.trimmingCharacters(in: .whitespacesAndNewlines))
        for key in ["category_accuracy", "risk_accuracy", "false_safe", "total", "confusion"] { #expect(v[key] != nil, "\(key)") }
        #expect(v["confusion"]?["Read"]?["Read"]?.intValue ?? 0 > 500)
    }

    @Test("on tools written outside the corpus, accuracy stays at its measured level and exactly the poisoned or contradicting definitions are flagged, each for what it does")
    func handmade() throws {
        let report = try Evaluation.run(corpus: Fixtures.handmade, classifier: try Classifier(directory: Fixtures.rules))
        #expect(report.total == 3374)
        #expect(report.problems.isEmpty)
        #expect(report.categoryAccuracy >= 0.97, "category accuracy \(report.categoryAccuracy)")
        #expect(report.riskAccuracy >= 0.93, "risk accuracy \(report.riskAccuracy)")
        // The ones left: two labels open to argument (process command lines, a rendered preview of a post) and a generated
        // route name with no description, whose list of users nothing says is one (UsersController_findAll).
        #expect(report.falseSafe.count <= 3, "false-safe: \(report.falseSafe.joined(separator: ", "))")
        // Each poisoned or self-contradicting definition, with the findings it must raise; no other tool may raise one.
        let expected: [String: [String]] = [
            "evil::get_weather": ["poisoning-read-secrets", "poisoning-instruction-tags"], "p::add_numbers": ["poisoning-override-instructions"],
            "p::get_time": ["poisoning-instruction-tags"], "p::search_docs": ["exfiltration-asks-for-conversation", "poisoning-cross-tool-orders"],
            "p::translate": ["exfiltration-destination-in-description"], "p::format_date": ["poisoning-read-secrets"],
            "p::weather_now": ["hidden-invisible-characters", "poisoning-read-secrets"], "p::send_email_v2": ["poisoning-shadows-other-tools"],
            "p::lookup": ["exfiltration-destination-in-description", "hidden-padding-before-payload"], "p::calc": ["exfiltration-asks-for-conversation"],
            "ann::purge_all_data": ["annotation-read-only-contradicts"], "ann::wipe_device": ["annotation-not-destructive-contradicts"],
            "m::delete_branch_ro": ["annotation-read-only-contradicts"],
            "q::get_stock_price": ["exfiltration-markdown-image"], "q::summarize_text": ["poisoning-bypasses-confirmation"],
            "q::get_forecast": ["poisoning-read-secrets"], "q::fetch_news": ["poisoning-shadows-other-tools"],
            "q::add_todo": ["exfiltration-asks-for-conversation"], "q::convert_units": ["poisoning-shadows-other-tools"],
            "q::word_count": ["hidden-padding-before-payload", "poisoning-override-instructions"],
            "q::lookup_ip": ["exfiltration-destination-in-description", "poisoning-read-secrets"],
            "p59::get_horoscope": ["poisoning-instruction-tags", "poisoning-read-secrets"], "p59::format_date": ["poisoning-bypasses-confirmation"],
            "p59::translate_phrase": ["poisoning-shadows-other-tools"], "p59::get_weather2": ["hidden-invisible-characters", "poisoning-override-instructions"],
            "p59::lookup_word": ["exfiltration-asks-for-conversation", "exfiltration-destination-in-description"],
            "p59::safe_delete_record": ["annotation-read-only-contradicts"], "p59::wipe_cache_all": ["annotation-not-destructive-contradicts"],
            "p91::get_fact_of_the_day": ["poisoning-shadows-other-tools", "poisoning-instruction-tags", "poisoning-hide-from-user"],
            "p91::add": ["poisoning-read-secrets"], "p91::summarize_url": ["exfiltration-asks-for-conversation"],
            "p91::spell_check": ["hidden-invisible-characters", "poisoning-override-instructions"], "p91::currency_rates": ["poisoning-bypasses-confirmation"],
            "p91::render_chart": ["exfiltration-markdown-image"], "p91::safe_cleanup": ["annotation-read-only-contradicts"],
            "p91::list_backups_and_wipe": ["annotation-not-destructive-contradicts"],
            "p126::get_quote_of_day": ["poisoning-read-secrets"], "p126::sum_values": ["poisoning-instruction-tags", "poisoning-hide-from-user"],
            "p126::unit_convert": ["poisoning-override-instructions"], "p126::spell_check": ["poisoning-shadows-other-tools"],
            "p126::time_now": ["exfiltration-asks-for-conversation", "exfiltration-destination-in-description"],
            "p126::dice_roll": ["hidden-invisible-characters", "poisoning-read-secrets"], "p126::file_helper": ["poisoning-shadows-other-tools"],
            "p126::render_status": ["exfiltration-markdown-image"], "p126::quick_deploy": ["poisoning-bypasses-confirmation"],
            "p134::get_exchange_rate": ["poisoning-instruction-tags"], "p134::check_spelling": ["poisoning-bypasses-confirmation"],
            "p134::format_markdown": ["exfiltration-redirect-data", "poisoning-shadows-other-tools"], "p134::count_words": ["hidden-ansi-or-comments"],
            "p134::ticker_lookup": ["poisoning-hide-from-user"], "p134::translate_text": ["poisoning-override-instructions"],
            "p134::zip_lookup": ["poisoning-read-secrets"], "p134::summarize_page": ["exfiltration-markdown-image"],
            "p134::current_time": ["poisoning-cross-tool-orders"], "p134::list_items": ["hidden-ansi-or-comments"],
            "p134::convert_currency": ["exfiltration-destination-in-description"],
            "p134::get_joke": ["hidden-padding-before-payload", "poisoning-read-secrets"], "p134::random_fact": ["poisoning-override-instructions"],
        ]
        #expect(Set(report.flagged.map(\.id)) == Set(expected.keys))
        for (id, findings) in report.flagged {
            for rule in expected[id] ?? [] { #expect(findings.contains { $0.hasPrefix(rule + " ") }, "\(id) lacks \(rule): \(findings)") }
        }
    }
}
