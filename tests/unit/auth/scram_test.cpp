// Unit tests for SCRAM-SHA-256: RFC 7677 vector, round trips, malformed messages, secrets.
// Single-threaded.
#include "pgmux/auth/scram.hpp"

#include <gtest/gtest.h>

#include "hex_util.hpp"

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace pgmux::auth {
namespace {

// RFC 7677 section 3.
constexpr std::string_view kRfcClientNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kRfcServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view kRfcCombinedNonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view kRfcClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kRfcServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view kRfcClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view kRfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
// The RFC salt, raw, and the secret it gives with "pencil" (computed independently
// with Python's hashlib.pbkdf2_hmac / hmac).
const std::string kRfcSalt("\x5b\x6d\x99\x68\x9d\x12\x35\x8e\xec\xa0\x4b\x14\x12\x36\xfa\x81", 16);
constexpr std::string_view kRfcSecret =
    "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
    "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";
constexpr std::string_view kRfcClientKeyHex = "a60fc923d67e8644a92d16b96eda5ef4656b0c725c484374be25535576996e8b";

// Stored by PostgreSQL 15 for ALTER ROLE ... PASSWORD 'correct horse battery staple'.
constexpr std::string_view kPostgresPassword = "correct horse battery staple";
constexpr std::string_view kPostgresSecret =
    "SCRAM-SHA-256$4096:U6ek4Dh/pt4diJDm/NonXw==$VT7JgQnwK+jHcypOykrFLpvlGPTSPa6HRKygCWArfg4=:"
    "kKAo9XuEX9tLN0c6ykLI3VEUGgD3vFsLdbtnBZo7Bv0=";

using testing::hex;

ScramSecret rfc_secret() {
  auto secret = parse_scram_secret(kRfcSecret);
  EXPECT_TRUE(secret.ok());
  return *secret;
}

// A server that has answered a client-first with nonce "abc"; its combined nonce is "abcXYZ".
ScramServer server_after_first(ScramSecret secret = rfc_secret()) {
  ScramServer server(std::move(secret), "XYZ");
  auto first = server.handle_client_first("n,,n=,r=abc");
  EXPECT_TRUE(first.ok());
  return server;
}

struct LoginOutcome {
  util::Status status = util::Ok{};
  std::optional<Sha256> recovered_client_key;
};

// Runs a whole exchange between `client` and `server`.
LoginOutcome login(ScramClient& client, ScramServer& server) {
  LoginOutcome outcome;
  auto server_first = server.handle_client_first(client.client_first());
  if (!server_first) return {server_first.error(), std::nullopt};
  auto client_final = client.handle_server_first(*server_first);
  if (!client_final) return {client_final.error(), std::nullopt};
  auto server_final = server.handle_client_final(*client_final);
  if (!server_final) return {server_final.error(), std::nullopt};
  outcome.status = client.handle_server_final(*server_final);
  outcome.recovered_client_key = server.client_key();
  return outcome;
}

void expect_code(const util::Error& error, std::string_view code) { EXPECT_EQ(error.code, code) << error.message; }

// ---- RFC 7677 vector -------------------------------------------------------------

TEST(ScramRfc7677, SecretFromPencilMatchesVector) {
  EXPECT_EQ(format_scram_secret(make_scram_secret("pencil", kRfcSalt, 4096)), kRfcSecret);
}

TEST(ScramRfc7677, ServerAcceptsRfcExchangeByteForByte) {
  ScramServer server(make_scram_secret("pencil", kRfcSalt, 4096), std::string(kRfcServerNonce));
  auto server_first = server.handle_client_first(kRfcClientFirst);
  ASSERT_TRUE(server_first.ok()) << server_first.error().message;
  EXPECT_EQ(*server_first, kRfcServerFirst);
  auto server_final = server.handle_client_final(kRfcClientFinal);
  ASSERT_TRUE(server_final.ok()) << server_final.error().message;
  EXPECT_EQ(*server_final, kRfcServerFinal);
  ASSERT_TRUE(server.client_key().has_value());
  EXPECT_EQ(hex(*server.client_key()), kRfcClientKeyHex);
}

TEST(ScramRfc7677, ServerRejectsRfcProofWithOneBitFlipped) {
  ScramServer server(rfc_secret(), std::string(kRfcServerNonce));
  ASSERT_TRUE(server.handle_client_first(kRfcClientFirst).ok());
  std::string tampered(kRfcClientFinal);
  tampered[tampered.size() - 7] = '8';  // "...z7AndVQ=" -> "...z8AndVQ="
  auto server_final = server.handle_client_final(tampered);
  ASSERT_FALSE(server_final.ok());
  expect_code(server_final.error(), "28P01");
  EXPECT_EQ(server_final.error().message, "password authentication failed");
  EXPECT_FALSE(server.client_key().has_value());
}

// The client sends "n=" (empty user) as PostgreSQL clients do, so its AuthMessage differs
// from the RFC's; the expected proof and signature were computed independently with
// Python's hashlib/hmac for "n=,r=rOprNGfwEbeRWgbNEkqO".
TEST(ScramRfc7677, ClientProofMatchesIndependentComputation) {
  ScramClient client("pencil", std::string(kRfcClientNonce));
  EXPECT_EQ(client.client_first(), "n,,n=,r=rOprNGfwEbeRWgbNEkqO");
  auto client_final = client.handle_server_first(kRfcServerFirst);
  ASSERT_TRUE(client_final.ok()) << client_final.error().message;
  EXPECT_EQ(*client_final,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            "p=qvT2SWdEH5Q06albL+hjSYuUhCG7VndFyzIb7CK4n9k=");
  auto status = client.handle_server_final("v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=");
  EXPECT_TRUE(status.ok()) << status.error().message;
}

TEST(ScramRfc7677, ClientRejectsRfcServerSignatureForItsOwnAuthMessage) {
  ScramClient client("pencil", std::string(kRfcClientNonce));
  client.client_first();
  ASSERT_TRUE(client.handle_server_first(kRfcServerFirst).ok());
  auto status = client.handle_server_final(kRfcServerFinal);  // signs "n=user", not "n="
  ASSERT_FALSE(status.ok());
  expect_code(status.error(), "28P01");
}

// ---- Round trips -----------------------------------------------------------------

TEST(ScramRoundTrip, CorrectPasswordLogsIn) {
  ScramServer server(make_scram_secret("s3cret", "0123456789abcdef", 4096), random_nonce());
  ScramClient client("s3cret", random_nonce());
  LoginOutcome outcome = login(client, server);
  EXPECT_TRUE(outcome.status.ok()) << outcome.status.error().message;
  EXPECT_TRUE(outcome.recovered_client_key.has_value());
}

TEST(ScramRoundTrip, WrongPasswordFailsWith28P01) {
  ScramServer server(make_scram_secret("s3cret", "0123456789abcdef", 4096), random_nonce());
  ScramClient client("s3cret!", random_nonce());
  LoginOutcome outcome = login(client, server);
  ASSERT_FALSE(outcome.status.ok());
  expect_code(outcome.status.error(), "28P01");
  EXPECT_FALSE(server.client_key().has_value());
}

TEST(ScramRoundTrip, PostgresSecretAcceptsItsPassword) {
  auto secret = parse_scram_secret(kPostgresSecret);
  ASSERT_TRUE(secret.ok()) << secret.error().message;
  ScramServer server(*secret, random_nonce());
  ScramClient client(std::string(kPostgresPassword), random_nonce());
  LoginOutcome outcome = login(client, server);
  EXPECT_TRUE(outcome.status.ok()) << outcome.status.error().message;
}

TEST(ScramRoundTrip, PostgresSecretRejectsOtherPassword) {
  ScramServer server(*parse_scram_secret(kPostgresSecret), random_nonce());
  ScramClient client("correct horse battery stapler", random_nonce());
  LoginOutcome outcome = login(client, server);
  ASSERT_FALSE(outcome.status.ok());
  expect_code(outcome.status.error(), "28P01");
}

TEST(ScramRoundTrip, EmptyPasswordWorks) {
  ScramServer server(make_scram_secret("", "salt", 4096), random_nonce());
  ScramClient client("", random_nonce());
  EXPECT_TRUE(login(client, server).status.ok());
}

TEST(ScramRoundTrip, FromKeysPassThroughLogsInToServerWithSameSecret) {
  ScramSecret secret = make_scram_secret("s3cret", "0123456789abcdef", 4096);
  ScramServer front(secret, random_nonce());
  ScramClient app("s3cret", random_nonce());
  LoginOutcome first = login(app, front);
  ASSERT_TRUE(first.status.ok());
  ASSERT_TRUE(first.recovered_client_key.has_value());

  ScramServer backend(secret, random_nonce());
  ScramClient pass_through = ScramClient::from_keys(*first.recovered_client_key, secret.server_key, random_nonce());
  LoginOutcome second = login(pass_through, backend);
  EXPECT_TRUE(second.status.ok()) << second.status.error().message;
}

TEST(ScramRoundTrip, FromKeysWithWrongClientKeyFails) {
  ScramSecret secret = make_scram_secret("s3cret", "0123456789abcdef", 4096);
  Sha256 wrong_key{};
  wrong_key[0] = 1;
  ScramServer backend(secret, random_nonce());
  ScramClient pass_through = ScramClient::from_keys(wrong_key, secret.server_key, random_nonce());
  LoginOutcome outcome = login(pass_through, backend);
  ASSERT_FALSE(outcome.status.ok());
  expect_code(outcome.status.error(), "28P01");
}

TEST(ScramRoundTrip, FromKeysWithWrongServerKeyRejectsServerSignature) {
  ScramSecret secret = make_scram_secret("s3cret", "0123456789abcdef", 4096);
  ScramServer front(secret, random_nonce());
  ScramClient app("s3cret", random_nonce());
  LoginOutcome first = login(app, front);
  ASSERT_TRUE(first.recovered_client_key.has_value());
  Sha256 wrong_server_key = secret.server_key;
  wrong_server_key[31] ^= 0x80;
  ScramServer backend(secret, random_nonce());
  ScramClient pass_through = ScramClient::from_keys(*first.recovered_client_key, wrong_server_key, random_nonce());
  LoginOutcome outcome = login(pass_through, backend);
  ASSERT_FALSE(outcome.status.ok());
  expect_code(outcome.status.error(), "28P01");
}

// ---- Server: mock mode ---------------------------------------------------------------

TEST(ScramServerMock, ServerFirstIsWellFormed) {
  ScramServer server(mock_scram_secret("ghost", "per-process-seed"), "SRV", /*mock=*/true);
  auto first = server.handle_client_first("n,,n=,r=abc");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->starts_with("r=abcSRV,s="));
  EXPECT_TRUE(first->ends_with(",i=4096"));
  std::string salt = first->substr(11, first->size() - 11 - 7);
  EXPECT_EQ(salt.size(), 24u);  // base64 of 16 bytes
  EXPECT_EQ(salt.substr(22), "==");
}

TEST(ScramServerMock, FailsWith28P01EvenWithTheRightPassword) {
  ScramServer server(make_scram_secret("s3cret", "0123456789abcdef", 4096), random_nonce(), /*mock=*/true);
  ScramClient client("s3cret", random_nonce());
  LoginOutcome outcome = login(client, server);
  ASSERT_FALSE(outcome.status.ok());
  expect_code(outcome.status.error(), "28P01");
  EXPECT_EQ(outcome.status.error().message, "password authentication failed");
  EXPECT_FALSE(server.client_key().has_value());
}

// ---- Server: client-first-message ------------------------------------------------

TEST(ScramServerClientFirst, AcceptsYFlagAndItsBinding) {
  // Proof and signature for "y,,": AuthMessage ends with "c=eSws,..." (computed with Python).
  ScramServer server(rfc_secret(), std::string(kRfcServerNonce));
  ASSERT_TRUE(server.handle_client_first("y,,n=user,r=rOprNGfwEbeRWgbNEkqO").ok());
  auto final_message = server.handle_client_final(
      "c=eSws,r=" + std::string(kRfcCombinedNonce) + ",p=FoqiHTtQEDE8lz1CdaEe3tK4mS+iMDTl77SPyDS53DY=");
  ASSERT_TRUE(final_message.ok()) << final_message.error().message;
  EXPECT_EQ(*final_message, "v=dI4KpiQJwBr1+V+K6U1dA6l6I4I9DUNXWND4pcpRU3U=");
}

TEST(ScramServerClientFirst, AcceptsAnyUserName) {
  ScramServer server(rfc_secret(), "XYZ");
  auto first = server.handle_client_first("n,,n=some=2Cone,r=abc");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->starts_with("r=abcXYZ,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"));
}

