/// What one StartDICOMImportJob may take (shared/reference/healthimaging.md §3.1,
/// "Service quotas"): the planner splits a run into jobs that stay within both.
public enum ImportJobQuotas {
    /// Files per import job: 5,000 (quota L-685AAB3A; the default, adjustable per
    /// account, so callers let users lower or raise it).
    public static let maxFilesPerJob = 5_000

    /// Bytes of all files in one import job: 10 GB (10,000,000,000 bytes; not adjustable).
    public static let maxBytesPerJob = 10_000_000_000

    /// The least number of jobs that `files` files of `bytes` bytes in total need
    /// (0 for no files), with the given per-job limits (both at least 1).
    public static func jobsNeeded(files: Int, bytes: Int, maxFiles: Int = maxFilesPerJob,
                                  maxBytes: Int = maxBytesPerJob) -> Int {
        max((files + maxFiles - 1) / maxFiles, (bytes + maxBytes - 1) / maxBytes)
    }
}
