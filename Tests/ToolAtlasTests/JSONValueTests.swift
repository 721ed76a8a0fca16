import AtlasModel
import Foundation
import Testing

@Suite("JSON values")
struct JSONValueTests {
    @Test("parses nested documents and re-encodes them canonically with sorted keys")
    func canonical() throws {
        let v = try JSONValue.parse(#"{"b": [1, 2.5, "x\u00e9\n"], "a": {"z": null, "y": true}}"#)
        #expect(v.canonical() == #"{"a":{"y":true,"z":null},"b":[1,2.5,"xé\n"]}"#)
    }

    @Test("reports the byte offset of malformed input", arguments: [#"{"a": }"#, "[1, 2", #""unterminated"#, "{\"a\":1} x", ""])
    func malformed(_ text: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(text) }
    }

    @Test("refuses hostile nesting instead of overflowing the stack")
    func depth() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(deep) }
    }

    @Test("escapes markup-significant characters so JSON embedded in HTML stays inert")
    func escaping() {
        let v: JSONValue = ["k": "</script><b>&\u{2028}"]
        #expect(v.canonical() == #"{"k":"\u003c/script\u003e\u003cb\u003e\u0026\u2028"}"#)
    }

    @Test("decodes surrogate pairs and keeps large integers exact")
    func unicodeAndIntegers() throws {
        let v = try JSONValue.parse(#"["\ud83d\ude00", 9007199254740993]"#)
        #expect(v.arrayValue?[0].stringValue == "😀")
        #expect(v.arrayValue?[1] == .int(9007199254740993))
    }

    @Test("reads one member of an object without the rest, past nested values and escaped quotes")
    func member() {
        let text = #"{"a":{"b":["}",{"c":"\"{"}]},"description":"Say \"hi\"\nthen \u00e9","z":1}"#
        #expect(JSONValue.member("description", of: Array(text.utf8)) == .string("Say \"hi\"\nthen é"))
        #expect(JSONValue.member("z", of: Array(text.utf8)) == .int(1))
        #expect(JSONValue.member("missing", of: Array(text.utf8)) == nil)
        #expect(JSONValue.member("a", of: Array("[1]".utf8)) == nil)
        #expect(JSONValue.member("b", of: Array(#"{"a":"unterminated"#.utf8)) == nil)
    }

    @Test("a tool read for its page has the name, title, description, annotations and parameters of the whole definition")
    func pageParts() throws {
        var texts = [#"""
            {"name":"t","annotations":{"title":"T","readOnlyHint":true},"description":"D \"q\" {x}","outputSchema":{"type":"object","properties":{"r":{"type":"string"}}},
             "inputSchema":{"$defs":{"X":{"type":"object","properties":{"deep":{"type":"integer"}}}},"type":"object","required":["b"],
              "properties":{"b":{"anyOf":[{"type":"string","enum":["x","y"]},{"type":"null"}],"default":null,"title":"B"},
                            "a":{"type":"array","items":{"$ref":"#/$defs/X","type":"object","properties":{"z":{}}},"description":"A }{ \u00e9","examples":[[1,{"}":"{"}]]},
                            "c":{"type":["string","null"],"enum":[1,"two",null,{"k":[true]}],"default":{"k":1},"format":"uri"}}},"_meta":{"x":[1,2,{"y":"]"}]}}
            """#, #"{"name":"only"}"#, #"{"name":"n","inputSchema":"not an object","title":7}"#]
        // Every tool of the shared corpus too, where it is next to the project (CI's clone may not have it).
        if let data = FileManager.default.contents(atPath: Fixtures.corpus) {
            for line in data.split(separator: 0x0A) { if let t = try JSONValue.parse(line)["tool"] { texts.append(t.canonical()) } }
            #expect(texts.count > 1000)
        }
        for text in texts {
            let whole = try Tool(json: JSONValue.parse(text))
            let page = try Tool(json: JSONValue.parse(text, keeping: Tool.pageParts))
            #expect(page.name == whole.name && page.title == whole.title && page.description == whole.description)
            #expect(page.annotations == whole.annotations)
            #expect(page.parameters == whole.parameters, "\(whole.name)")
        }
    }

    @Test("fingerprints keep the values databases and site manifests already hold: FNV-1a of each text, then 0xFF")
    func fingerprintValues() {
        var f = Fingerprint(seed: 7)
        var reference: UInt64 = 0xcbf29ce484222325 ^ 7
        for text in ["server", "", "é 工具", String(repeating: "x", count: 300)] {
            f.add(text)
            reference = Hashing.fnv1a64(bytes: [0xFF], from: Hashing.fnv1a64(bytes: Array(text.utf8), from: reference))
            #expect(f.value == reference)
        }
    }
}