TEST(ScramServerClientFirst, IgnoresTrailingExtensions) {
  ScramServer server(rfc_secret(), "XYZ");
  EXPECT_TRUE(server.handle_client_first("n,,n=,r=abc,x=ext").ok());
}

void expect_client_first_rejected(std::string_view message, std::string_view code) {
  ScramServer server(rfc_secret(), "XYZ");
  auto first = server.handle_client_first(message);
  ASSERT_FALSE(first.ok()) << "accepted: " << message;
  expect_code(first.error(), code);
  // The exchange is over: nothing else is accepted.
  auto next = server.handle_client_final("c=biws,r=abcXYZ,p=" + std::string(43, 'A') + "=");
  ASSERT_FALSE(next.ok());
  expect_code(next.error(), "08P01");
}

TEST(ScramServerClientFirst, ChannelBindingRequestRejected) {
  expect_client_first_rejected("p=tls-server-end-point,,n=,r=abc", "08P01");
}
// ---- Server: channel binding (SCRAM-SHA-256-PLUS, tls-server-end-point) -----------

// 32 bytes standing for the hash of the server's certificate.
std::string binding_data() {
  std::string data(32, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i);
  return data;
}

ScramServer binding_server() {
  return ScramServer(rfc_secret(), std::string(kRfcServerNonce), false, binding_data());
}

