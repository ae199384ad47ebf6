// Tests for Exporter: /metrics served over HTTP on a free port, a busy port reported as
// an error, a failing provider, stop(). Scrapes run on the exposer's threads.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pgmux/metrics/exporter.hpp"

namespace pgmux::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The whole response to "GET <path> HTTP/1.0" on 127.0.0.1:port; "" if it failed.
// Every socket operation gives up after two seconds.
std::string http_get(uint16_t port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval timeout{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, n);
    }
  }
  close(fd);
  return response;
}

Snapshot test_snapshot() {
  Snapshot s;
  s.process.version = "test";
  s.process.workers = 2;
  return s;
}

std::unique_ptr<Exporter> start_or_fail(uint16_t port, Exporter::Provider provider) {
  auto started = Exporter::start("127.0.0.1", port, std::move(provider));
  if (!started.ok()) {
    ADD_FAILURE() << started.error().message;
    return nullptr;
  }
  return std::move(started).value();
}

// One exporter shared by the tests that only scrape it: stopping one after a scrape
// takes civetweb up to two seconds.
class ServingExporter : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    exporter_ = start_or_fail(0, [] {
                  ++calls_;
                  return test_snapshot();
                }).release();
  }
  static void TearDownTestSuite() {
    delete exporter_;
    exporter_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(exporter_, nullptr); }

  static inline Exporter* exporter_ = nullptr;
  static inline std::atomic<int> calls_{0};
};

TEST_F(ServingExporter, ServesMetricsOnFreePort) {
  ASSERT_GT(exporter_->port(), 0);
  const int calls_before = calls_.load();
  const std::string response = http_get(exporter_->port(), "/metrics");
  EXPECT_THAT(response, HasSubstr("200 OK"));
  EXPECT_THAT(response, HasSubstr("\npgmux_build_info{version=\"test\"} 1\n"));
  EXPECT_THAT(response, HasSubstr("\npgmux_worker_threads 2\n"));
  EXPECT_THAT(response, HasSubstr("\nprocess_open_fds "));
  EXPECT_EQ(calls_.load(), calls_before + 1);
}

TEST_F(ServingExporter, OtherPathsAreNotMetrics) {
  const int calls_before = calls_.load();
  const std::string response = http_get(exporter_->port(), "/other");
  EXPECT_THAT(response, Not(HasSubstr("pgmux_build_info")));
  EXPECT_EQ(calls_.load(), calls_before);
}

TEST_F(ServingExporter, BusyPortIsAnErrorNamingHostAndPort) {
  const uint16_t port = exporter_->port();
  auto second = Exporter::start("127.0.0.1", port, test_snapshot);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.error().message, HasSubstr("127.0.0.1:" + std::to_string(port)));
  EXPECT_EQ(second.error().code, "metrics_listen");
  EXPECT_THAT(http_get(port, "/metrics"), HasSubstr("pgmux_build_info"));  // first still serves
}

TEST(Exporter, AddressNotOfThisHostIsAnError) {
  auto started = Exporter::start("192.0.2.1", 0, test_snapshot);  // TEST-NET-1
  ASSERT_FALSE(started.ok());
  EXPECT_THAT(started.error().message, HasSubstr("192.0.2.1:0"));
}

// civetweb may be built without IPv6: then [::1] is refused with an error, not a throw.
TEST(Exporter, Ipv6EitherServesOrExplains) {
  auto started = Exporter::start("::1", 0, test_snapshot);
  if (started.ok()) {
    EXPECT_GT(started.value()->port(), 0);
  } else {
    EXPECT_THAT(started.error().message, HasSubstr("[::1]:0"));
    EXPECT_THAT(started.error().message, HasSubstr("IPv6"));
  }
}

TEST(Exporter, ThrowingProviderGivesEmptyScrape) {
  auto exporter = start_or_fail(0, []() -> Snapshot { throw std::runtime_error("boom"); });
  ASSERT_NE(exporter, nullptr);
  const std::string response = http_get(exporter->port(), "/metrics");
  EXPECT_THAT(response, HasSubstr("200 OK"));
  EXPECT_THAT(response, Not(HasSubstr("pgmux_")));
}

TEST(Exporter, StopReleasesThePort) {
  auto exporter = start_or_fail(0, test_snapshot);
  ASSERT_NE(exporter, nullptr);
  const uint16_t port = exporter->port();
  exporter->stop();
  EXPECT_EQ(exporter->port(), 0);
  exporter->stop();  // idempotent
  auto again = start_or_fail(port, test_snapshot);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->port(), port);
}

}  // namespace
}  // namespace pgmux::metrics
