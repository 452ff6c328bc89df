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
        let w = walk(paths)
        return (w.files, w.problems)
    }

    /// What a walk found.
    public struct Walk: Sendable {
        /// The regular files, in walk order.
        public var files: [String] = []
        /// Paths that could not be listed or read (link loops among them).
        public var problems: [Problem] = []
        /// Hidden entries (".name") passed over inside directories.
        public var hidden: [String] = []
    }

    /// Every regular file under `paths`; hidden entries inside directories are listed
    /// with the files when `includeHidden`, else counted in `hidden`.
    public static func walk(_ paths: [String], includeHidden: Bool = false) -> Walk {
        var w = Walk()
        var visited = Set<DirectoryID>()
        for path in paths {
            walk(path, topLevel: true, includeHidden: includeHidden, into: &w, visited: &visited)
        }
        return w
    }

    private struct DirectoryID: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    private static func walk(_ path: String, topLevel: Bool, includeHidden: Bool, into w: inout Walk, visited: inout Set<DirectoryID>) {
        var st = stat()
        guard stat(path, &st) == 0 else {
            w.problems.append(Problem(path: path, reason: String(cString: strerror(errno))))
            return
        }
        let kind = st.st_mode & S_IFMT
        if kind == S_IFREG {
            w.files.append(path)
            return
        }
        guard kind == S_IFDIR else {
            if topLevel { w.problems.append(Problem(path: path, reason: "not a regular file or directory")) }
            return
        }
        guard visited.insert(DirectoryID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))).inserted else { return }
        guard let dir = opendir(path) else {
            w.problems.append(Problem(path: path, reason: String(cString: strerror(errno))))
            return
        }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            if name.hasPrefix("."), !includeHidden {
                w.hidden.append((path.hasSuffix("/") ? path : path + "/") + name)
                continue
            }
            names.append(name)
        }
        closedir(dir)
        let base = path.hasSuffix("/") ? path : path + "/"
        for name in names.sorted() {
            walk(base + name, topLevel: false, includeHidden: includeHidden, into: &w, visited: &visited)
        }
    }
}
