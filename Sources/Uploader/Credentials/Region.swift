import Foundation

/// The region, in the SDKs' order: `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the
/// profile's `region` (from `config`, or `credentials` where the AWS CLI also reads it).
/// Empty values are unset. A value that is not a region name is an error naming where it
/// was set, never pasted into a host name.
/// - Returns: the region, or nil when none of these sets one.
/// - Throws: ``CredentialError/invalid(source:reason:)`` for a malformed region or shared file.
public func resolveRegion(explicit: String?, environment: [String: String], profile: String) throws(CredentialError) -> String? {
    try configuredRegion(explicit: explicit, environment: environment, profile: profile, files: nil)
}

/// The region in the SDKs' whole order: ``resolveRegion(explicit:environment:profile:)``, then
/// EC2 instance metadata (`placement/region`, IMDSv2, 1 s timeout; skipped with
/// `AWS_EC2_METADATA_DISABLED=true`).
public func resolveRegionIncludingInstanceMetadata(explicit: String?, environment: [String: String],
                                                   profile: String) async throws(CredentialError) -> String? {
    if let r = try resolveRegion(explicit: explicit, environment: environment, profile: profile) { return r }
    guard let r = await MetadataCredentials.instanceRegion(environment) else { return nil }
    return try checkedRegion(r, source: "instance metadata (placement/region)")
}

/// The region every command's clients sign for, decided here and nowhere else:
/// ``resolveRegion(explicit:environment:profile:)``; then, for AWS endpoints, the
/// instance's region (``resolveRegionIncludingInstanceMetadata(explicit:environment:profile:)``);
/// for a custom endpoint (a local server, which does not check it) `us-east-1`.
/// - Parameter customEndpoint: an endpoint URL was given (`--endpoint-url`, `--s3-endpoint-url`).
/// - Throws: ``CredentialError/invalid(source:reason:)``: a malformed region (naming its
///   source) or shared file, or no region at all (`no region: …`, with what to do).
public func signingRegion(explicit: String?, environment: [String: String], profile: String,
                          customEndpoint: Bool) async throws(CredentialError) -> String {
    if customEndpoint {
        return try resolveRegion(explicit: explicit, environment: environment, profile: profile) ?? "us-east-1"
    }
    if let r = try await resolveRegionIncludingInstanceMetadata(explicit: explicit, environment: environment, profile: profile) {
        return r
    }
    throw .invalid(source: "no region", reason: "pass --region, set AWS_REGION, or add region to the profile "
                       + "(\(profile)) in ~/.aws/config (instance metadata had none)")
}

/// ``resolveRegion(explicit:environment:profile:)`` with the shared files already read (nil: read them if needed).
func configuredRegion(explicit: String?, environment: [String: String], profile: String,
                      files: ProfileFiles?) throws(CredentialError) -> String? {
    for (value, source) in [(explicit, "--region"), (environment["AWS_REGION"], "AWS_REGION"),
                            (environment["AWS_DEFAULT_REGION"], "AWS_DEFAULT_REGION")] {
        if let value, !value.isEmpty { return try checkedRegion(value, source: source) }
    }
    let loaded: ProfileFiles
    if let files { loaded = files } else { loaded = try ProfileFiles.load(environment: environment) }
    guard let region = loaded.settings(of: profile)?["region"] else { return nil }
    return try checkedRegion(region, source: loaded.origin(of: "region", in: profile))
}

/// `region` when it can stand in a host name (`s3.REGION.amazonaws.com`) and a SigV4
/// scope: an RFC 1123 label of lower-case letters, digits and hyphens, 1–63 long, not
/// starting or ending with a hyphen (`eu-west-1`, `us-gov-west-1`, `cn-north-1`).
func checkedRegion(_ region: String, source: String) throws(CredentialError) -> String {
    let bytes = Array(region.utf8)
    let valid = (1...63).contains(bytes.count) && bytes.first != UInt8(ascii: "-") && bytes.last != UInt8(ascii: "-")
        && bytes.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
            || $0 == UInt8(ascii: "-") }
    guard !valid else { return region }
    let hint = region.lowercased() != region && (try? checkedRegion(region.lowercased(), source: source)) != nil
        ? " (region names are lower-case: \(region.lowercased()))" : ""
    throw .invalid(source: source, reason: "region \(region.debugDescription) is not a region name: "
                       + "lower-case letters, digits and hyphens, such as eu-west-1\(hint)")
}
