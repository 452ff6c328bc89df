import ArgumentParser
import Foundation
import ImportPipeline
import Uploader

/// Where uploads go and the role HealthImaging reads them with (`import`, `sync`, `watch`).
struct DestinationOptions: ParsableArguments {
    @Option(help: "S3 bucket for the upload (HealthImaging reads it with the data access role; or AHI_BUCKET).")
    var bucket: String?

    @Option(help: "Key prefix in the bucket (default: ahi-upload; or AHI_PREFIX).")
    var prefix: String?

    @Option(name: .customLong("role-arn"), help: "The data access role HealthImaging assumes to read the bucket (or AHI_ROLE_ARN).")
    var roleArn: String?

    /// The destination on `connection`'s data store; with `--local`, its bucket and role.
    /// - Throws: `ValidationError` when the bucket or role is missing and `required`.
    func destination(_ connection: Connection, required: Bool = true) throws -> ImportDestination {
        let d = Defaults.current
        let prefix = d.pick(self.prefix, "prefix") ?? "ahi-upload"
        if connection.local != nil {
            return ImportDestination(datastoreId: connection.datastore, bucket: ServiceOptions.localBucket, prefix: prefix,
                                     roleArn: ServiceOptions.localRole)
        }
        let bucket = d.pick(self.bucket, "bucket"), role = d.pick(roleArn, "role-arn")
        if let bucket, let problem = S3URI.bucketNameProblem(bucket) {
            throw ValidationError("--bucket \(bucket): \(problem)")
        }
        if required {
            guard bucket != nil else { throw ValidationError("--bucket is required to upload (or AHI_BUCKET)") }
            guard role != nil else { throw ValidationError("--role-arn (the data access role) is required (or AHI_ROLE_ARN)") }
        }
        return ImportDestination(datastoreId: connection.datastore, bucket: bucket ?? "", prefix: prefix, roleArn: role ?? "")
    }
}

/// How much is in flight and how big a job gets (`import`, `sync`, `watch`).
struct JobLimitOptions: ParsableArguments {
    @Option(help: "Requests in flight at once.")
    var concurrency = 10

    @Option(name: .customLong("max-files-per-job"), help: "Files per import job (HealthImaging's quota: 5,000).")
    var maxFilesPerJob = ImportJobQuotas.maxFilesPerJob

    @Option(name: .customLong("max-bytes-per-job"), help: "Bytes per import job (HealthImaging's quota: 10 GB).")
    var maxBytesPerJob = ImportJobQuotas.maxBytesPerJob

    @Option(name: .customLong("multipart-threshold-mib"), help: "Files at least this large (MiB) are sent in parts.")
    var multipartThresholdMiB = 16

    @Option(name: .customLong("part-size-mib"), help: "Part size in MiB (at least 5; raised so no file needs more than 10,000 parts).")
    var partSizeMiB = 8

    /// The pipeline's settings.
    var pipeline: ImportPipeline.Settings {
        var s = ImportPipeline.Settings()
        s.concurrency = max(1, concurrency)
        s.multipartThreshold = max(1, multipartThresholdMiB) << 20
        s.partSize = max(5, partSizeMiB) << 20
        return s
    }
}

/// `--shard K/N`: work one part of a shared folder (`import`, `sync`, `watch`).
struct ShardOptions: ParsableArguments {
    @Option(help: """
        Work only the studies of shard K of N (0-based, e.g. 0/4), split by StudyInstanceUID so a study never spans \
        shards. Default: AWS_BATCH_JOB_ARRAY_INDEX or JOB_COMPLETION_INDEX with --shard-count (or AHI_SHARD_COUNT); \
        else the whole folder.
        """)
    var shard: String?

    @Option(name: .customLong("shard-count"), help: "How many shards, with an index from AWS Batch or Kubernetes.")
    var shardCount: Int?

    /// The shard to work.
    func resolve() throws -> Shard {
        do { return try Shard.resolve(flag: shard, count: shardCount, environment: Defaults.current.environment) } catch {
            throw ValidationError(error.description)
        }
    }
}
