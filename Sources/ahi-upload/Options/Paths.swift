import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Paths given on the command line are checked before anything starts: one that does
/// not exist or cannot be read is an error (exit 2), never an empty run.
enum Paths {
    /// What is wrong with `path`, or nil when it can be read (a folder: listed too).
    static func problem(_ path: String, folder: Bool = false) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return String(cString: strerror(errno)).lowercased() }
        let isFolder = (st.st_mode & S_IFMT) == S_IFDIR
        if folder && !isFolder { return "not a folder" }
        guard access(path, isFolder ? R_OK | X_OK : R_OK) == 0 else { return String(cString: strerror(errno)).lowercased() }
        return nil
    }

    /// Prints `error: PATH: reason` for each path that cannot be read, and exits 2 if any.
    static func require(_ paths: [String], folders: Bool = false) throws {
        var bad = 0
        for p in paths {
            if let why = problem(p, folder: folders) {
                printError("error: \(p): \(why)")
                bad += 1
            }
        }
        if bad > 0 { throw ExitCode(2) }
    }
}
