// Key material hygiene on the control side: secrets (derived keys, a decrypted Token, session
// keys) are overwritten once no longer needed, in a way the compiler may not drop as a dead
// store (glibc's explicit_bzero; no libcrypto needed, so every user of session_info can use
// it). Never log or export a secret: KeyIDs may be logged, secrets never.
#pragma once

#include <cstddef>

#include <string.h>

namespace twamp::control {

inline void wipe(void* p, std::size_t n) noexcept {
    explicit_bzero(p, n);
}

template<typename Array>
inline void wipe(Array& a) noexcept {
    wipe(a.data(), a.size() * sizeof(a[0]));
}

} // namespace twamp::control
