import CLibXML2
import Foundation

/// Strict XML checks with libxml2: well-formedness of generated pages and XSD validation (sitemap.xml).
public enum XMLCheck {
    private static let initOnce: Void = { xmlInitParser() }()

    /// nil when `bytes` is well-formed XML; otherwise the first error with its line.
    public static func wellFormedError(_ bytes: [UInt8]) -> String? {
        _ = initOnce
        let ctxt = xmlNewParserCtxt()
        defer { xmlFreeParserCtxt(ctxt) }
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        let doc = bytes.withUnsafeBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) { xmlCtxtReadMemory(ctxt, $0, Int32(buf.count), "page.xhtml", "UTF-8", options) }
        }
        defer { if let doc { xmlFreeDoc(doc) } }
        if doc == nil || ctxt?.pointee.wellFormed == 0 {
            if let e = xmlCtxtGetLastError(UnsafeMutableRawPointer(ctxt)) {
                return "line \(e.pointee.line): \(String(cString: e.pointee.message).trimmingCharacters(in: .whitespacesAndNewlines))"
            }
            return "not well-formed"
        }
        return nil
    }

    /// Errors of `xml` against the XML Schema at `xsdPath` (empty when valid).
    public static func validate(_ xml: [UInt8], schema xsdPath: String) -> [String] {
        _ = initOnce
        guard let parserCtxt = xmlSchemaNewParserCtxt(xsdPath) else { return ["cannot read schema \(xsdPath)"] }
        defer { xmlSchemaFreeParserCtxt(parserCtxt) }
        guard let schema = xmlSchemaParse(parserCtxt) else { return ["schema \(xsdPath) does not parse"] }
        defer { xmlSchemaFree(schema) }
        guard let valid = xmlSchemaNewValidCtxt(schema) else { return ["cannot create a validation context"] }
        defer { xmlSchemaFreeValidCtxt(valid) }
        let collector = ErrorCollector()
        xmlSchemaSetValidStructuredErrors(valid, { ctx, err in
            guard let ctx, let err else { return }
            let c = Unmanaged<ErrorCollector>.fromOpaque(ctx).takeUnretainedValue()
            c.messages.append("line \(err.pointee.line): " + String(cString: err.pointee.message).trimmingCharacters(in: .whitespacesAndNewlines))
        }, Unmanaged.passUnretained(collector).toOpaque())
        let doc = xml.withUnsafeBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) {
                xmlReadMemory($0, Int32(buf.count), "doc.xml", "UTF-8", Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue))
            }
        }
        guard let doc else { return ["document is not well-formed XML"] }
        defer { xmlFreeDoc(doc) }
        let rc = xmlSchemaValidateDoc(valid, doc)
        if rc != 0 && collector.messages.isEmpty { return ["invalid (code \(rc))"] }
        return collector.messages
    }

    final class ErrorCollector { var messages: [String] = [] }
}

