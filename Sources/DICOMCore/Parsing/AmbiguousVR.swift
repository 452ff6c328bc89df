/// Resolution of the dictionary's VR choices for elements read without an
/// explicit VR (PS3.5 Annex A.1 c and the notes of PS3.6), following the same
/// rules as pydicom's `correct_ambiguous_vr_element` so both read alike.
enum AmbiguousVR {
    /// Walks `ds` and its items, resolving "US or SS", "US or SS or OW",
    /// "US or OW" and "OB or OW" where the VR was taken from the dictionary.
    static func resolve(_ ds: inout DataSet, ancestors: [DataSet]) {
        let pixelRep = pixelRepresentation(ds, ancestors: ancestors)
        let chain = [ds] + ancestors
        for i in ds.elements.indices {
            let e = ds.elements[i]
            if var items = e.items {
                for j in items.indices { resolve(&items[j], ancestors: chain) }
                ds.elements[i].items = items
                continue
            }
            // Only elements whose VR came from the dictionary.
            guard !ds.isExplicitVR || e.isImplicitInsideUN else { continue }
            guard let entry = StandardDictionary.entry(for: e.tag), entry.isAmbiguousVR else { continue }
            switch entry.vrText {
            case "US or SS", "US or SS or OW":
                ds.elements[i].vr = pixelRep == 0 ? .US : .SS
            case "US or OW":
                // LUT Data: US when the LUT Descriptor's first value is 1 entry... as pydicom reads it.
                let first = ds[.lutDescriptor].flatMap { ds.uint16Values(of: $0).first }
                ds.elements[i].vr = first == 1 ? .US : .OW
            case "OB or OW":
                ds.elements[i].vr = e.tag == .pixelData && e.isUndefinedLength ? .OB : .OW
            default:
                break
            }
        }
    }

    /// Pixel Representation from this data set or the nearest ancestor; when
    /// none has it, 0 unless the data set holds Pixel Data (then 1), as pydicom does.
    static func pixelRepresentation(_ ds: DataSet, ancestors: [DataSet]) -> Int {
        for d in [ds] + ancestors {
            if let e = d[.pixelRepresentation], let v = d.uint16Values(of: e).first { return Int(v) }
        }
        return ds.contains(.pixelData) ? 1 : 0
    }
}
