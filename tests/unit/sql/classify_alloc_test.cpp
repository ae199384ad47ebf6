// Checks that lexing and classifying do not touch the heap. Replaces the global
// operator new for the whole unit_sql binary to count allocations. Single-threaded.
#include <cstdlib>
#include <new>
#include <string>

#include <gtest/gtest.h>

#include "pgmux/sql/classify.hpp"
#include "pgmux/sql/lexer.hpp"

#include "../alloc_counter.hpp"

namespace pgmux::sql {
namespace {

constexpr std::string_view kTexts[] = {
    "/* pgmux:replica */ SELECT a, count(*) FROM t WHERE b = $1 GROUP BY a",
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT * FROM t",
    "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
    "SELECT pg_catalog.nextval('s'); SELECT \"lower\"('x') FOR UPDATE",
    "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY; SET default_transaction_read_only = on",
    "EXPLAIN (ANALYZE, FORMAT JSON) SELECT $$x$$, E'\\'', U&'a' FROM t /* c /* d */ */",
    "SELECT 'unterminated",
    "COMMIT AND CHAIN; ROLLBACK TO SAVEPOINT a; PREPARE TRANSACTION 'g'",
};

TEST(ClassifyAllocations, ClassifyDoesNotAllocate) {
  ClassifyOptions options;
  ClassifyOptions strict;
  strict.strict = true;
  int replicas = 0;
  const size_t before = g_allocations;
  for (std::string_view sql : kTexts) {
    replicas += classify(sql, options).route == Route::kReplica;
    replicas += classify(sql, strict).route == Route::kReplica;
  }
  EXPECT_EQ(g_allocations, before);
  EXPECT_EQ(replicas, 6);  // the first two texts and the EXPLAIN, in both modes
}

TEST(ClassifyAllocations, DefaultOptionsOverloadAllocatesOnlyOnce) {
  (void)classify("SELECT 1");  // builds the shared defaults
  const size_t before = g_allocations;
  (void)classify("SELECT nextval('s')");
  EXPECT_EQ(g_allocations, before);
}

TEST(ClassifyAllocations, LexerDoesNotAllocate) {
  const size_t before = g_allocations;
  size_t tokens = 0;
  for (std::string_view sql : kTexts) {
    Lexer lexer(sql);
    while (lexer.next_raw().kind != TokenKind::kEnd) ++tokens;
  }
  EXPECT_EQ(g_allocations, before);
  EXPECT_GT(tokens, 100u);
}

}  // namespace
}  // namespace pgmux::sql
