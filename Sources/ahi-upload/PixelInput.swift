import ArgumentParser
import DICOMCore
import HTJ2K

#if canImport(Glibc)
import Glibc
#endif

/// The input of `decode` and `render`: a DICOM file (one of its frames, any transfer syntax
/// the frame decoder knows) or a JPEG 2000 / HTJ2K codestream, raw or in a JP2/JPH box file.
/// The file is memory-mapped; a codestream is copied once, for the decoder.
struct PixelInput {
    /// Why the input cannot be decoded at all (the commands print it and exit 1).
    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    /// The DICOM file, when the input is one.
    let file: DICOMFile?
    /// A codestream, when the input is one.
    let codestream: [UInt8]?

    /// Opens `path`. A file that starts with a codestream marker (FF 4F) or a JP2 signature
    /// box is a codestream; anything else is read as DICOM.
    /// - Throws: ``Unreadable`` when the file cannot be read, or is neither a codestream nor DICOM.
    init(path: String) throws(Unreadable) {
        let storage: ByteStorage
        do { storage = try ByteStorage(mappingFileAt: path) } catch { throw Unreadable(description: "\(path): cannot read: \(error)") }
        let head = storage.copyBytes(ByteRange(offset: 0, count: min(12, storage.count)))
        if head.starts(with: [0xFF, 0x4F]) || (head.count == 12 && Array(head[4..<8]) == Array("jP  ".utf8)) {
            file = nil
            codestream = storage.base.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: storage.count)) } ?? []
        } else {
            do { file = try DICOMFile.read(storage: storage, path: path, options: ParseOptions()) } catch {
                throw Unreadable(description: "\(path): not a JPEG 2000 codestream, and not readable as DICOM: \(error)")
            }
            codestream = nil
            guard file?.dataSet.contains(.pixelData) == true else {
                throw Unreadable(description: "\(path): not a JPEG 2000 codestream, nor a DICOM file with pixel data")
            }
        }
    }

    /// Decodes frame `number` (from 1) of a DICOM file, or the codestream skipping `level`
    /// resolution levels.
    func decode(frame number: Int, level: Int = 0, backend: J2KBackend? = nil, color: ColorOutput = .rgb) throws -> PixelBuffer {
        if let codestream { return try J2KDecoder.decode(codestream, backend: backend, skipLevels: level) }
        guard let file else { throw ValidationError("nothing to decode") }
        guard level == 0 else { throw ValidationError("--level applies to codestreams only") }
        return try FrameDecoder.decode(file, frame: try file.frame(number: number), color: color)
    }
}

/// Writes whole files with `open` and `writeAll` from the bytes as they are (no intermediate copy).
enum OutputFile {
    /// Writes `parts` one after the other to `path` (created or truncated, mode 0644).
    /// - Throws: `ValidationError` naming the path and the system's reason.
    static func write(_ path: String, _ parts: [UInt8]...) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ValidationError("\(path): cannot write: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        for part in parts {
            if let error = part.withUnsafeBytes({ writeAll(fd, $0) }) {
                throw ValidationError("\(path): cannot write: \(String(cString: strerror(error)))")
            }
        }
    }
}
