import ArgumentParser
import Foundation

/// `--output text|json`, the same on every command.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text, json
}

/// `--output`: what a command prints on standard output.
struct OutputOptions: ParsableArguments {
    @Option(help: "Output: text (for people) or json (for scripts).")
    var output: OutputFormat = .text

    var json: Bool { output == .json }
}

/// Prints a value as pretty JSON with sorted keys.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
