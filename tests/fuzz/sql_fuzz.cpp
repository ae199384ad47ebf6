// libFuzzer entry point for the sql module: lexes and classifies the input and checks
// the lexer's coverage invariants and the classifier's safety invariants. Single-threaded.
//
// Not part of the CMake build. Build and run from the repository root:
//   clang++ -fsanitize=fuzzer,address,undefined -std=c++20 -O1 -g -Iinclude \
//     tests/fuzz/sql_fuzz.cpp src/sql/*.cpp -o /tmp/sql_fuzz
//   mkdir -p /tmp/sql_corpus && /tmp/sql_fuzz /tmp/sql_corpus -max_total_time=60 -max_len=512
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pgmux/sql/classify.hpp"
#include "pgmux/sql/lexer.hpp"

namespace {

using namespace pgmux::sql;

void check(bool condition) {
  if (!condition) std::abort();
}

bool within(std::string_view inner, std::string_view outer) {
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

// Raw tokens tile the input exactly; an error token is last and runs to the end.
// Returns whether the input has an error token.
bool fuzz_lexer(std::string_view in, LexerOptions options) {
  Lexer lexer(in, options);
  size_t offset = 0;
  bool error = false;
  for (Token t = lexer.next_raw(); t.kind != TokenKind::kEnd; t = lexer.next_raw()) {
    check(!error);  // nothing after an error token
    check(t.offset == offset && !t.text.empty() && t.text.data() == in.data() + offset);
    check(within(quoted_body(t), t.text));
    if (t.is_trivia() && t.kind != TokenKind::kWhitespace) check(within(comment_body(t), t.text));
    offset += t.text.size();
    error = t.kind == TokenKind::kError;
  }
  check(offset == in.size());
  check(error == !lexer.error().empty());
  Lexer significant(in, options);
  for (Token t = significant.next(); t.kind != TokenKind::kEnd; t = significant.next()) {
    check(!t.is_trivia());
  }
  return error;
}

void fuzz_classifier(std::string_view in, bool lex_error) {
  static const ClassifyOptions defaults;
  static const ClassifyOptions strict = [] {
    ClassifyOptions o;
    o.strict = true;
    return o;
  }();
  Classification plain = classify(in, defaults);
  Classification picky = classify(in, strict);
  if (lex_error) check(plain.route == Route::kPrimary && plain.reason == reason::kLexError);
  if (plain.route == Route::kReplica) check(plain.statement_count > 0);
  // Strict mode only ever moves text to the primary.
  if (picky.route == Route::kReplica) check(plain.route == Route::kReplica);
  check(plain.statement_count == picky.statement_count);
  check(plain.first_keyword().size() <= Classification::kMaxKeywordSize);

  // A primary hint always wins.
  std::string hinted = "/* pgmux:primary */ ";
  hinted.append(in);
  check(classify(hinted, defaults).route == Route::kPrimary);
  // A write appended on its own line can never be hidden: the suffix holds no quote,
  // dollar sign or comment end, so it cannot close anything the input left open.
  std::string with_write(in);
  with_write.append("\n;DELETE FROM t");
  check(classify(with_write, defaults).route == Route::kPrimary);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const bool lex_error = fuzz_lexer(in, LexerOptions{});
  fuzz_lexer(in, LexerOptions{.standard_conforming_strings = false});
  fuzz_classifier(in, lex_error);
  return 0;
}
