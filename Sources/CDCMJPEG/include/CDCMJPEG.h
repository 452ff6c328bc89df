#ifndef CDCMJPEG_H
#define CDCMJPEG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The frame a codestream's SOF marker segment describes (ITU-T T.81 B.2.2), as the caller read it.
typedef struct ahi_jpeg_frame {
    uint32_t width;       ///< X, samples per line
    uint32_t height;      ///< Y, lines
    uint32_t components;  ///< Nf
    uint32_t precision;   ///< P, bits per sample (2 to 16)
    uint32_t process;     ///< n of the SOFn marker: 0 baseline, 1 extended, 2 progressive, 3 lossless
} ahi_jpeg_frame;

/// Which library decodes.
typedef enum ahi_jpeg_backend {
    /// libjpeg-turbo for 8-bit baseline (same samples as IJG, about twice as fast), else DCMTK's IJG.
    AHI_JPEG_AUTO = 0,
    /// DCMTK's IJG 8-, 12- or 16-bit library, chosen by the precision.
    AHI_JPEG_DCMTK_IJG = 1,
    /// libjpeg-turbo (libjpeg.so.62): 8-bit DCT processes only.
    AHI_JPEG_TURBO = 2
} ahi_jpeg_backend;

/// What a decode produced.
typedef struct ahi_jpeg_result {
    uint32_t bytes_per_sample;  ///< 1 (P ≤ 8) or 2, little-endian
    uint32_t converted_to_rgb;  ///< 1 when YCbCr was converted to RGB
    uint32_t backend;           ///< the ahi_jpeg_backend that decoded
} ahi_jpeg_result;

/// Decodes one JPEG codestream (ITU-T T.81, Huffman coded: baseline, extended, progressive,
/// lossless). DCMTK's IJG decoders are chosen by the precision: P ≤ 8 the 8-bit library,
/// P ≤ 12 the 12-bit one, else the 16-bit one (lossless only).
///
/// `out` receives rows of interleaved components, each sample `bytes_per_sample` bytes,
/// little-endian, as the codestream stores them (unsigned, P bits significant).
/// `convert_ybr_to_rgb` non-zero converts a 3-component image from YCbCr to RGB (DCMTK's
/// EDC_photometricInterpretation for a YBR Photometric Interpretation; ITU-T T.871 with
/// IJG's integer tables); zero keeps the stored values (EDC_never). `is_signed` is passed
/// to DCMTK, which refuses to convert signed data.
///
/// `out_capacity` must hold width × height × components × bytes per sample of `frame`, or
/// the call fails before decoding; the library also refuses an image larger than that.
/// The caller bounds `frame` (the libraries allocate per the SOF they read). The libraries'
/// "Corrupt JPEG data" warnings fail the decode (the samples would be wrong); a codestream
/// that ends before its last scan is "truncated"; one that lacks only its EOI marker decodes.
///
/// Returns 0, or -1 with a NUL-terminated message in `error` (at most `error_capacity`
/// bytes). No C++ exception leaves this function, and DCMTK's logger prints nothing.
/// Thread-safe: each call has its own decoder.
int ahi_jpeg_decode(const uint8_t *data, size_t size, const ahi_jpeg_frame *frame, int is_signed,
                    int convert_ybr_to_rgb, ahi_jpeg_backend backend, uint8_t *out, size_t out_capacity,
                    ahi_jpeg_result *result, char *error, size_t error_capacity);

#ifdef __cplusplus
}
#endif

#endif
