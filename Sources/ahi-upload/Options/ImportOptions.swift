import ArgumentParser
import DICOMweb
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

extension Delivery: ExpressibleByArgument {}

/// How files reach the data store (`import`, `sync`, `watch`): import jobs through S3, or STOW-RS.
struct DeliveryOptions: ParsableArguments {
    @Option(help: ArgumentHelp("""
        s3-import: upload to S3, then StartDICOMImportJob (the default). stow-rs: DICOMweb STOW-RS straight to the data \
        store — no bucket, no role, no job to wait for; each instance's outcome comes back in the answer (or AHI_VIA).
        """, valueName: "s3-import|stow-rs"))
    var via: Delivery?

    @OptionGroup var dicomweb: DICOMwebOptions

    @Option(name: .customLong("stow-max-request-mib"),
            help: "STOW-RS: MiB of instances per request (HealthImaging takes up to 1 GB; a larger instance goes alone).")
    var stowMaxRequestMiB = 64

    @Option(name: .customLong("stow-max-instances"), help: "STOW-RS: instances per request.")
    var stowMaxInstances = 100

    /// The delivery chosen (flag, AHI_VIA, config file), s3-import by default.
    func delivery() throws -> Delivery {
        if let via { return via }
        guard let text = Defaults.current.pick(nil, "via") else { return .s3Import }
        guard let d = Delivery(rawValue: text) else { throw ValidationError("via = \(text): not s3-import or stow-rs") }
        return d
    }

    /// STOW-RS request limits, `inFlight` requests at a time.
    func limits(inFlight: Int) -> StoreLimits {
        var l = StoreLimits()
        l.maxRequestBytes = max(1, stowMaxRequestMiB) << 20
        l.maxInstancesPerRequest = max(1, stowMaxInstances)
        l.requestsInFlight = max(1, inFlight)
        return l
    }

    /// True when nothing of AWS is needed: STOW-RS to a server with basic or no authentication.
    func needsNoAWS(_ delivery: Delivery) -> Bool { delivery == .stowRS && dicomweb.isUnsigned }

    /// The STOW-RS delivery on `connection` (nil with basic/no authentication).
    func stow(_ connection: Connection?, inFlight: Int, log: (@Sendable (String) -> Void)?,
              debug: (@Sendable (String) -> Void)?) throws -> StowDelivery {
        StowDelivery(client: try dicomweb.client(connection, connections: max(4, inFlight), debug: debug),
                     limits: limits(inFlight: inFlight), log: log)
    }
}