TEST(ScramServerChannelBinding, PlusExchangeWithTheRightBindingLogsIn) {
  // The RFC 7677 exchange with "p=tls-server-end-point,," and binding_data(); proof and
  // signature computed with Python's hashlib / hmac.
  ScramServer server = binding_server();
  ASSERT_TRUE(server
                  .handle_client_first("p=tls-server-end-point,,n=user,r=rOprNGfwEbeRWgbNEkqO",
                                       kScramSha256Plus)
                  .ok());
  const std::string c =
      "cD10bHMtc2VydmVyLWVuZC1wb2ludCwsAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  auto final_message =
      server.handle_client_final("c=" + c + ",r=" + std::string(kRfcCombinedNonce) +
                                 ",p=nY1Wus9a+gM2DrbQ1msXFgyhW6KM5ktOxWiU+/P/EGY=");
  ASSERT_TRUE(final_message.ok()) << final_message.error().message;
  EXPECT_EQ(*final_message, "v=RwppMGddhz/J0lFYaRReBjXcQeNUFP5Qc76Lo5Exrig=");
}

TEST(ScramServerChannelBinding, OtherBindingDataIsRefused) {
  // The client's connection is not the one the server sees (a man in the middle): the
  // same messages against other binding data.
  ScramServer server(rfc_secret(), std::string(kRfcServerNonce), false, std::string(32, 'x'));
  ASSERT_TRUE(server
                  .handle_client_first("p=tls-server-end-point,,n=user,r=rOprNGfwEbeRWgbNEkqO",
                                       kScramSha256Plus)
                  .ok());
  auto final_message = server.handle_client_final(
      "c=cD10bHMtc2VydmVyLWVuZC1wb2ludCwsAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,r=" +
      std::string(kRfcCombinedNonce) + ",p=nY1Wus9a+gM2DrbQ1msXFgyhW6KM5ktOxWiU+/P/EGY=");
  ASSERT_FALSE(final_message.ok());
  expect_code(final_message.error(), "08P01");
}

