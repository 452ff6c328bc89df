import COpenJPEG

/// The HTJ2K module: codestream probing and decoding (backends arrive with the HTJ2K issue).
public enum OpenJPEG {
    /// The version of the linked OpenJPEG library, e.g. "2.5.0".
    public static var version: String { String(cString: opj_version()) }
}
