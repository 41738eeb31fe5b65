// A character vocabulary: Unicode scalars ↔ token ids. Unicode scalars, not Characters, so that
// a text always splits the same way and the vocabulary round-trips through a metadata string.

/// The characters a character-level model knows, each with a token id `0..<V` (sorted by code point).
public struct CharacterVocabulary: Codable, Sendable, Equatable {
    /// The characters, indexed by token id.
    public let characters: [Unicode.Scalar]
    private let idByCharacter: [Unicode.Scalar: Int]

    /// The vocabulary of every distinct Unicode scalar in `text`, sorted by code point.
    /// - Throws: ``RNNKitError`` if `text` is empty.
    public init(text: String) throws {
        let distinct = Set(text.unicodeScalars)
        guard !distinct.isEmpty else {
            throw RNNKitError(.invalidArgument, "cannot build a character vocabulary from an empty text")
        }
        try self.init(characters: distinct.sorted { $0.value < $1.value })
    }

    /// A vocabulary of exactly `characters`, in this order.
    /// - Throws: ``RNNKitError`` if the list is empty or holds a character twice.
    public init(characters: [Unicode.Scalar]) throws {
        guard !characters.isEmpty else {
            throw RNNKitError(.invalidArgument, "a character vocabulary needs at least one character")
        }
        var ids: [Unicode.Scalar: Int] = [:]
        for (id, character) in characters.enumerated() {
            guard ids.updateValue(id, forKey: character) == nil else {
                throw RNNKitError(.invalidArgument,
                    "character U+\(String(character.value, radix: 16, uppercase: true)) appears twice in the vocabulary; expected distinct characters")
            }
        }
        self.characters = characters
        self.idByCharacter = ids
    }

    /// Number of characters `V`.
    public var count: Int { characters.count }

    /// The id of `character`, or `nil` if it is not in the vocabulary.
    public func id(of character: Unicode.Scalar) -> Int? { idByCharacter[character] }

    /// The ids of every character of `text`.
    /// - Throws: ``RNNKitError`` naming the first character that is not in the vocabulary.
    public func encode(_ text: String) throws -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.unicodeScalars.count)
        for (position, character) in text.unicodeScalars.enumerated() {
            guard let id = idByCharacter[character] else {
                throw RNNKitError(.invalidArgument,
                    "character U+\(String(character.value, radix: 16, uppercase: true)) at position \(position) is not in the vocabulary of \(count) characters")
            }
            ids.append(id)
        }
        return ids
    }

    /// The text of `ids`.
    /// - Throws: ``RNNKitError`` naming the first id outside `0..<V`.
    public func decode(_ ids: [Int]) throws -> String {
        var scalars = String.UnicodeScalarView()
        for (position, id) in ids.enumerated() {
            guard id >= 0, id < count else {
                throw RNNKitError(.invalidArgument, "token id \(id) at position \(position) is out of range; expected 0..<\(count)")
            }
            scalars.append(characters[id])
        }
        return String(scalars)
    }

    /// The vocabulary as a metadata string: code points in decimal, comma-separated (`"10,32,97"`).
    public var metadataValue: String { characters.map { String($0.value) }.joined(separator: ",") }

    /// Reads ``metadataValue``.
    /// - Throws: ``RNNKitError`` `.invalidFile` if the string is not a comma-separated list of distinct code points.
    public init(metadataValue: String) throws {
        var scalars: [Unicode.Scalar] = []
        for field in metadataValue.split(separator: ",", omittingEmptySubsequences: false) {
            guard let code = UInt32(field), let scalar = Unicode.Scalar(code) else {
                throw RNNKitError(.invalidFile,
                    "vocabulary entry \"\(field)\" is not a Unicode code point; expected comma-separated decimal code points")
            }
            scalars.append(scalar)
        }
        do { try self.init(characters: scalars) } catch let error as RNNKitError {
            throw RNNKitError(.invalidFile, "the vocabulary in the metadata is invalid: \(error.message)")
        }
    }

    public static func == (lhs: CharacterVocabulary, rhs: CharacterVocabulary) -> Bool { lhs.characters == rhs.characters }

    private enum CodingKeys: String, CodingKey { case characters }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let codes = try container.decode([UInt32].self, forKey: .characters)
        try self.init(characters: codes.map { Unicode.Scalar($0) ?? "?" })
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(characters.map(\.value), forKey: .characters)
    }
}
