import DICOMCore
import Foundation

/// Decodes many frames of one file on several threads and hands them over in frame order.
///
/// `workers` threads (default: one per active core, never more) take the next frame as soon
/// as they finish one; the caller's thread only consumes, in order. Memory is bounded by the
/// frames in flight: at most `window` decoded frames wait for the consumer, plus the one each
/// worker is decoding. With one worker, frames are decoded on the caller's thread and no
/// thread is started.
///
/// Measured on 2 cores (BENCHMARKS.md, "Many frames across cores"): a batch of 512² frames,
/// CRC-32 of each on its worker, goes 1.85–1.93× as fast with 2 workers as with 1.
public struct FrameBatch: Sendable {
    /// Decoding threads.
    public let workers: Int
    /// Decoded frames that may wait for the consumer.
    public let window: Int

    /// - Parameters:
    ///   - workers: decoding threads; clamped to 1…active cores.
    ///   - window: decoded frames that may wait (default: 2 × workers).
    public init(workers: Int = ProcessInfo.processInfo.activeProcessorCount, window: Int? = nil) {
        self.workers = max(1, min(workers, ProcessInfo.processInfo.activeProcessorCount))
        self.window = max(1, window ?? 2 * self.workers)
    }

    /// Decodes `frames` of `file` (with `FrameDecoder.decode`) and calls `body` on the calling
    /// thread with each frame's position in `frames` and its result, in order. When `body`
    /// throws, the workers stop after the frame each is decoding, and the error is rethrown.
    public func decode(_ file: DICOMFile, frames: [Frame], color: ColorOutput = .rgb,
                       _ body: (Int, Result<PixelBuffer, CodecError>) throws -> Void) rethrows {
        try decode(file, frames: frames, color: color, transform: { $0 }, body)
    }

    /// The same, with `transform` applied to each decoded frame on the worker that decoded it
    /// (a checksum, a reduction, an encoding): only its result waits for the consumer, and
    /// per-frame work runs on every core instead of on the consumer alone.
    public func decode<R: Sendable>(_ file: DICOMFile, frames: [Frame], color: ColorOutput = .rgb,
                                    transform: @escaping @Sendable (PixelBuffer) -> R,
                                    _ body: (Int, Result<R, CodecError>) throws -> Void) rethrows {
        let decodeOne: @Sendable (Int) -> Result<R, CodecError> = { i in
            Result { () throws(CodecError) -> PixelBuffer in try FrameDecoder.decode(file, frame: frames[i], color: color) }.map(transform)
        }
        if workers == 1 || frames.count <= 1 {
            for i in frames.indices { try body(i, decodeOne(i)) }
            return
        }
        let state = BatchState<R>(count: frames.count, window: window, workers: min(workers, frames.count))
        let threads = (0..<min(workers, frames.count)).map { _ in
            Thread {
                while let i = state.take() { state.put(i, decodeOne(i)) }
                state.workerDone()
            }
        }
        for t in threads {
            t.stackSize = 8 << 20  // the codecs recurse and keep tables on the stack
            t.start()
        }
        defer { state.stop() }
        for i in frames.indices { try body(i, state.result(i)) }
    }
}

/// The shared state of one batch: the next frame to take, the decoded frames waiting, and
/// how far the consumer has come.
private final class BatchState<R: Sendable>: @unchecked Sendable {
    // @unchecked: every field is read and written with `condition` held.
    private let condition = NSCondition()
    private let count: Int, window: Int
    private var next = 0, consumed = 0, running: Int, stopped = false
    private var ready: [Int: Result<R, CodecError>] = [:]

    init(count: Int, window: Int, workers: Int) {
        self.count = count
        self.window = window
        running = workers
    }

    /// The next frame to decode; waits while `window` decoded frames are ahead of the consumer.
    /// nil when there is none left or the batch is stopped.
    func take() -> Int? {
        condition.lock()
        defer { condition.unlock() }
        while !stopped && next < count && next - consumed >= window { condition.wait() }
        guard !stopped, next < count else { return nil }
        defer { next += 1 }
        return next
    }

    func put(_ i: Int, _ r: Result<R, CodecError>) {
        condition.lock()
        ready[i] = r
        condition.broadcast()
        condition.unlock()
    }

    func workerDone() {
        condition.lock()
        running -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for frame `i` and hands it over.
    func result(_ i: Int) -> Result<R, CodecError> {
        condition.lock()
        defer { condition.unlock() }
        while ready[i] == nil { condition.wait() }
        let r = ready.removeValue(forKey: i) ?? .failure(.decodeFailed(backend: "batch", reason: "frame \(i + 1) lost"))
        consumed = i + 1
        condition.broadcast()
        return r
    }

    /// Stops the workers after their current frame and waits for them to finish.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }
}
