// swift-tools-version: 6.1
import PackageDescription

/// The two commands' release builds are linked as position-dependent executables: the loader
/// then applies no relocations to the binary (about 120,000 with the Swift runtime linked in
/// statically by `--static-swift-stdlib`), a millisecond of every command's start.
/// See BENCHMARKS.md, "The command line against the C tools".
let fastStart: [LinkerSetting] = [.unsafeFlags(["-Xclang-linker", "-no-pie"], .when(configuration: .release))]

let package = Package(
    name: "ahi-upload",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "ByteCoding", targets: ["ByteCoding"]),
        .library(name: "DICOMCore", targets: ["DICOMCore"]),
        .library(name: "HTJ2K", targets: ["HTJ2K"]),
        .library(name: "Uploader", targets: ["Uploader"]),
        .library(name: "DICOMweb", targets: ["DICOMweb"]),
        .library(name: "LocalHealthImaging", targets: ["LocalHealthImaging"]),
        .library(name: "DIMSE", targets: ["DIMSE"]),
        .executable(name: "ahi-upload", targets: ["ahi-upload"]),
        .executable(name: "ahi-local", targets: ["ahi-local"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // System libraries, found through pkg-config (installed by Scripts/setup.sh).
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CCharLS", path: "Sources/CCharLS", pkgConfig: "charls",
            providers: [.apt(["libcharls-dev"])]),
        .systemLibrary(
            name: "COpenJPEG", path: "Sources/COpenJPEG", pkgConfig: "libopenjp2",
            providers: [.apt(["libopenjp2-7-dev"])]),

        .systemLibrary(
            name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),

        // CRC-32C with the CPU's CRC32 instruction (S3 checksums).
        .target(name: "CChecksum"),
        // Base64, hex, zlib/gzip and CRC-32/CRC-32C: the byte encodings DICOM, S3 and HealthImaging share.
        .target(name: "ByteCoding", dependencies: ["CZlib", "CChecksum"]),
        .target(name: "DICOMCore", dependencies: ["ByteCoding"]),
        // OpenJPH (C++) behind a C shim, so no C++ exception reaches Swift; linked by name
        // because Debian's openjph.pc is empty.
        .target(name: "COpenJPH", linkerSettings: [.linkedLibrary("openjph")]),
        // DCMTK's IJG JPEG decoders (8/12/16-bit) and libjpeg-turbo (8-bit baseline) behind a C shim,
        // so no C++ exception or DCMTK type reaches Swift; linked by name (only what the shim calls).
        .target(name: "CDCMJPEG", linkerSettings: [
            .linkedLibrary("dcmjpeg"), .linkedLibrary("oflog"), .linkedLibrary("ofstd"), .linkedLibrary("jpeg"),
        ]),
        .target(name: "HTJ2K", dependencies: ["ByteCoding", "DICOMCore", "COpenJPEG", "COpenJPH", "CCharLS", "CDCMJPEG"]),
        .target(name: "Uploader", dependencies: [
            "ByteCoding",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        // DICOMweb (PS3.18): media types, multipart bodies, DICOM JSON, the STOW-RS answer, and the
        // STOW-RS / WADO-RS / QIDO-RS client on the Uploader's transport.
        .target(name: "DICOMweb", dependencies: ["ByteCoding", "DICOMCore", "Uploader",
                                                 .product(name: "AsyncHTTPClient", package: "async-http-client")]),
        // The one import pipeline behind `import`, `sync` and `watch`: candidates (one read of
        // each file), job identities and grouping, the job starter, manifests, the journal.
        .target(name: "ImportPipeline", dependencies: [
            "ByteCoding", "DICOMCore", "DICOMweb", "HTJ2K", "Uploader", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // `sync` / `watch`: the SQLite ledger and the engine that imports a folder exactly once.
        .target(name: "Sync", dependencies: ["ByteCoding", "DICOMCore", "DICOMweb", "ImportPipeline", "Uploader", "CSQLite"]),
        // A local HealthImaging (S3 + medical-imaging on one loopback port), and its executable.
        .target(name: "LocalHealthImaging", dependencies: [
            "ByteCoding", "DICOMCore", "DICOMweb", "HTJ2K", "Uploader",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // The DICOM upper layer and DIMSE (C-ECHO, C-STORE; SCP and SCU) on SwiftNIO.
        .target(name: "DIMSE", dependencies: [
            "ByteCoding", "DICOMCore", "DICOMweb",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        .executableTarget(
            name: "ahi-local",
            dependencies: ["LocalHealthImaging", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            linkerSettings: fastStart),
        .executableTarget(
            name: "ahi-upload",
            dependencies: [
                "ByteCoding", "DICOMCore", "DICOMweb", "DIMSE", "HTJ2K", "Uploader", "ImportPipeline", "LocalHealthImaging", "Sync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            linkerSettings: fastStart),
        // Benchmark: `swift run -c release dicom-bench` (see BENCHMARKS.md).
        .executableTarget(name: "dicom-bench", dependencies: ["DICOMCore"]),
        // HTJ2K and JPEG decode benchmark: `swift run -c release htj2k-bench` (see BENCHMARKS.md).
        .executableTarget(name: "htj2k-bench", dependencies: ["DICOMCore", "HTJ2K"]),
        // Fuzz target (Scripts/fuzz.sh builds it with -sanitize=fuzzer,address); a replayer otherwise.
        .executableTarget(name: "dicom-fuzz", dependencies: ["DICOMCore", "HTJ2K"]),
        // The same for the PDU and DIMSE command-set parsers (Scripts/fuzz.sh runs both).
        .executableTarget(name: "dimse-fuzz", dependencies: ["DIMSE"]),

        // Helpers shared by the test targets: paths, running tools, synthetic data sets.
        .target(name: "TestSupport", dependencies: ["ByteCoding", "DICOMCore"], path: "Tests/TestSupport"),
        .testTarget(name: "ByteCodingTests", dependencies: ["ByteCoding", "TestSupport"]),
        .testTarget(name: "DICOMCoreTests", dependencies: ["ByteCoding", "DICOMCore", "TestSupport"]),
        .testTarget(name: "ahi-uploadTests", dependencies: ["DICOMCore", "HTJ2K", "TestSupport"]),
        .testTarget(name: "UploaderTests", dependencies: [
            "ByteCoding", "Uploader", "TestSupport", .product(name: "NIOHTTP1", package: "swift-nio"),
        ], exclude: ["Resources"]),
        .testTarget(name: "HTJ2KTests", dependencies: ["ByteCoding", "HTJ2K", "DICOMCore", "TestSupport"]),
        .testTarget(name: "LocalHealthImagingTests", dependencies: ["LocalHealthImaging", "DICOMweb", "HTJ2K", "Uploader", "ImportPipeline", "TestSupport"]),
        .testTarget(name: "SyncTests", dependencies: ["Sync", "ImportPipeline", "Uploader", "LocalHealthImaging", "TestSupport"]),
        .testTarget(name: "DIMSETests", dependencies: [
            "DIMSE", "DICOMCore", "TestSupport", .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ], exclude: ["Seeds"]),
        .testTarget(name: "DICOMwebTests", dependencies: ["DICOMweb", "DICOMCore", "TestSupport"]),
        .testTarget(name: "ImportPipelineTests", dependencies: ["ImportPipeline", "DICOMweb", "Uploader", "TestSupport"], exclude: ["Resources"]),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
