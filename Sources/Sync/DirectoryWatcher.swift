#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Wakes `watch` when something changes under a folder: inotify on Linux (every
/// sub-folder watched, new ones added as they appear), read on a thread of its own
/// so no task blocks; where inotify is not available (or `polling` is asked for),
/// only the timeout wakes it and each pass rescans.
public final class DirectoryWatcher: @unchecked Sendable {
    // @unchecked: `pending`, `waiter` and `watches` are guarded by `lock`.
    private let lock = NSLock()
    private var pending = false
    private var waiter: CheckedContinuation<Void, Never>?
    private var watches: [Int32: String] = [:]
    private let fd: Int32
    /// True when inotify is in use (false: polling).
    public var usesInotify: Bool { fd >= 0 }

    /// Starts watching `folder`.
    public init(folder: String, polling: Bool = false) {
        #if os(Linux)
        fd = polling ? -1 : inotify_init1(Int32(IN_CLOEXEC))
        #else
        fd = -1
        #endif
        guard fd >= 0 else { return }
        addTree(folder)
        let thread = Thread { [self] in readEvents() }
        thread.name = "ahi-upload inotify"
        thread.start()
    }

    #if os(Linux)
    private static let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB | IN_MODIFY)
    #endif

    private func add(_ dir: String) {
        #if os(Linux)
        let wd = inotify_add_watch(fd, dir, Self.mask)
        if wd >= 0 { lock.withLock { watches[wd] = dir } }
        #endif
    }

    private func addTree(_ dir: String) {
        add(dir)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names where !name.hasPrefix(".") {
            let path = (dir as NSString).appendingPathComponent(name)
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { addTree(path) }
        }
    }

    private func readEvents() {
        #if os(Linux)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            var offset = 0
            var newDirs: [String] = []
            buffer.withUnsafeBytes { raw in
                while offset + MemoryLayout<inotify_event>.size <= n {
                    let wd = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    let nameStart = offset + MemoryLayout<inotify_event>.size
                    if mask & UInt32(IN_ISDIR) != 0, mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0, length > 0,
                       nameStart + length <= n {
                        let name = String(decoding: raw[nameStart..<(nameStart + length)].prefix { $0 != 0 }, as: UTF8.self)
                        if let dir = lock.withLock({ watches[wd] }) { newDirs.append((dir as NSString).appendingPathComponent(name)) }
                    }
                    offset = nameStart + length
                }
            }
            for dir in newDirs { addTree(dir) }
            signal()
        }
        #endif
    }

    /// Marks a change and wakes a waiter.
    public func signal() {
        let w: CheckedContinuation<Void, Never>? = lock.withLock {
            pending = true
            defer { waiter = nil }
            return waiter
        }
        if let w {
            lock.withLock { pending = false }
            w.resume()
        }
    }

    /// Returns after a change (true) or after `timeout` seconds (false).
    public func wait(timeout: Double) async -> Bool {
        if lock.withLock({ let p = pending; pending = false; return p }) { return true }
        let woke = WakeFlag()
        let timer = Task { [weak self] in
            try? await Task.sleep(nanoseconds: UInt64(max(0, timeout) * 1e9))
            guard let self else { return }
            let w: CheckedContinuation<Void, Never>? = self.lock.withLock { defer { self.waiter = nil }; return self.waiter }
            if let w { woke.timedOut = true; w.resume() }
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow: Bool = lock.withLock {
                if pending { pending = false; return true }
                waiter = c
                return false
            }
            if resumeNow { c.resume() }
        }
        timer.cancel()
        return !woke.timedOut
    }

    private final class WakeFlag: @unchecked Sendable {
        var timedOut = false
    }
}
