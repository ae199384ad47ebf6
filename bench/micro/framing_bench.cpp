// Micro-benchmarks of message framing: walking a buffer of DataRow messages header by
// header, as the forwarding loop does. Single-threaded; the buffer is built once.
#include <array>
#include <optional>
#include <string>
#include <string_view>

#include <benchmark/benchmark.h>

#include "pgmux/protocol/framing.hpp"
#include "pgmux/protocol/messages.hpp"

namespace pgmux::protocol {
namespace {

constexpr uint32_t kMaxLength = 1 << 30;

// `rows` DataRow messages shaped like a pgbench_accounts row: aid, bid, abalance, filler.
std::string data_rows(int64_t rows) {
  std::string out;
  const std::string filler(84, ' ');
  for (int64_t i = 0; i < rows; ++i) {
    std::string aid = std::to_string(100000 + i);
    std::array<std::optional<std::string_view>, 4> values = {aid, "1", "0", filler};
    write_data_row(out, values);
  }
  return out;
}

// Frames every message of `buf` with `frame` (parse_header or frame_message); returns
// the number of messages, or -1 when one is not a whole frame.
template <class Frame>
int64_t walk(std::string_view buf, Frame frame) {
  int64_t frames = 0;
  while (!buf.empty()) {
    Header h = frame(buf, kMaxLength);
    if (h.status != FrameStatus::kFrame || h.wire_size() > buf.size()) return -1;
    buf.remove_prefix(h.wire_size());
    ++frames;
  }
  return frames;
}

template <class Frame>
void run(benchmark::State& state, Frame frame) {
  const int64_t rows = state.range(0);
  const std::string buf = data_rows(rows);
  for (auto _ : state) {
    int64_t frames = walk(buf, frame);
    benchmark::DoNotOptimize(frames);
    if (frames != rows) {
      state.SkipWithError("framing did not find every DataRow");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * rows);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(buf.size()));
}

void BM_ParseHeaderDataRows(benchmark::State& state) { run(state, parse_header); }
void BM_FrameMessageDataRows(benchmark::State& state) { run(state, frame_message); }

BENCHMARK(BM_ParseHeaderDataRows)->Arg(1000);
BENCHMARK(BM_FrameMessageDataRows)->Arg(1000);

}  // namespace
}  // namespace pgmux::protocol
