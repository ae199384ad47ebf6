// Big-endian byte reading and writing for the PostgreSQL wire protocol.
// ByteReader never reads past its view and reports failure instead; ByteWriter appends
// to a caller-owned std::string. Neither is thread-safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace pgmux::util {

inline uint32_t load_be32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}
inline uint16_t load_be16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}
inline void store_be32(char* p, uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}
inline void store_be16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v >> 8);
  p[1] = static_cast<char>(v);
}

// Reads fields from a byte view. Every read returns false (and consumes nothing) when
// the view does not hold the whole field; callers treat that as malformed input.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  bool read_u8(uint8_t& out);
  bool read_i16(int16_t& out);
  bool read_i32(int32_t& out);
  bool read_u32(uint32_t& out);
  // A NUL-terminated string; `out` excludes the NUL. False if no NUL is left.
  bool read_cstring(std::string_view& out);
  bool read_bytes(size_t n, std::string_view& out);

  size_t remaining() const { return data_.size() - pos_; }
  bool empty() const { return remaining() == 0; }
  std::string_view rest() const { return data_.substr(pos_); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// Appends protocol fields to a string. begin_message()/end_message() bracket a typed
// message and patch its length field when it is complete.
class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : out_(out) {}

  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void i16(int16_t v) {
    char b[2];
    store_be16(b, static_cast<uint16_t>(v));
    out_.append(b, 2);
  }
  void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void u32(uint32_t v) {
    char b[4];
    store_be32(b, v);
    out_.append(b, 4);
  }
  void cstring(std::string_view s) {
    out_.append(s);
    out_.push_back('\0');
  }
  void bytes(std::string_view s) { out_.append(s); }

  // Writes the type byte (if type != 0) and a placeholder length; returns the offset
  // of the length field for end_message().
  size_t begin_message(char type) {
    if (type != 0) out_.push_back(type);
    size_t at = out_.size();
    out_.append(4, '\0');
    return at;
  }
  // Sets the length field at `at` to cover everything written since (itself included).
  void end_message(size_t at) { store_be32(out_.data() + at, static_cast<uint32_t>(out_.size() - at)); }

 private:
  std::string& out_;
};

}  // namespace pgmux::util