TEST(ScramServerChannelBinding, PlainMechanismStillWorksWhereBindingIsOffered) {
  ScramServer server = binding_server();
  ASSERT_TRUE(server.handle_client_first(kRfcClientFirst, kScramSha256).ok());
  auto final_message = server.handle_client_final(kRfcClientFinal);
  ASSERT_TRUE(final_message.ok()) << final_message.error().message;
  EXPECT_EQ(*final_message, kRfcServerFinal);
}

void expect_binding_refused(ScramServer server, std::string_view message,
                            std::string_view mechanism, std::string_view words) {
  auto first = server.handle_client_first(message, mechanism);
  ASSERT_FALSE(first.ok()) << "accepted: " << message;
  expect_code(first.error(), "08P01");
  EXPECT_NE(first.error().message.find(words), std::string::npos) << first.error().message;
}

TEST(ScramServerChannelBinding, YFlagIsADowngradeWhereBindingIsOffered) {
  expect_binding_refused(binding_server(), "y,,n=,r=abc", kScramSha256, "negotiation error");
}
TEST(ScramServerChannelBinding, PlusWithoutBindingDataIsRefused) {
  expect_binding_refused(binding_server(), "n,,n=,r=abc", kScramSha256Plus,
                         "does not include channel binding data");
  expect_binding_refused(binding_server(), "y,,n=,r=abc", kScramSha256Plus,
                         "does not include channel binding data");
}
TEST(ScramServerChannelBinding, BindingDataWithoutPlusIsRefused) {
  expect_binding_refused(binding_server(), "p=tls-server-end-point,,n=,r=abc", kScramSha256,
                         "includes channel binding data");
}
TEST(ScramServerChannelBinding, OtherBindingTypeIsRefused) {
  expect_binding_refused(binding_server(), "p=tls-unique,,n=,r=abc", kScramSha256Plus,
                         "unsupported SCRAM channel-binding type");
}
TEST(ScramServerChannelBinding, PlusWithoutTlsIsRefused) {
  expect_binding_refused(ScramServer(rfc_secret(), "XYZ"), "p=tls-server-end-point,,n=,r=abc",
                         kScramSha256Plus, "invalid SASL authentication mechanism");
}

