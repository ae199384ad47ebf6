// Micro-benchmarks of SCRAM-SHA-256: the server side of one login (what pgmux does per
// client login, given the stored secret: HMACs and hashes only) and, for contrast, the
// PBKDF2 a client does per login. Single-threaded; the messages are built once.
#include <string>

#include <benchmark/benchmark.h>

#include "pgmux/auth/scram.hpp"

namespace pgmux::auth {
namespace {

constexpr std::string_view kPassword = "bench-password";
constexpr std::string_view kSalt = "0123456789abcdef";
constexpr std::string_view kClientNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kServerNonce = "3rfcNHYJY1ZVvWVs7j";

// A fixed secret and the two client messages of a login that succeeds against it.
struct Exchange {
  ScramSecret secret = make_scram_secret(kPassword, kSalt, kDefaultScramIterations);
  std::string client_first;
  std::string client_final;

  Exchange() {
    ScramClient client{std::string(kPassword), std::string(kClientNonce)};
    ScramServer server(secret, std::string(kServerNonce));
    client_first = client.client_first();
    auto server_first = server.handle_client_first(client_first);
    if (server_first) {
      auto final_message = client.handle_server_first(*server_first);
      if (final_message) client_final = *final_message;
    }
  }
};

void BM_ScramServerExchange(benchmark::State& state) {
  static const Exchange exchange;
  for (auto _ : state) {
    ScramServer server(exchange.secret, std::string(kServerNonce));
    auto first = server.handle_client_first(exchange.client_first);
    auto final_reply = server.handle_client_final(exchange.client_final);
    benchmark::DoNotOptimize(final_reply);
    if (!first || !final_reply) {
      state.SkipWithError("SCRAM exchange failed");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// The client's SaltedPassword (PBKDF2-HMAC-SHA256, 4096 iterations): not pgmux's cost
// per login, but what every connecting client pays.
void BM_ScramClientPbkdf2(benchmark::State& state) {
  for (auto _ : state) {
    ScramSecret secret = make_scram_secret(kPassword, kSalt, kDefaultScramIterations);
    benchmark::DoNotOptimize(secret);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_ScramServerExchange);
BENCHMARK(BM_ScramClientPbkdf2)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace pgmux::auth
