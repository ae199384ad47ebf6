// ByteReader: bounds-checked big-endian field reads (see bytes.hpp).
#include "pgmux/util/bytes.hpp"

namespace pgmux::util {

bool ByteReader::read_u8(uint8_t& out) {
  if (remaining() < 1) return false;
  out = static_cast<uint8_t>(data_[pos_]);
  pos_ += 1;
  return true;
}

bool ByteReader::read_i16(int16_t& out) {
  if (remaining() < 2) return false;
  out = static_cast<int16_t>(load_be16(data_.data() + pos_));
  pos_ += 2;
  return true;
}

bool ByteReader::read_i32(int32_t& out) {
  uint32_t u;
  if (!read_u32(u)) return false;
  out = static_cast<int32_t>(u);
  return true;
}

bool ByteReader::read_u32(uint32_t& out) {
  if (remaining() < 4) return false;
  out = load_be32(data_.data() + pos_);
  pos_ += 4;
  return true;
}

bool ByteReader::read_cstring(std::string_view& out) {
  size_t nul = data_.find('\0', pos_);
  if (nul == std::string_view::npos) return false;
  out = data_.substr(pos_, nul - pos_);
  pos_ = nul + 1;
  return true;
}

bool ByteReader::read_bytes(size_t n, std::string_view& out) {
  if (remaining() < n) return false;
  out = data_.substr(pos_, n);
  pos_ += n;
  return true;
}

}  // namespace pgmux::util
