// Block-buffered CSPRNG bytes (see random.hpp).
#include "pgmux/auth/random.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>
#include <stdexcept>

namespace pgmux::auth {
namespace {

constexpr size_t kBlock = 256;

void fill(void* out, size_t size) {
  if (RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(size)) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  }
}

struct Block {
  std::array<unsigned char, kBlock> bytes{};
  size_t used = kBlock;  // bytes[used..] are unused
  ~Block() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

}  // namespace

void random_bytes(void* out, size_t size) {
  if (size == 0) return;
  if (size > kBlock / 4) {
    fill(out, size);
    return;
  }
  thread_local Block block;
  if (kBlock - block.used < size) {
    fill(block.bytes.data(), kBlock);
    block.used = 0;
  }
  unsigned char* from = block.bytes.data() + block.used;
  std::memcpy(out, from, size);
  OPENSSL_cleanse(from, size);
  block.used += size;
}

}  // namespace pgmux::auth
