import Foundation
import PodioAPI
import Testing

@Suite("JSONScanner")
struct JSONScannerTests {
    private func text(_ data: Data, _ range: Range<Int>) -> String {
        String(decoding: data[range], as: UTF8.self)
    }

    @Test func membersAndTheirExactBytes() throws {
        let data = Data(#" { "a" : 1 , "b":"two", "c":[1, 2] ,"d":{"e":null},"f":true,"g":false,"h":-1.5e+3 } "#.utf8)
        let members = try JSONScanner.objectMembers(data)
        #expect(Set(members.keys) == ["a", "b", "c", "d", "f", "g", "h"])
        #expect(
            members.mapValues { text(data, $0) } == [
                "a": "1", "b": "\"two\"", "c": "[1, 2]", "d": "{\"e\":null}", "f": "true", "g": "false", "h": "-1.5e+3",
            ])
        #expect(try JSONScanner.objectMembers(Data("{}".utf8)).isEmpty)
        #expect(try JSONScanner.objectMembers(Data(" {\n\t} \r\n".utf8)).isEmpty)
    }

    @Test func escapedQuotesAndBackslashes() throws {
        let data = Data(#"{"a\"b":"x\"y\\","c\\":"\\\"","d":"}\"]","e":1}"#.utf8)
        let members = try JSONScanner.objectMembers(data)
        #expect(Set(members.keys) == ["a\"b", "c\\", "d", "e"])
        #expect(text(data, try #require(members["a\"b"])) == #""x\"y\\""#)
        #expect(text(data, try #require(members["c\\"])) == #""\\\"""#)
        #expect(text(data, try #require(members["d"])) == #""}\"]""#)
        #expect(text(data, try #require(members["e"])) == "1")
    }

    @Test func nestedArrays() throws {
        let data = Data(#"{"items":[[1,[2,[3,[]]]],{"k":[{},{"x":"]"}]},[],"[",-0.5],"n":null}"#.utf8)
        let members = try JSONScanner.objectMembers(data)
        let elements = try JSONScanner.arrayElements(data, in: try #require(members["items"]))
        #expect(
            elements.map { text(data, $0) } == [#"[1,[2,[3,[]]]]"#, #"{"k":[{},{"x":"]"}]}"#, "[]", #""[""#, "-0.5"])
        let inner = try JSONScanner.arrayElements(data, in: elements[0])
        #expect(inner.map { text(data, $0) } == ["1", "[2,[3,[]]]"])
        #expect(try JSONScanner.arrayElements(data, in: elements[2]).isEmpty)
        let spaced = Data("{\"a\": [ 1 ,\n 2 ] }".utf8)
        let range = try #require(try JSONScanner.objectMembers(spaced)["a"])
        #expect(try JSONScanner.arrayElements(spaced, in: range).map { text(spaced, $0) } == ["1", "2"])
        #expect(throws: JSONScanner.Failure.self) {
            try JSONScanner.arrayElements(data, in: try #require(members["n"]))
        }
    }

    @Test func unicode() throws {
        let data = Data(#"{"ü":"Ünïcödé 🚀","\u00fc2":"\ud83d\ude80","日本":["é",{"🚀":"👩‍👩‍👧"}]}"#.utf8)
        let members = try JSONScanner.objectMembers(data)
        #expect(Set(members.keys) == ["ü", "ü2", "日本"])
        #expect(text(data, try #require(members["ü"])) == "\"Ünïcödé 🚀\"")
        #expect(try JSONDecoder().decode(String.self, from: data[try #require(members["ü2"])]) == "🚀")
        let elements = try JSONScanner.arrayElements(data, in: try #require(members["日本"]))
        #expect(elements.map { text(data, $0) } == ["\"é\"", #"{"🚀":"👩‍👩‍👧"}"#])
    }

    @Test func everyTruncationThrows() throws {
        let document =
            #"{"total":3,"items":[{"item_id":1,"title":"a \"quoted\" ü","fields":[{"values":[{"value":"6513.5100"},{"value":true},{"value":null}]}]},{"item_id":2,"x":[[],[[]]]}],"filtered":-2.5}"#
        let data = Data(document.utf8)
        #expect(try JSONScanner.objectMembers(data).count == 3)
        for length in 0..<data.count {
            let prefix = data.prefix(length)
            #expect(throws: JSONScanner.Failure.self, "prefix of \(length) bytes") {
                let members = try JSONScanner.objectMembers(prefix)
                if let items = members["items"] { _ = try JSONScanner.arrayElements(prefix, in: items) }
            }
        }
    }

    @Test func malformedDocumentsThrow() {
        let bad = [
            "", " ", "[]", "null", "\"x\"", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{a:1}", "{\"a\":1,}", "{,}",
            "{\"a\":1}x", "{\"a\":1}{}", "{\"a\":[1,]}", "{\"a\":[1 2]}", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":True}",
            "{\"a\":\"tab\there\"}", "{\"a\":\"new\nline\"}", "{\"a\":'x'}", "{\"a\":-}", "{\"a\":1.2.3}",
            "{\"a\":--1}",
            "{\"a\":1e}", "{\"a\":+1}", "{\"a\":.5}", "{\"a\":01}", "{\"a\":[-]}", "{\"a\\q\":1}", "{\"a\":\"\\x\"}",
            "{\"a\":\"\\u12\"}", "<html><body>Podio is having a moment.</body></html>",
        ]
        for text in bad {
            #expect(throws: JSONScanner.Failure.self, "\(text.debugDescription)") {
                let data = Data(text.utf8)
                let members = try JSONScanner.objectMembers(data)
                if let a = members["a"], data[a.lowerBound] == UInt8(ascii: "[") {
                    _ = try JSONScanner.arrayElements(data, in: a)
                }
            }
        }
    }

    @Test func validNumbersAreAccepted() throws {
        for number in [
            "0", "-0", "1", "-1", "10", "0.5", "-0.5", "1e5", "1E+5", "1.5e-3", "6513.5100", "12345678901234567890",
        ] {
            let data = Data("{\"a\":\(number)}".utf8)
            #expect(text(data, try #require(try JSONScanner.objectMembers(data)["a"])) == number)
        }
    }

    @Test func deepNestingThrowsInsteadOfCrashing() {
        let depth = 100_000
        let data = Data(
            ("{\"a\":" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}").utf8)
        #expect(throws: JSONScanner.Failure.self) { try JSONScanner.objectMembers(data) }
    }

    @Test func slicesAreIndexedLikeTheirData() throws {
        let whole = Data(#"xxxx{"items":[{"item_id":7},{"item_id":8}],"total":2}"#.utf8)
        let slice = whole[4...]
        let members = try JSONScanner.objectMembers(slice)
        let items = try #require(members["items"])
        #expect(String(decoding: slice[items], as: UTF8.self) == #"[{"item_id":7},{"item_id":8}]"#)
        let elements = try JSONScanner.arrayElements(slice, in: items)
        #expect(elements.map { String(decoding: slice[$0], as: UTF8.self) } == [#"{"item_id":7}"#, #"{"item_id":8}"#])
        let page = try ItemPage(body: slice)
        #expect(page.items.map(\.itemID) == [7, 8])
        #expect(page.total == 2)
    }

    @Test func failureDescribesTheOffset() {
        do {
            _ = try JSONScanner.objectMembers(Data(#"{"a":[1,2"#.utf8))
            Issue.record("no error")
        } catch let error as JSONScanner.Failure {
            #expect(error.offset == 9)
            #expect(error.description.hasPrefix("invalid JSON at byte 9"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
