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
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

namespace {

void set_error(char *error, size_t capacity, const std::string &message) {
    if (error && capacity) std::snprintf(error, capacity, "%s", message.c_str());
}

// The codestream without the NULL bytes that pad a DICOM fragment to an even length
// (PS3.5 A.4: a frame's last fragment may end with one; some writers add more).
size_t unpadded(const uint8_t *data, size_t size) {
    while (size > 2 && data[size - 1] == 0x00) size -= 1;
    return size;
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
    size = unpadded(data, size);
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
                const int32_t lo = is_signed ? -(int32_t(1) << (depth - 1)) : 0;
                const int32_t hi = is_signed ? (int32_t(1) << (depth - 1)) - 1 : int32_t((int64_t(1) << depth) - 1);
                const bool clamp = skip_levels > 0;
                uint8_t *dst = row + size_t(comp) * bytes_per_sample;
                const size_t step = size_t(comps) * bytes_per_sample;
                if (bytes_per_sample == 2) {
                    for (uint32_t x = 0; x < info->width; x++, dst += step) {
                        int32_t v = src[x];
                        if (clamp) v = v < lo ? lo : (v > hi ? hi : v);
                        dst[0] = uint8_t(v);
                        dst[1] = uint8_t(v >> 8);
                    }
                } else if (bytes_per_sample == 1) {
                    for (uint32_t x = 0; x < info->width; x++, dst += step) {
                        int32_t v = src[x];
                        if (clamp) v = v < lo ? lo : (v > hi ? hi : v);
                        dst[0] = uint8_t(v);
                    }
                } else {
                    for (uint32_t x = 0; x < info->width; x++, dst += step) {
                        int32_t v = src[x];
                        if (clamp) v = v < lo ? lo : (v > hi ? hi : v);
                        for (uint32_t b = 0; b < bytes_per_sample; b++) dst[b] = uint8_t(uint32_t(v) >> (8 * b));
                    }
                }
            }
        }
        cs.close();
        return 0;
    });
}

extern "C" int ahi_ojph_encode(const uint8_t *samples, uint32_t width, uint32_t height, uint32_t components, uint32_t bit_depth,
                               uint32_t is_signed, uint32_t bytes_per_sample, uint32_t levels, uint8_t **out, size_t *out_size,
                               char *error, size_t error_capacity) {
    return guarded(error, error_capacity, [&]() -> int {
        if (width == 0 || height == 0 || (components != 1 && components != 3) || bit_depth == 0 || bit_depth > 16
            || (bytes_per_sample != 1 && bytes_per_sample != 2)) {
            set_error(error, error_capacity, "unsupported image shape (1 or 3 components, 1 to 16 bits)");
            return -1;
        }
        ojph::codestream cs;
        ojph::param_siz siz = cs.access_siz();
        siz.set_image_extent(ojph::point(width, height));
        siz.set_num_components(components);
        for (uint32_t c = 0; c < components; c++) siz.set_component(c, ojph::point(1, 1), bit_depth, is_signed != 0);
        siz.set_image_offset(ojph::point(0, 0));
        siz.set_tile_size(ojph::size(width, height));
        siz.set_tile_offset(ojph::point(0, 0));
        ojph::param_cod cod = cs.access_cod();
        cod.set_num_decomposition(levels);
        cod.set_block_dims(64, 64);
        cod.set_progression_order("RPCL");
        cod.set_color_transform(components == 3);
        cod.set_reversible(true);
        cs.set_planar(false);
        ojph::mem_outfile file;
        file.open();
        cs.write_headers(&file);
        ojph::ui32 comp = 0;
        ojph::line_buf *line = cs.exchange(nullptr, comp);
        const size_t row_bytes = size_t(width) * components * bytes_per_sample;
        for (uint32_t y = 0; y < height; y++) {
            const uint8_t *row = samples + y * row_bytes;
            for (uint32_t c = 0; c < components; c++) {
                ojph::si32 *dst = line->i32;
                for (uint32_t x = 0; x < width; x++) {
                    const uint8_t *p = row + (size_t(x) * components + comp) * bytes_per_sample;
                    int32_t v = bytes_per_sample == 1 ? (is_signed ? int32_t(int8_t(p[0])) : int32_t(p[0]))
                                                      : (is_signed ? int32_t(int16_t(p[0] | p[1] << 8)) : int32_t(p[0] | p[1] << 8));
                    dst[x] = v;
                }
                line = cs.exchange(line, comp);
            }
        }
        cs.flush();
        const size_t n = size_t(file.tell());
        uint8_t *copy = static_cast<uint8_t *>(std::malloc(n ? n : 1));
        if (!copy) { set_error(error, error_capacity, "out of memory"); return -1; }
        std::memcpy(copy, file.get_data(), n);
        cs.close();
        *out = copy;
        *out_size = n;
        return 0;
    });
}

extern "C" void ahi_ojph_free(uint8_t *data) { std::free(data); }
