// SHA-256 and HMAC-SHA-256 (see sha256.hpp).
#include "pgmux/auth/sha256.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>

namespace pgmux::auth {
namespace {

// SHA-256 through one fetched implementation and one digest context per thread.
// EVP_sha256()/HMAC() look the algorithm up in the provider tables and build (and free)
// a context on every call, several times the cost of the hashing at these sizes.
class Sha256Digest {
 public:
  Sha256Digest() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {
    if (md_ == nullptr || ctx_ == nullptr) {
      throw std::runtime_error("OpenSSL SHA-256 is not available");
    }
  }
  ~Sha256Digest() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  Sha256Digest(const Sha256Digest&) = delete;
  Sha256Digest& operator=(const Sha256Digest&) = delete;

  static Sha256Digest& of_this_thread() {
    thread_local Sha256Digest digest;
    return digest;
  }

  void begin() { check(EVP_DigestInit_ex2(ctx_, md_, nullptr)); }
  void add(const void* data, size_t size) { check(EVP_DigestUpdate(ctx_, data, size)); }
  Sha256 end() {
    Sha256 out{};
    unsigned int length = 0;
    check(EVP_DigestFinal_ex(ctx_, out.data(), &length));
    return out;
  }

 private:
  static void check(int ok) {
    if (ok != 1) throw std::runtime_error("OpenSSL SHA-256 digest failed");
  }
  EVP_MD* md_;
  EVP_MD_CTX* ctx_;
};

}  // namespace

Sha256 sha256(std::initializer_list<std::string_view> parts) {
  auto& digest = Sha256Digest::of_this_thread();
  digest.begin();
  for (auto part : parts) digest.add(part.data(), part.size());
  return digest.end();
}

// HMAC-SHA-256 (RFC 2104): H((K ^ opad) || H((K ^ ipad) || data)), K zero-padded to the
// 64-byte block. SCRAM's keys are all SHA-256 sized.
Sha256 hmac_sha256(const Sha256& key, std::string_view data) {
  std::array<uint8_t, 64> pad{};
  std::copy(key.begin(), key.end(), pad.begin());
  const std::string_view pad_view(reinterpret_cast<const char*>(pad.data()), pad.size());
  for (auto& b : pad) b ^= 0x36;
  Sha256 inner = sha256({pad_view, data});
  for (auto& b : pad) b ^= 0x36 ^ 0x5c;
  Sha256 out = sha256({pad_view, {reinterpret_cast<const char*>(inner.data()), inner.size()}});
  OPENSSL_cleanse(pad.data(), pad.size());
  return out;
}

}  // namespace pgmux::auth
