/* CRC-32C (Castagnoli). */
#ifndef PD_CRC32C_H
#define PD_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/* Raw update: no inversion on entry or exit (callers seed with ~0). */
uint32_t pd_crc32c(uint32_t crc, const void *buf, size_t len);
/* The two implementations, exposed for tests. */
uint32_t pd_crc32c_sw(uint32_t crc, const void *buf, size_t len);
uint32_t pd_crc32c_hw(uint32_t crc, const void *buf, size_t len);
int pd_crc32c_hw_available(void);

/* Checksum of a metadata block as persistent-data stores it in bytes 0..3:
 * crc32c over bytes 4..4095 seeded with ~0, xored with the type's constant. */
uint32_t pd_block_csum(const void *block, uint32_t xor_value);

#endif
