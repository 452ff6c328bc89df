// libjpeg-turbo's half of the shim (C, because libjpeg reports errors with longjmp).
#ifndef AHI_TURBO_DECODE_H
#define AHI_TURBO_DECODE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Decodes an 8-bit DCT codestream of `width` × `height` × `components` into `out`
/// (interleaved, one byte per sample), YCbCr converted to RGB when `convert_ybr_to_rgb`
/// and there are 3 components. Same rules as `ahi_jpeg_decode`. 0, or -1 with `error`.
int ahi_turbo_decode(const uint8_t *data, size_t size, uint32_t width, uint32_t height, uint32_t components,
                     int convert_ybr_to_rgb, uint8_t *out, size_t out_capacity, uint32_t *converted,
                     char *error, size_t error_capacity);

/// True for a library warning that means the samples are wrong (IJG's JWRN_HIT_MARKER,
/// JWRN_MUST_RESYNC, JWRN_HUFF_BAD_CODE, JWRN_EXTRANEOUS_DATA, JWRN_JPEG_EOF, …): one rule
/// for both backends.
int ahi_jpeg_is_corruption(const char *message);

#ifdef __cplusplus
}
#endif

#endif
