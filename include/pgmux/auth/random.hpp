// Cryptographically secure random bytes (OpenSSL's CSPRNG), drawn in blocks. Asking
// OpenSSL for a few bytes costs about as much as asking for a few hundred (a locked
// DRBG and an AES key schedule per call); a login takes three small draws (the SCRAM
// nonce, the cancel key's pid and secret). Each thread keeps one block and hands it out
// front to back; handed-out bytes are wiped from the block at once. Thread-safe.
#pragma once

#include <cstddef>

namespace pgmux::auth {

// Fills `out` with `size` random bytes. Throws std::runtime_error when OpenSSL's
// generator fails (it is not seeded).
void random_bytes(void* out, size_t size);

}  // namespace pgmux::auth
