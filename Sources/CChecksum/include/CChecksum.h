#ifndef CCHECKSUM_H
#define CCHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/// Extends a CRC-32C (Castagnoli, as S3's x-amz-checksum-crc32c) over `length` bytes.
/// Uses the CPU's CRC32 instruction (SSE4.2 on x86-64, the CRC extension on AArch64)
/// when it has one, a slice-by-8 table otherwise. Start with crc = 0.
uint32_t ahi_crc32c(uint32_t crc, const void *data, size_t length);

/// The same checksum computed with the portable table code only (for tests).
uint32_t ahi_crc32c_portable(uint32_t crc, const void *data, size_t length);

/// 1 when `ahi_crc32c` uses a hardware instruction on this CPU.
int ahi_crc32c_hardware(void);

#endif
