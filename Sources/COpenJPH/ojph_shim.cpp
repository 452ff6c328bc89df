// A C face for OpenJPH (C++), so Swift never sees a C++ exception: every call is
// wrapped, and an error comes back as -1 with a message.
#include "COpenJPH.h"

#include <openjph/ojph_arch.h>
#include <openjph/ojph_defs.h>
#include <openjph/ojph_codestream.h>
#include <openjph/ojph_file.h>
#include <openjph/ojph_mem.h>
#include <openjph/ojph_params.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

namespace {

void set_error(char *error, size_t capacity, const std::string &message) {
    if (error && capacity) std::snprintf(error, capacity, "%s", message.c_str());
}

// OpenJPH 0.9 zero-fills what a truncated stream lacks; a complete codestream ends with EOC.
bool ends_with_eoc(const uint8_t *data, size_t size) {
    return size >= 2 && data[size - 2] == 0xFF && data[size - 1] == 0xD9;
}

void fill(ojph::codestream &cs, ahi_ojph_info *info) {
    ojph::param_siz siz = cs.access_siz();
    ojph::param_cod cod = cs.access_cod();
    info->width = siz.get_recon_width(0);
    info->height = siz.get_recon_height(0);
    info->components = siz.get_num_components();
    info->bit_depth = siz.get_bit_depth(0);
    info->is_signed = siz.is_signed(0) ? 1 : 0;
    info->decompositions = cod.get_num_decompositions();
    info->reversible = cod.is_reversible() ? 1 : 0;
    info->progression = cod.get_progression_order();
}

// Opens `data`, reads the main header and restricts the resolution; false with `error` set.
bool open_restricted(const uint8_t *data, size_t size, uint32_t skip_levels, ojph::mem_infile &file,
                     ojph::codestream &cs, ahi_ojph_info *info, char *error, size_t capacity) {
    if (!ends_with_eoc(data, size)) { set_error(error, capacity, "the codestream is truncated (no EOC marker)"); return false; }
    file.open(data, size);
    cs.read_headers(&file);
    if (skip_levels > cs.access_cod().get_num_decompositions()) {
        set_error(error, capacity, "more levels skipped than the codestream has");
        return false;
    }
    cs.restrict_input_resolution(skip_levels, skip_levels);
    fill(cs, info);
    return true;
}

// Runs `body`, turning any C++ exception into -1 and a message.
template <typename Body>
int guarded(char *error, size_t capacity, Body body) {
    try {
        return body();
    } catch (const std::exception &e) {
        set_error(error, capacity, e.what());
    } catch (...) {
        set_error(error, capacity, "OpenJPH failed");
    }
    return -1;
}

}  // namespace

extern "C" int ahi_ojph_probe(const uint8_t *data, size_t size, uint32_t skip_levels, ahi_ojph_info *info,
                              char *error, size_t error_capacity) {
    return guarded(error, error_capacity, [&]() -> int {
        ojph::mem_infile file;
        ojph::codestream cs;
        if (!open_restricted(data, size, skip_levels, file, cs, info, error, error_capacity)) return -1;
        cs.close();
        return 0;
    });
}

extern "C" int ahi_ojph_decode(const uint8_t *data, size_t size, uint32_t skip_levels, uint32_t bytes_per_sample,
                               uint8_t *out, size_t out_capacity, ahi_ojph_info *info, char *error, size_t error_capacity) {
    return guarded(error, error_capacity, [&]() -> int {
        ojph::mem_infile file;
        ojph::codestream cs;
        if (!open_restricted(data, size, skip_levels, file, cs, info, error, error_capacity)) return -1;
        ojph::param_siz siz = cs.access_siz();
        const uint32_t comps = info->components;
        for (uint32_t c = 0; c < comps; c++) {
            if (siz.get_recon_width(c) != info->width || siz.get_recon_height(c) != info->height) {
                set_error(error, error_capacity, "subsampled components are not supported");
                return -1;
            }
        }
        const size_t needed = size_t(info->width) * info->height * comps * bytes_per_sample;
        if (out_capacity < needed) { set_error(error, error_capacity, "output buffer too small"); return -1; }
        cs.set_planar(false);
        cs.create();
        const size_t row_bytes = size_t(info->width) * comps * bytes_per_sample;
        for (uint32_t y = 0; y < info->height; y++) {
            uint8_t *row = out + y * row_bytes;
            for (uint32_t c = 0; c < comps; c++) {
                ojph::ui32 comp = 0;
                ojph::line_buf *line = cs.pull(comp);
                const ojph::si32 *src = line->i32;
                // Reduced-resolution samples can overshoot the range: clamp to the bit depth.
                const uint32_t depth = siz.get_bit_depth(comp);
                const bool is_signed = siz.is_signed(comp);
                const int64_t lo = is_signed ? -(int64_t(1) << (depth - 1)) : 0;
                const int64_t hi = is_signed ? (int64_t(1) << (depth - 1)) - 1 : (int64_t(1) << depth) - 1;
                for (uint32_t x = 0; x < info->width; x++) {
                    int64_t s = src[x];
                    if (s < lo) s = lo;
                    if (s > hi) s = hi;
                    uint32_t v = uint32_t(int32_t(s));
                    uint8_t *dst = row + (size_t(x) * comps + comp) * bytes_per_sample;
                    for (uint32_t b = 0; b < bytes_per_sample; b++) dst[b] = uint8_t(v >> (8 * b));
                }
            }
        }
        cs.close();
        return 0;
    });
}
