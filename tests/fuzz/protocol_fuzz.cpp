// libFuzzer entry point for the protocol module: runs every framer and decoder on the
// input and checks framing invariants and encode/decode round trips. Single-threaded.
//
// Not part of the CMake build. Build and run from the repository root:
//   clang++ -fsanitize=fuzzer,address,undefined -std=c++20 -O1 -g -Iinclude \
//     tests/fuzz/protocol_fuzz.cpp src/protocol/*.cpp src/util/*.cpp -o /tmp/protocol_fuzz
//   /tmp/protocol_fuzz -max_total_time=60 -max_len=4096
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pgmux/protocol/framing.hpp"
#include "pgmux/protocol/messages.hpp"

namespace {

using namespace pgmux::protocol;

void check(bool condition) {
  if (!condition) std::abort();
}

void fuzz_framing(std::string_view in) {
  constexpr uint32_t kCap = 1024;
  Header h = parse_header(in, kCap);
  if (h.status == FrameStatus::kFrame) check(h.length >= 4 && h.length <= kCap);
  if (h.status == FrameStatus::kError) check(!h.error.empty());
  Header m = frame_message(in, kCap);
  if (m.status == FrameStatus::kFrame) check(in.size() >= m.wire_size() && m.type == h.type);
  Header s = frame_startup(in);
  if (s.status != FrameStatus::kFrame) return;
  check(s.length >= 8 && s.length <= kMaxStartupPacketLength && s.length <= in.size());
  std::string_view packet = in.substr(0, s.length);
  auto parsed = parse_startup(packet);
  if (!parsed.ok() || parsed->kind != StartupKind::kStartup || parsed->minor != 0) return;
  // A parsed 3.0 startup packet re-encodes to the same bytes.
  std::string again;
  write_startup_message(again, parsed->params);
  check(again == packet);
}

void fuzz_error_fields(std::string_view body) {
  auto fields = parse_error_response(body);
  if (!fields.ok()) return;
  std::string out;
  write_error_response(out, *fields);
  Header h = frame_message(out, UINT32_MAX);
  check(h.status == FrameStatus::kFrame && h.wire_size() == out.size());
  auto again = parse_error_response(std::string_view(out).substr(kHeaderSize));
  check(again.ok());
  check(again->severity == fields->severity && again->sqlstate == fields->sqlstate &&
        again->message == fields->message && again->detail == fields->detail &&
        again->hint == fields->hint);
}

void fuzz_decoders(std::string_view body) {
  if (auto r = parse_auth_request(body); r.ok()) {
    check(r->data.size() + 4 == body.size());
    if (r->code == 10) (void)parse_sasl_mechanisms(r->data);
  }
  (void)parse_sasl_mechanisms(body);
  (void)parse_error_fields(body);
  fuzz_error_fields(body);
  if (auto r = parse_parameter_status(body); r.ok()) {
    check(r->name.size() + r->value.size() + 2 == body.size());
  }
  if (auto r = parse_backend_key_data(body); r.ok()) check(body.size() == 8);
  if (auto r = parse_sasl_initial_response(body); r.ok()) {
    check(r->mechanism.size() + 5 + r->data.size() <= body.size());
  }
  if (auto r = parse_password_message(body); r.ok()) check(r->size() + 1 == body.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  fuzz_framing(in);
  (void)parse_startup(in);  // also on buffers whose length field lies
  fuzz_decoders(in);
  return 0;
}
