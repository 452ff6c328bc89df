#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Lists the regular files under paths, recursively, following symbolic
/// links but visiting each directory once (so a symlink loop ends).
public enum FileWalker {
    /// A path that could not be listed, and why.
    public struct Problem: Sendable, Hashable {
        /// The path.
        public let path: String
        /// The reason (from `strerror`).
        public let reason: String
    }

    /// Every regular file under `paths` (a file given directly is listed as is),
    /// in lexical order within each directory; hidden entries (".name") inside
    /// directories are skipped.
    public static func files(under paths: [String]) -> (files: [String], problems: [Problem]) {
        var files: [String] = []
        var problems: [Problem] = []
        var visited = Set<DirectoryID>()
        for path in paths {
            walk(path, topLevel: true, files: &files, problems: &problems, visited: &visited)
        }
        return (files, problems)
    }

    private struct DirectoryID: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    private static func walk(_ path: String, topLevel: Bool, files: inout [String], problems: inout [Problem],
                             visited: inout Set<DirectoryID>) {
        var st = stat()
        guard stat(path, &st) == 0 else {
            problems.append(Problem(path: path, reason: String(cString: strerror(errno))))
            return
        }
        let kind = st.st_mode & S_IFMT
        if kind == S_IFREG {
            files.append(path)
            return
        }
        guard kind == S_IFDIR else {
            if topLevel { problems.append(Problem(path: path, reason: "not a regular file or directory")) }
            return
        }
        guard visited.insert(DirectoryID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))).inserted else { return }
        guard let dir = opendir(path) else {
            problems.append(Problem(path: path, reason: String(cString: strerror(errno))))
            return
        }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix(".") { continue }
            names.append(name)
        }
        closedir(dir)
        let base = path.hasSuffix("/") ? path : path + "/"
        for name in names.sorted() {
            walk(base + name, topLevel: false, files: &files, problems: &problems, visited: &visited)
        }
    }
}
