// A C face for DCMTK's IJG JPEG decoders (C++), so that no C++ exception or DCMTK type
// reaches Swift: every call is wrapped, and an error comes back as -1 with a message.
// 8-bit baseline goes to libjpeg-turbo (turbo_decode.c) unless DCMTK is asked for.
//
// IJG reports corrupt data as warnings and carries on with wrong samples. DCMTK sends
// those warnings to its "dcmtk.dcmjpeg" logger; that logger is routed here (and nowhere
// else, so nothing reaches stderr), and each call collects the warnings of its own thread.
#include "CDCMJPEG.h"
#include "turbo_decode.h"

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmjpeg/djcparam.h"
#include "dcmtk/dcmjpeg/djdecabs.h"
#include "dcmtk/dcmjpeg/djdijg12.h"
#include "dcmtk/dcmjpeg/djdijg16.h"
#include "dcmtk/dcmjpeg/djdijg8.h"
#include "dcmtk/dcmjpeg/djutils.h"
#include "dcmtk/oflog/appender.h"
#include "dcmtk/oflog/logger.h"
#include "dcmtk/oflog/oflog.h"
#include "dcmtk/oflog/spi/logevent.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

namespace l4c = dcmtk::log4cplus;

void set_error(char *error, size_t capacity, const std::string &message) {
    if (error && capacity) std::snprintf(error, capacity, "%s", message.c_str());
}

// The warnings of the decode running on this thread, if one is.
thread_local std::vector<std::string> *warnings_sink = nullptr;

class CaptureAppender : public l4c::Appender {
public:
    CaptureAppender() = default;
    ~CaptureAppender() override { destructorImpl(); }
    void close() override {}

protected:
    void append(const l4c::spi::InternalLoggingEvent &event) override {
        if (warnings_sink) warnings_sink->push_back(event.getMessage().c_str());
    }
};

// Once per process: DCMTK's root logger off (its default appender writes to stderr), the
// dcmjpeg logger at WARN into CaptureAppender only.
void route_dcmtk_logging() {
    static std::once_flag once;
    std::call_once(once, [] {
        l4c::Logger::getRoot().setLogLevel(l4c::OFF_LOG_LEVEL);
        l4c::Logger dcmjpeg = l4c::Logger::getInstance("dcmtk.dcmjpeg");
        dcmjpeg.removeAllAppenders();
        dcmjpeg.setAdditivity(false);
        dcmjpeg.setLogLevel(l4c::WARN_LOG_LEVEL);
        dcmjpeg.addAppender(l4c::SharedAppenderPtr(new CaptureAppender()));
    });
}

class WarningScope {
public:
    WarningScope() { warnings_sink = &warnings; }
    ~WarningScope() { warnings_sink = nullptr; }
    std::vector<std::string> warnings;

    // The first corruption warning, or empty.
    std::string corruption() const {
        for (const auto &w : warnings)
            if (ahi_jpeg_is_corruption(w.c_str())) return w;
        return std::string();
    }
};

}  // namespace

extern "C" int ahi_jpeg_decode(const uint8_t *data, size_t size, const ahi_jpeg_frame *frame, int is_signed,
                               int convert_ybr_to_rgb, ahi_jpeg_backend backend, uint8_t *out, size_t out_capacity,
                               ahi_jpeg_result *result, char *error, size_t error_capacity) {
    try {
        if (!data || !frame || !out || !result) { set_error(error, error_capacity, "no input or output"); return -1; }
        if (size > 0xFFFFFFFFu) { set_error(error, error_capacity, "the codestream is larger than 4 GiB"); return -1; }
        if (frame->precision < 2 || frame->precision > 16) {
            set_error(error, error_capacity, "unsupported precision " + std::to_string(frame->precision));
            return -1;
        }
        const size_t bps = frame->precision <= 8 ? 1 : 2;
        const unsigned long long needed =
            (unsigned long long)frame->width * frame->height * frame->components * bps;
        if (needed == 0 || needed > 0xFFFFFFFFull || out_capacity < needed) {
            set_error(error, error_capacity, "the output buffer does not fit the frame");
            return -1;
        }
        const bool dct8 = frame->precision == 8 && frame->process <= 2;
        if (backend == AHI_JPEG_TURBO || (backend == AHI_JPEG_AUTO && dct8 && frame->process == 0)) {
            if (!dct8) { set_error(error, error_capacity, "libjpeg-turbo decodes 8-bit DCT processes only"); return -1; }
            uint32_t converted = 0;
            if (ahi_turbo_decode(data, size, frame->width, frame->height, frame->components, convert_ybr_to_rgb, out,
                                 out_capacity, &converted, error, error_capacity) != 0) return -1;
            result->bytes_per_sample = 1;
            result->converted_to_rgb = converted;
            result->backend = AHI_JPEG_TURBO;
            return 0;
        }
        route_dcmtk_logging();

        const E_DecompressionColorSpaceConversion conversion = convert_ybr_to_rgb ? EDC_photometricInterpretation : EDC_never;
        DJCodecParameter params(ECC_lossyYCbCr, conversion, EUC_never, EPC_default);
        const OFBool ybr = convert_ybr_to_rgb ? OFTrue : OFFalse;
        std::unique_ptr<DJDecoder> decoder;
        if (frame->precision <= 8) decoder.reset(new DJDecompressIJG8Bit(params, ybr));
        else if (frame->precision <= 12) decoder.reset(new DJDecompressIJG12Bit(params, ybr));
        else decoder.reset(new DJDecompressIJG16Bit(params, ybr));

        WarningScope scope;
        OFCondition status = decoder->init();
        if (status.good()) {
            status = decoder->decode(const_cast<Uint8 *>(data), Uint32(size), out, Uint32(needed), is_signed ? OFTrue : OFFalse);
        }
        bool truncated = false;
        if (status == EJ_Suspension) {
            // IJG wants more data. Give it an EOI marker: if only the marker was missing,
            // the image completes; if a scan was cut, IJG warns of a premature end.
            Uint8 eoi[2] = {0xFF, 0xD9};
            truncated = true;
            status = decoder->decode(eoi, 2, out, Uint32(needed), is_signed ? OFTrue : OFFalse);
            if (status.good() && scope.corruption().empty()) truncated = false;
        }
        if (truncated || status == EJ_Suspension) {
            set_error(error, error_capacity, "the codestream is truncated");
            return -1;
        }
        if (status.bad()) {
            set_error(error, error_capacity, status.text() ? status.text() : "decode failed");
            return -1;
        }
        const std::string corrupt = scope.corruption();
        if (!corrupt.empty()) { set_error(error, error_capacity, corrupt); return -1; }
        if (decoder->bytesPerSample() != bps) {
            set_error(error, error_capacity, "the decoder wrote " + std::to_string(decoder->bytesPerSample()) + "-byte samples");
            return -1;
        }
        result->bytes_per_sample = uint32_t(bps);
        result->converted_to_rgb = decoder->getDecompressedColorModel() == EPI_RGB ? 1 : 0;
        result->backend = AHI_JPEG_DCMTK_IJG;
        return 0;
    } catch (const std::exception &e) {
        set_error(error, error_capacity, e.what());
    } catch (...) {
        set_error(error, error_capacity, "DCMTK failed");
    }
    return -1;
}