TEST(ScramServerChannelBinding, UnknownMechanismIsRefused) {
  expect_binding_refused(binding_server(), "n,,n=,r=abc", "SCRAM-SHA-1",
                         "invalid SASL authentication mechanism");
}

TEST(ScramServerClientFirst, AuthzidRejected) { expect_client_first_rejected("n,a=admin,n=,r=abc", "0A000"); }
TEST(ScramServerClientFirst, MandatoryExtensionRejected) {
  expect_client_first_rejected("n,,m=ext,n=,r=abc", "0A000");
}
TEST(ScramServerClientFirst, EmptyMessage) { expect_client_first_rejected("", "08P01"); }
TEST(ScramServerClientFirst, UnknownFlag) { expect_client_first_rejected("x,,n=,r=abc", "08P01"); }
TEST(ScramServerClientFirst, FlagWithoutComma) { expect_client_first_rejected("n", "08P01"); }
TEST(ScramServerClientFirst, MissingSecondComma) { expect_client_first_rejected("n,n=,r=abc", "08P01"); }
TEST(ScramServerClientFirst, MissingUserAttribute) { expect_client_first_rejected("n,,r=abc", "08P01"); }
TEST(ScramServerClientFirst, MissingNonce) { expect_client_first_rejected("n,,n=", "08P01"); }
TEST(ScramServerClientFirst, EmptyNonce) { expect_client_first_rejected("n,,n=,r=", "08P01"); }
TEST(ScramServerClientFirst, NonPrintableNonce) { expect_client_first_rejected("n,,n=,r=ab\x01z", "08P01"); }
TEST(ScramServerClientFirst, TrailingComma) { expect_client_first_rejected("n,,n=,r=abc,", "08P01"); }
TEST(ScramServerClientFirst, GarbageAfterNonce) { expect_client_first_rejected("n,,n=,r=abc,123", "08P01"); }

TEST(ScramServerClientFirst, SecondClientFirstRejected) {
  ScramServer server = server_after_first();
  auto again = server.handle_client_first("n,,n=,r=abc");
  ASSERT_FALSE(again.ok());
  expect_code(again.error(), "08P01");
}

// ---- Server: client-final-message ------------------------------------------------

void expect_client_final_rejected(std::string_view message, std::string_view code) {
  ScramServer server = server_after_first();
  auto final_message = server.handle_client_final(message);
  ASSERT_FALSE(final_message.ok()) << "accepted: " << message;
  expect_code(final_message.error(), code);
  EXPECT_FALSE(server.client_key().has_value());
}

const std::string kAnyProof = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";

