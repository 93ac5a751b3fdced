// Timestamp formats of TWAMP/STAMP test packets and the Error Estimate field.
//
// NTP 64-bit (RFC 5905 §6): seconds since 1900-01-01 UTC, then a 2^-32 s fraction.
// PTPv2 truncated (RFC 8186 §2.3, IEEE 1588): seconds since 1970-01-01 on the TAI timescale,
// then nanoseconds. Inputs are nanoseconds of UTC since the Unix epoch; the PTP form needs the
// TAI-UTC offset (37 s since 2017), passed in by the caller who knows the clock.
#pragma once

#include <cstdint>

namespace twamp::proto {

// 128-bit intermediate for exact fixed-point conversions (GCC and clang).
__extension__ typedef unsigned __int128 u128;
__extension__ typedef __int128 i128;

inline constexpr uint64_t ns_per_s = 1'000'000'000ULL;
// Seconds from 1900-01-01 to 1970-01-01 (RFC 868, RFC 5905).
inline constexpr uint64_t ntp_unix_offset_s = 2'208'988'800ULL;

enum class ts_format : uint8_t { ntp = 0, ptp = 1 };

// The 64-bit wire value (as load_be64 reads it) of an NTP timestamp.
constexpr uint64_t ntp_from_unix_ns(uint64_t unix_ns) noexcept {
    uint64_t sec = unix_ns / ns_per_s;
    uint64_t ns = unix_ns % ns_per_s;
    // ns * 2^32 / 1e9 fits in 64 bits (ns < 2^30); round to nearest.
    uint64_t frac = ((ns << 32) + ns_per_s / 2) / ns_per_s;
    if (frac >> 32) { // 999999999.9 ns rounds up into the next second
        frac = 0;
        ++sec;
    }
    return ((sec + ntp_unix_offset_s) << 32) | frac;
}

// Inverse, for senders and tests; exact to within half a nanosecond. NTP era 0 only (until 2036).
constexpr uint64_t unix_ns_from_ntp(uint64_t ntp) noexcept {
    uint64_t sec = (ntp >> 32) - ntp_unix_offset_s;
    uint64_t frac = ntp & 0xffffffffULL;
    return sec * ns_per_s + ((frac * ns_per_s + (1ULL << 31)) >> 32);
}

constexpr uint64_t ptp_from_unix_ns(uint64_t unix_ns, int32_t tai_utc_offset_s) noexcept {
    uint64_t sec =
            unix_ns / ns_per_s + static_cast<uint64_t>(static_cast<int64_t>(tai_utc_offset_s));
    uint64_t ns = unix_ns % ns_per_s;
    return (static_cast<uint64_t>(static_cast<uint32_t>(sec)) << 32) | ns;
}

constexpr uint64_t unix_ns_from_ptp(uint64_t ptp, int32_t tai_utc_offset_s) noexcept {
    uint64_t sec = (ptp >> 32) - static_cast<uint64_t>(static_cast<int64_t>(tai_utc_offset_s));
    return sec * ns_per_s + (ptp & 0xffffffffULL);
}

constexpr uint64_t encode_timestamp(ts_format f, uint64_t unix_ns,
                                    int32_t tai_utc_offset_s) noexcept {
    return f == ts_format::ptp ? ptp_from_unix_ns(unix_ns, tai_utc_offset_s)
                               : ntp_from_unix_ns(unix_ns);
}

// One instant in both wire forms, converted once and used for many packets: the packets of a
// burst share the software T2 and T3, and each conversion costs two divisions by 10^9 turned
// into multiplications (~10-15 cycles).
struct encoded_time {
    uint64_t ns = 0;       // what was encoded
    uint64_t wire[2] = {}; // indexed by ts_format

    constexpr encoded_time() noexcept = default;
    constexpr encoded_time(uint64_t unix_ns, int32_t tai_utc_offset_s) noexcept
        : ns(unix_ns), wire{ntp_from_unix_ns(unix_ns),
                            ptp_from_unix_ns(unix_ns, tai_utc_offset_s)} {}
    constexpr uint64_t get(ts_format f) const noexcept { return wire[static_cast<unsigned>(f)]; }
};

constexpr uint64_t decode_timestamp(ts_format f, uint64_t wire, int32_t tai_utc_offset_s) noexcept {
    return f == ts_format::ptp ? unix_ns_from_ptp(wire, tai_utc_offset_s) : unix_ns_from_ntp(wire);
}

// Error Estimate (RFC 4656 §4.1.2, Z bit from RFC 8186 §2.3):
//   S(1) Z(1) Scale(6) Multiplier(8); error = Multiplier * 2^(Scale-32) seconds.
struct error_estimate {
    bool synchronized = false; // S
    bool ptp = false;          // Z: 1 = PTPv2 truncated timestamps
    uint8_t scale = 0;         // 0..63
    uint8_t multiplier = 1;    // never zero (RFC 4656: zero is invalid)

    constexpr uint16_t encode() const noexcept {
        return static_cast<uint16_t>((synchronized ? 0x8000 : 0) | (ptp ? 0x4000 : 0) |
                                     ((scale & 0x3f) << 8) | multiplier);
    }
    static constexpr error_estimate decode(uint16_t v) noexcept {
        return {(v & 0x8000) != 0, (v & 0x4000) != 0, static_cast<uint8_t>((v >> 8) & 0x3f),
                static_cast<uint8_t>(v)};
    }
    // The error this field states, in nanoseconds (saturating).
    constexpr uint64_t error_ns() const noexcept {
        // multiplier * 2^scale * 1e9 / 2^32, computed without overflow for every scale.
        u128 v = static_cast<u128>(multiplier) * ns_per_s;
        v <<= scale;
        v = (v + ((1ULL << 32) - 1)) >> 32; // round up: never understate
        return v > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(v);
    }
    friend constexpr bool operator==(const error_estimate&, const error_estimate&) = default;
};

inline constexpr uint16_t error_estimate_z_bit = 0x4000;

// The smallest Scale whose Multiplier can state `error_ns`, rounding the Multiplier up so the
// field never claims more precision than the clock has; Multiplier is at least 1.
constexpr error_estimate make_error_estimate(uint64_t error_ns, bool synchronized,
                                             bool ptp) noexcept {
    // units of 2^-32 s: error_ns * 2^32 / 1e9, rounded up.
    u128 units = (static_cast<u128>(error_ns) << 32) + (ns_per_s - 1);
    units /= ns_per_s;
    uint8_t scale = 0;
    while (units > 255 && scale < 63) {
        units = (units + 1) >> 1; // ceil(units / 2)
        ++scale;
    }
    uint8_t mult = units > 255 ? 255 : static_cast<uint8_t>(units);
    if (mult == 0) {
        mult = 1;
    }
    return {synchronized, ptp, scale, mult};
}

} // namespace twamp::proto
