// A 100 MB bytea through pgmux (binary parameter in, binary result out): the bytes survive, and
// pgmux streams them instead of holding whole messages (its RSS grows far less than the data).
// Thread-safety: the test thread owns the connection; one sampler thread only reads /proc.
#include <poll.h>

#include "harness.hpp"

namespace pgmux::itest {
namespace {

constexpr const char* kDb = "pgmux_blob";
constexpr size_t kBlobSize = 100u << 20;
constexpr long long kMaxRssGrowthKb = 50 << 10;
constexpr Oid kBytea = 17;

std::string pseudo_random_bytes(size_t size) {
  std::string data(size, '\0');
  uint64_t x = 0x2545f4914f6cdd1dull;
  for (size_t i = 0; i + 8 <= size; i += 8) {  // xorshift64
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    memcpy(&data[i], &x, 8);
  }
  return data;
}

// Samples a process's VmRSS every few milliseconds until destroyed; remembers the peak.
class RssSampler {
 public:
  explicit RssSampler(pid_t pid) : pid_(pid), baseline_(vm_rss_kb(pid)), peak_(baseline_) {
    thread_ = std::thread([this] {
      while (!stop_) {
        long long now = vm_rss_kb(pid_);
        if (now > peak_) peak_ = now;
        std::this_thread::sleep_for(2ms);
      }
    });
  }
  ~RssSampler() { finish(); }
  void finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  long long baseline_kb() const { return baseline_; }
  long long peak_kb() const { return peak_.load(); }

 private:
  pid_t pid_;
  long long baseline_;
  std::atomic<long long> peak_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// INSERT with the blob as one binary parameter, sent without blocking (bounded).
::testing::AssertionResult insert_blob(PgConn& conn, int id, const std::string& blob) {
  PGconn* c = conn.get();
  const std::string id_text = std::to_string(id);
  const char* values[] = {id_text.c_str(), blob.data()};
  const int lengths[] = {0, static_cast<int>(blob.size())};
  const int formats[] = {0, 1};
  const Oid types[] = {0, kBytea};
  PQsetnonblocking(c, 1);
  if (!PQsendQueryParams(c, "INSERT INTO blobs (id, b) VALUES ($1, $2)", 2, types, values, lengths,
                         formats, 0)) {
    return ::testing::AssertionFailure() << "PQsendQueryParams: " << conn.error();
  }
  auto deadline = Clock::now() + 40s;
  for (int pending = PQflush(c); pending != 0; pending = PQflush(c)) {
    pollfd p{PQsocket(c), POLLOUT | POLLIN, 0};
    if (pending < 0 || poll(&p, 1, remaining_ms(deadline)) <= 0 ||
        ((p.revents & POLLIN) && !PQconsumeInput(c))) {
      return ::testing::AssertionFailure() << "sending the 100 MB parameter: " << conn.error();
    }
  }
  PQsetnonblocking(c, 0);
  PgResult r = conn.wait_result(40s);
  if (!r.ok()) return ::testing::AssertionFailure() << "INSERT: " << r.error();
  return ::testing::AssertionSuccess();
}

// SELECT b in binary; compares it byte for byte with `blob`.
::testing::AssertionResult select_blob(PgConn& conn, int id, const std::string& blob) {
  const std::string id_text = std::to_string(id);
  const char* values[] = {id_text.c_str()};
  if (!PQsendQueryParams(conn.get(), "SELECT b FROM blobs WHERE id = $1", 1, nullptr, values,
                         nullptr, nullptr, 1)) {
    return ::testing::AssertionFailure() << "PQsendQueryParams: " << conn.error();
  }
  PgResult r = conn.wait_result(40s);
  if (!r.ok()) return ::testing::AssertionFailure() << "SELECT: " << r.error();
  if (r.rows() != 1) return ::testing::AssertionFailure() << r.rows() << " rows";
  size_t size = static_cast<size_t>(PQgetlength(r.get(), 0, 0));
  if (size != blob.size()) return ::testing::AssertionFailure() << "got " << size << " bytes";
  if (memcmp(PQgetvalue(r.get(), 0, 0), blob.data(), size) != 0) {
    return ::testing::AssertionFailure() << "the bytes that came back differ";
  }
  return ::testing::AssertionSuccess();
}

TEST(LargeValueTest, HundredMegabyteByteaRoundTripStreamsThroughPgmux) {
  const int id = static_cast<int>(getpid() % 1000000);
  ASSERT_TRUE(
      PgCluster::get().exec(kDb, "DELETE FROM blobs WHERE id = " + std::to_string(id)).ok());
  const std::string blob = pseudo_random_bytes(kBlobSize);
  PgmuxConfig config;
  config.pool_mode = "transaction";
  config.pool_size = 2;
  config.databases = {{.name = kDb}};
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome c = connect(pgmux.conninfo(kDb));
  ASSERT_TRUE(c.ok) << c.error;
  ASSERT_TRUE(c.conn.exec("SELECT 1").ok());  // pgmux's steady state: a server is open

  RssSampler rss(pgmux.pid());
  ASSERT_GT(rss.baseline_kb(), 0);
  EXPECT_TRUE(insert_blob(c.conn, id, blob));
  EXPECT_TRUE(select_blob(c.conn, id, blob));
  rss.finish();
  RecordProperty("pgmux_rss_baseline_kb", std::to_string(rss.baseline_kb()));
  RecordProperty("pgmux_rss_peak_kb", std::to_string(rss.peak_kb()));
  EXPECT_LT(rss.peak_kb() - rss.baseline_kb(), kMaxRssGrowthKb)
      << "pgmux RSS went from " << rss.baseline_kb() << " kB to " << rss.peak_kb()
      << " kB while moving 100 MB";
  PgResult direct =
      PgCluster::get().exec(kDb, "SELECT length(b) FROM blobs WHERE id = " + std::to_string(id));
  EXPECT_EQ(direct.value(), std::to_string(kBlobSize));
  PgCluster::get().exec(kDb, "DELETE FROM blobs WHERE id = " + std::to_string(id));
}

}  // namespace
}  // namespace pgmux::itest