TEST(ScramServerClientFinal, WellFormedWrongProofIs28P01) {
  expect_client_final_rejected("c=biws,r=abcXYZ,p=" + kAnyProof, "28P01");
}
TEST(ScramServerClientFinal, BadBase64Proof) { expect_client_final_rejected("c=biws,r=abcXYZ,p=!!!!", "08P01"); }
TEST(ScramServerClientFinal, ProofWithoutPadding) {
  expect_client_final_rejected("c=biws,r=abcXYZ,p=" + kAnyProof.substr(0, 43), "08P01");
}
TEST(ScramServerClientFinal, ShortProof) {
  expect_client_final_rejected("c=biws,r=abcXYZ,p=AAAAAAAAAAAAAAAAAAAAAA==", "08P01");
}
TEST(ScramServerClientFinal, NonceMismatch) {
  expect_client_final_rejected("c=biws,r=abcXYQ,p=" + kAnyProof, "08P01");
}
TEST(ScramServerClientFinal, NonceWithoutServerPart) {
  expect_client_final_rejected("c=biws,r=abc,p=" + kAnyProof, "08P01");
}
TEST(ScramServerClientFinal, WrongChannelBinding) {
  expect_client_final_rejected("c=eSws,r=abcXYZ,p=" + kAnyProof, "08P01");
}
TEST(ScramServerClientFinal, MissingChannelBinding) {
  expect_client_final_rejected("r=abcXYZ,p=" + kAnyProof, "08P01");
}
TEST(ScramServerClientFinal, MissingNonce) { expect_client_final_rejected("c=biws,p=" + kAnyProof, "08P01"); }
TEST(ScramServerClientFinal, MissingProof) { expect_client_final_rejected("c=biws,r=abcXYZ", "08P01"); }
TEST(ScramServerClientFinal, GarbageAfterProof) {
  expect_client_final_rejected("c=biws,r=abcXYZ,p=" + kAnyProof + ",x=1", "08P01");
}
TEST(ScramServerClientFinal, EmptyMessage) { expect_client_final_rejected("", "08P01"); }

TEST(ScramServerClientFinal, BeforeClientFirst) {
  ScramServer server(rfc_secret(), "XYZ");
  auto final_message = server.handle_client_final("c=biws,r=abcXYZ,p=" + kAnyProof);
  ASSERT_FALSE(final_message.ok());
  expect_code(final_message.error(), "08P01");
}

TEST(ScramServerClientFinal, SecondClientFinalRejected) {
  ScramServer server(rfc_secret(), std::string(kRfcServerNonce));
  ASSERT_TRUE(server.handle_client_first(kRfcClientFirst).ok());
  ASSERT_TRUE(server.handle_client_final(kRfcClientFinal).ok());
  auto again = server.handle_client_final(kRfcClientFinal);
  ASSERT_FALSE(again.ok());
  expect_code(again.error(), "08P01");
}

// ---- Client: server messages -------------------------------------------------------

void expect_server_first_rejected(std::string_view message) {
  ScramClient client("pencil", std::string(kRfcClientNonce));
  client.client_first();
  auto client_final = client.handle_server_first(message);
  ASSERT_FALSE(client_final.ok()) << "accepted: " << message;
  expect_code(client_final.error(), "08P01");
}

