#ifndef COPENJPH_H
#define COPENJPH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// What a codestream holds, at the resolution asked for.
typedef struct ahi_ojph_info {
    uint32_t width;          ///< of component 0, after skipping levels
    uint32_t height;
    uint32_t components;
    uint32_t bit_depth;      ///< of component 0
    uint32_t is_signed;
    uint32_t decompositions;
    uint32_t reversible;
    int32_t progression;     ///< 0 LRCP, 1 RLCP, 2 RPCL, 3 PCRL, 4 CPRL
} ahi_ojph_info;

/// Reads the main header of a raw J2K/HTJ2K codestream with OpenJPH; the size is the
/// size after skipping `skip_levels` resolution levels. 0 on success, -1 with `error`.
int ahi_ojph_probe(const uint8_t *data, size_t size, uint32_t skip_levels, ahi_ojph_info *info,
                   char *error, size_t error_capacity);

/// Decodes into `out`: rows of interleaved components, each sample `bytes_per_sample`
/// (1, 2 or 4) little-endian two's complement. `out_capacity` must hold
/// width × height × components × bytes_per_sample of the probed size.
int ahi_ojph_decode(const uint8_t *data, size_t size, uint32_t skip_levels, uint32_t bytes_per_sample,
                    uint8_t *out, size_t out_capacity, ahi_ojph_info *info, char *error, size_t error_capacity);

/// Encodes lossless HTJ2K (reversible 5/3, RPCL, 64×64 blocks, `levels` decompositions,
/// the colour transform for 3 components) from samples laid out as `ahi_ojph_decode`
/// writes them. On success `*out` is a malloc'ed codestream of `*out_size` bytes (free
/// it with `ahi_ojph_free`).
int ahi_ojph_encode(const uint8_t *samples, uint32_t width, uint32_t height, uint32_t components, uint32_t bit_depth,
                    uint32_t is_signed, uint32_t bytes_per_sample, uint32_t levels, uint8_t **out, size_t *out_size,
                    char *error, size_t error_capacity);

/// Frees a codestream from `ahi_ojph_encode`.
void ahi_ojph_free(uint8_t *data);

#ifdef __cplusplus
}
#endif

#endif
