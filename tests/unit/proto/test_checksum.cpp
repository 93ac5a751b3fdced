#include <array>
#include <cstdint>

#include <gtest/gtest.h>

#include "twamp/proto/checksum.hpp"

using namespace twamp::proto;

// RFC 1071 §3 numerical example: the sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2.
TEST(checksum, rfc1071_example) {
    const std::array<uint8_t, 8> b{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(csum_bytes(b), 0xddf2);
    EXPECT_EQ(internet_checksum(b), 0x220d);
}