TEST(ScramClientServerFirst, NonceNotExtendingOurs) {
  expect_server_first_rejected("r=XXXXNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
}
TEST(ScramClientServerFirst, NonceShorterThanOurs) {
  expect_server_first_rejected("r=rOprNG,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
}
TEST(ScramClientServerFirst, MissingNonce) { expect_server_first_rejected("s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"); }
TEST(ScramClientServerFirst, MissingSalt) {
  expect_server_first_rejected("r=rOprNGfwEbeRWgbNEkqOabc,i=4096");
}
TEST(ScramClientServerFirst, BadSaltBase64) {
  expect_server_first_rejected("r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6g,i=4096");
}
TEST(ScramClientServerFirst, MissingIterations) {
  expect_server_first_rejected("r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==");
}
TEST(ScramClientServerFirst, ZeroIterations) {
  expect_server_first_rejected("r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0");
}
TEST(ScramClientServerFirst, NegativeIterations) {
  expect_server_first_rejected("r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1");
}
TEST(ScramClientServerFirst, OverflowingIterations) {
  expect_server_first_rejected("r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999");
}
TEST(ScramClientServerFirst, NonNumericIterations) {
  expect_server_first_rejected("r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096x");
}
TEST(ScramClientServerFirst, GarbageAtEnd) {
  expect_server_first_rejected("r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,x=1");
}

TEST(ScramClientServerFirst, BeforeClientFirst) {
  ScramClient client("pencil", std::string(kRfcClientNonce));
  auto client_final = client.handle_server_first(kRfcServerFirst);
  ASSERT_FALSE(client_final.ok());
  expect_code(client_final.error(), "08P01");
}

// A client that has sent its final message for the RFC exchange (see the proof test).
ScramClient client_after_final() {
  ScramClient client("pencil", std::string(kRfcClientNonce));
  client.client_first();
  EXPECT_TRUE(client.handle_server_first(kRfcServerFirst).ok());
  return client;
}

TEST(ScramClientServerFinal, TamperedSignatureRejected) {
  ScramClient client = client_after_final();
  auto status = client.handle_server_final("v=4HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=");
  ASSERT_FALSE(status.ok());
  expect_code(status.error(), "28P01");
}

TEST(ScramClientServerFinal, ServerErrorAttributeReported) {
  ScramClient client = client_after_final();
  auto status = client.handle_server_final("e=invalid-proof");
  ASSERT_FALSE(status.ok());
  expect_code(status.error(), "28P01");
  EXPECT_EQ(status.error().message, "server rejected SCRAM authentication: invalid-proof");
}

TEST(ScramClientServerFinal, UnknownAttribute) {
  ScramClient client = client_after_final();
  auto status = client.handle_server_final("x=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=");
  ASSERT_FALSE(status.ok());
  expect_code(status.error(), "08P01");
}

TEST(ScramClientServerFinal, BadSignatureBase64) {
  ScramClient client = client_after_final();
  auto status = client.handle_server_final("v=3HO6Qt1M4MKJrmlK!!");
  ASSERT_FALSE(status.ok());
  expect_code(status.error(), "08P01");
}

TEST(ScramClientServerFinal, GarbageAfterSignature) {
  ScramClient client = client_after_final();
  auto status = client.handle_server_final("v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=,x=1");
  ASSERT_FALSE(status.ok());
  expect_code(status.error(), "08P01");
}

TEST(ScramClientServerFinal, BeforeServerFirst) {
  ScramClient client("pencil", std::string(kRfcClientNonce));
  client.client_first();
  auto status = client.handle_server_final("v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=");
  ASSERT_FALSE(status.ok());
  expect_code(status.error(), "08P01");
}

// ---- Secrets -------------------------------------------------------------------------

TEST(ScramSecretTest, ParsesPostgres15Secret) {
  auto secret = parse_scram_secret(kPostgresSecret);
  ASSERT_TRUE(secret.ok()) << secret.error().message;
  EXPECT_EQ(secret->iterations, 4096);
  EXPECT_EQ(secret->salt.size(), 16u);
  ScramSecret derived = make_scram_secret(kPostgresPassword, secret->salt, secret->iterations);
  EXPECT_EQ(derived.stored_key, secret->stored_key);
  EXPECT_EQ(derived.server_key, secret->server_key);
  EXPECT_EQ(format_scram_secret(*secret), kPostgresSecret);
}

TEST(ScramSecretTest, FormatParseRoundTripForEverySaltPadding) {
  for (const std::string& salt : std::vector<std::string>{"a", "ab", "abc", "abcd", std::string("\0\xff\x80", 3)}) {
    ScramSecret secret = make_scram_secret("pw", salt, 7);
    auto parsed = parse_scram_secret(format_scram_secret(secret));
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->salt, salt);
    EXPECT_EQ(parsed->iterations, 7);
    EXPECT_EQ(parsed->stored_key, secret.stored_key);
    EXPECT_EQ(parsed->server_key, secret.server_key);
  }
}

TEST(ScramSecretTest, MakeSecretRejectsZeroIterations) {
  EXPECT_THROW(make_scram_secret("pw", "salt", 0), std::invalid_argument);
}

void expect_secret_rejected(std::string_view text) {
  auto secret = parse_scram_secret(text);
  ASSERT_FALSE(secret.ok()) << "accepted: " << text;
  expect_code(secret.error(), "22023");
  // The message must not leak the secret (or any part of its key material).
  EXPECT_EQ(secret.error().message.find("W22Z"), std::string::npos);
  EXPECT_EQ(secret.error().message.find("WG5d"), std::string::npos);
  EXPECT_EQ(secret.error().message.find("wfPL"), std::string::npos);
}

const std::string kKeys =
    "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";

TEST(ScramSecretTest, Empty) { expect_secret_rejected(""); }
TEST(ScramSecretTest, WrongMethod) { expect_secret_rejected("SCRAM-SHA-1$4096:W22ZaJ0SNY7soEsUEjb6gQ==$" + kKeys); }
TEST(ScramSecretTest, Md5Hash) { expect_secret_rejected("md54a0a68b43b6cd5cf266fa02f196e2371"); }
TEST(ScramSecretTest, MissingKeys) { expect_secret_rejected("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ=="); }
TEST(ScramSecretTest, MissingSaltColon) { expect_secret_rejected("SCRAM-SHA-256$4096W22ZaJ0SNY7soEsUEjb6gQ==$" + kKeys); }
TEST(ScramSecretTest, MissingKeyColon) {
  expect_secret_rejected(
      "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=");
}
TEST(ScramSecretTest, ZeroIterations) { expect_secret_rejected("SCRAM-SHA-256$0:W22ZaJ0SNY7soEsUEjb6gQ==$" + kKeys); }
TEST(ScramSecretTest, NegativeIterations) {
  expect_secret_rejected("SCRAM-SHA-256$-4096:W22ZaJ0SNY7soEsUEjb6gQ==$" + kKeys);
}
TEST(ScramSecretTest, NonNumericIterations) {
  expect_secret_rejected("SCRAM-SHA-256$4k:W22ZaJ0SNY7soEsUEjb6gQ==$" + kKeys);
}
TEST(ScramSecretTest, EmptySalt) { expect_secret_rejected("SCRAM-SHA-256$4096:$" + kKeys); }
TEST(ScramSecretTest, SaltWithBadPadding) { expect_secret_rejected("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ=$" + kKeys); }
TEST(ScramSecretTest, SaltWithPaddingInside) {
  expect_secret_rejected("SCRAM-SHA-256$4096:W22=aJ0SNY7soEsUEjb6gQ==$" + kKeys);
}
TEST(ScramSecretTest, SaltWithWhitespace) {
  expect_secret_rejected("SCRAM-SHA-256$4096:W22ZaJ0S NY7soEsUEjb6gQ=$" + kKeys);
}
TEST(ScramSecretTest, ShortStoredKey) {
  expect_secret_rejected(
      "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$W22ZaJ0SNY7soEsUEjb6gQ==:"
      "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=");
}
TEST(ScramSecretTest, InvalidServerKeyBase64) {
  expect_secret_rejected(
      "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
      "wfPLwcE6nTWhTAmQ7tl2Keoi*GPlZqQxSrmfPwDl2dU=");
}
TEST(ScramSecretTest, TrailingGarbage) {
  expect_secret_rejected("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$" + kKeys + "$extra");
}

TEST(ScramSecretTest, MockSecretIsDeterministicPerUserAndSeed) {
  ScramSecret a = mock_scram_secret("ghost", "seed-1");
  ScramSecret again = mock_scram_secret("ghost", "seed-1");
  ScramSecret other_user = mock_scram_secret("phantom", "seed-1");
  ScramSecret other_seed = mock_scram_secret("ghost", "seed-2");
  EXPECT_EQ(format_scram_secret(a), format_scram_secret(again));
  EXPECT_EQ(a.iterations, 4096);
  EXPECT_EQ(a.salt.size(), 16u);
  EXPECT_NE(a.salt, other_user.salt);
  EXPECT_NE(a.salt, other_seed.salt);
  EXPECT_NE(a.stored_key, other_user.stored_key);
  EXPECT_NE(a.stored_key, a.server_key);
  EXPECT_TRUE(parse_scram_secret(format_scram_secret(a)).ok());
}

TEST(ScramNonceTest, RandomNonceIsPrintableAndFresh) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string nonce = random_nonce();
    EXPECT_EQ(nonce.size(), 24u);  // base64 of 18 bytes
    for (char c : nonce) EXPECT_TRUE(c > 0x20 && c < 0x7f && c != ',') << nonce;
    seen.insert(nonce);
  }
  EXPECT_EQ(seen.size(), 50u);
  EXPECT_EQ(random_nonce(3).size(), 4u);
}

}  // namespace
}  // namespace pgmux::auth
