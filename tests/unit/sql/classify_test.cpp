// Routing tests, table-driven: plain reads, statements that must go to the primary,
// empty and untokenizable text, several statements in one string, hints, parentheses.
// Each case is a named test (e.g. ClassifyRoute/Reads.SelectJoin). Single-threaded.
#include "pgmux/sql/classify.hpp"

#include <ostream>
#include <string>

#include <gtest/gtest.h>

namespace pgmux::sql {

inline void PrintTo(Route route, std::ostream* os) { *os << to_string(route); }

namespace {

constexpr Route R = Route::kReplica;
constexpr Route P = Route::kPrimary;

struct RouteCase {
  const char* name;
  std::string_view sql;
  Route route;
  std::string_view reason;
};

void PrintTo(const RouteCase& c, std::ostream* os) { *os << c.sql; }

class ClassifyRoute : public testing::TestWithParam<RouteCase> {};

TEST_P(ClassifyRoute, Routes) {
  const RouteCase& c = GetParam();
  Classification result = classify(c.sql);
  EXPECT_EQ(result.route, c.route) << c.sql;
  EXPECT_EQ(result.reason, c.reason) << c.sql;
}

std::string case_name(const testing::TestParamInfo<RouteCase>& info) { return info.param.name; }

using namespace reason;

const RouteCase kReads[] = {
    {"SelectConstant", "SELECT 1", R, kReadOnly},
    {"SelectFromTable", "SELECT a, b FROM t WHERE id = 1", R, kReadOnly},
    {"LowercaseSelect", "select * from t", R, kReadOnly},
    {"MixedCaseSelect", "SeLeCt * FrOm t", R, kReadOnly},
    {"TrailingSemicolon", "SELECT 1;", R, kReadOnly},
    {"LeadingWhitespace", "  \n\tSELECT 1", R, kReadOnly},
    {"LeadingComment", "/* report */ SELECT 1", R, kReadOnly},
    {"Values", "VALUES (1, 'a'), (2, 'b')", R, kReadOnly},
    {"LowercaseValues", "values (1)", R, kReadOnly},
    {"Table", "TABLE t", R, kReadOnly},
    {"ShowSetting", "SHOW search_path", R, kReadOnly},
    {"ShowAll", "SHOW ALL", R, kReadOnly},
    {"LowercaseShow", "show transaction_isolation", R, kReadOnly},
    {"ParenthesizedUnion", "(SELECT 1) UNION (SELECT 2)", R, kReadOnly},
    {"DoublyParenthesizedSelect", "((SELECT 1))", R, kReadOnly},
    {"UnionAll", "SELECT a FROM t UNION ALL SELECT a FROM u", R, kReadOnly},
    {"IntersectExcept", "SELECT a FROM t INTERSECT SELECT a FROM u EXCEPT SELECT 1", R, kReadOnly},
    {"Joins", "SELECT * FROM a JOIN b USING (id) LEFT JOIN c ON c.id = a.id", R, kReadOnly},
    {"Subqueries", "SELECT * FROM (SELECT * FROM t) s WHERE x IN (SELECT y FROM u)", R, kReadOnly},
    {"Exists", "SELECT EXISTS (SELECT 1 FROM t)", R, kReadOnly},
    {"Parameters", "SELECT * FROM t WHERE id = $1 AND name = $2", R, kReadOnly},
    {"Aggregates", "SELECT count(*), sum(x) FROM t GROUP BY y HAVING count(*) > 1", R, kReadOnly},
    {"WindowFunction", "SELECT row_number() OVER (PARTITION BY a ORDER BY b) FROM t", R, kReadOnly},
    {"Casts", "SELECT '1'::int, CAST('2' AS numeric(10, 2))", R, kReadOnly},
    {"OrderLimitOffset", "SELECT * FROM t ORDER BY a DESC LIMIT 10 OFFSET 5", R, kReadOnly},
    {"SubstringFromFor", "SELECT substring('abc' FROM 1 FOR 2)", R, kReadOnly},
    {"OverlayPlacingFor", "SELECT overlay('abc' PLACING 'x' FROM 1 FOR 1)", R, kReadOnly},
    {"FetchFirstWithTies", "SELECT * FROM t ORDER BY a FETCH FIRST 3 ROWS WITH TIES", R, kReadOnly},
    {"TimestampWithTimeZone", "SELECT now()::timestamp with time zone", R, kReadOnly},
    {"UnnestWithOrdinality", "SELECT * FROM unnest(ARRAY[1, 2]) WITH ORDINALITY AS u(x, n)", R,
     kReadOnly},
    {"CurrentSetting", "SELECT current_setting('search_path')", R, kReadOnly},
    {"PgIsInRecovery", "SELECT pg_is_in_recovery()", R, kReadOnly},
    {"JsonOperators", "SELECT data->>'name', data #> '{a,b}' FROM t", R, kReadOnly},
    {"ArraySlice", "SELECT a[1:2] FROM t", R, kReadOnly},
    {"Numbers", "SELECT -1.5e-3, .5, 0x1F", R, kReadOnly},
    {"QuotedTableAndColumn", "SELECT * FROM \"Order\" WHERE \"from\" = 1", R, kReadOnly},
    {"SchemaQualifiedTable", "SELECT * FROM public.t", R, kReadOnly},
    {"WriteFunctionNameWithoutCall", "SELECT nextval FROM sequences", R, kReadOnly},
    {"KeywordsAsQualifiedColumns", "SELECT t.update, t.delete, t.insert FROM t", R, kReadOnly},
    {"UnknownFunctionOutsideStrictMode", "SELECT my_func(1)", R, kReadOnly},
    {"LongerNameContainingNextval", "SELECT my_nextval_wrapper(1)", R, kReadOnly},
    {"DistinctOn", "SELECT DISTINCT ON (a) a, b FROM t ORDER BY a, b", R, kReadOnly},
    {"CaseExpression", "SELECT CASE WHEN a > 0 THEN 'p' ELSE 'n' END FROM t", R, kReadOnly},
    {"TableSample", "SELECT * FROM t TABLESAMPLE SYSTEM (10) REPEATABLE (1)", R, kReadOnly},
    {"LateralJoin", "SELECT * FROM t, LATERAL (SELECT * FROM u WHERE u.t = t.id) x", R, kReadOnly},
    {"GroupingSets", "SELECT a, b FROM t GROUP BY GROUPING SETS ((a), (b))", R, kReadOnly},
    {"Utf8Identifiers", "SELECT \xc3\xa9t\xc3\xa9 FROM caf\xc3\xa9", R, kReadOnly},
};
INSTANTIATE_TEST_SUITE_P(Reads, ClassifyRoute, testing::ValuesIn(kReads), case_name);

const RouteCase kWrites[] = {
    {"Insert", "INSERT INTO t VALUES (1)", P, kNotReadOnly},
    {"InsertSelect", "INSERT INTO t SELECT * FROM u", P, kNotReadOnly},
    {"Update", "UPDATE t SET a = 1", P, kNotReadOnly},
    {"Delete", "DELETE FROM t", P, kNotReadOnly},
    {"LowercaseDelete", "delete from t where id = 1", P, kNotReadOnly},
    {"Merge", "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", P, kNotReadOnly},
    {"Truncate", "TRUNCATE t", P, kNotReadOnly},
    {"CreateTable", "CREATE TABLE t (a int)", P, kNotReadOnly},
    {"CreateTableAsSelect", "CREATE TABLE x AS SELECT 1", P, kNotReadOnly},
    {"AlterTable", "ALTER TABLE t ADD COLUMN b int", P, kNotReadOnly},
    {"DropTable", "DROP TABLE t", P, kNotReadOnly},
    {"CopyFrom", "COPY t FROM STDIN", P, kNotReadOnly},
    {"CopyQueryToStdout", "COPY (SELECT 1) TO STDOUT", P, kNotReadOnly},
    {"DoBlock", "DO $$BEGIN PERFORM 1; END$$", P, kNotReadOnly},
    {"Call", "CALL proc(1)", P, kNotReadOnly},
    {"Lock", "LOCK TABLE t IN ACCESS EXCLUSIVE MODE", P, kNotReadOnly},
    {"Listen", "LISTEN chan", P, kNotReadOnly},
    {"Notify", "NOTIFY chan, 'x'", P, kNotReadOnly},
    {"Unlisten", "UNLISTEN *", P, kNotReadOnly},
    {"Vacuum", "VACUUM t", P, kNotReadOnly},
    {"Analyze", "ANALYZE t", P, kNotReadOnly},
    {"PrepareStatement", "PREPARE s AS SELECT 1", P, kNotReadOnly},
    {"Execute", "EXECUTE s(1)", P, kNotReadOnly},
    {"Deallocate", "DEALLOCATE s", P, kNotReadOnly},
    {"DiscardAll", "DISCARD ALL", P, kNotReadOnly},
    {"DeclareCursor", "DECLARE c CURSOR FOR SELECT 1", P, kNotReadOnly},
    {"Fetch", "FETCH 10 FROM c", P, kNotReadOnly},
    {"Grant", "GRANT SELECT ON t TO u", P, kNotReadOnly},
    {"RefreshMaterializedView", "REFRESH MATERIALIZED VIEW v", P, kNotReadOnly},
    {"Savepoint", "SAVEPOINT a", P, kNotReadOnly},
    {"Set", "SET search_path TO x", P, kSet},
    {"SetLocal", "SET LOCAL statement_timeout = 0", P, kSet},
    {"Reset", "RESET ALL", P, kSet},
    {"Begin", "BEGIN", P, kTransactionControl},
    {"BeginReadOnly", "BEGIN READ ONLY", P, kTransactionControl},
    {"StartTransaction", "START TRANSACTION", P, kTransactionControl},
    {"Commit", "COMMIT", P, kTransactionControl},
    {"Rollback", "ROLLBACK", P, kTransactionControl},
    {"RollbackToSavepoint", "ROLLBACK TO SAVEPOINT a", P, kTransactionControl},
    {"PrepareTransaction", "PREPARE TRANSACTION 'x'", P, kTransactionControl},
    {"NumberStatement", "1", P, kNotReadOnly},
    {"StringStatement", "'SELECT 1'", P, kNotReadOnly},
    {"ParenthesizedInsert", "(INSERT INTO t VALUES (1))", P, kNotReadOnly},
    {"QuotedSelectIsNotKeyword", "\"select\" 1", P, kNotReadOnly},
    {"StartWithoutTransaction", "START foo", P, kNotReadOnly},
};
INSTANTIATE_TEST_SUITE_P(Writes, ClassifyRoute, testing::ValuesIn(kWrites), case_name);

const RouteCase kEmptyTexts[] = {
    {"EmptyString", "", P, kEmpty},
    {"OnlyWhitespace", "   \n\t", P, kEmpty},
    {"OnlySemicolons", ";; ;", P, kEmpty},
    {"OnlyLineComment", "-- nothing", P, kEmpty},
    {"OnlyBlockComment", "/* nothing */", P, kEmpty},
    {"OnlyHint", "/* pgmux:replica */", P, kEmpty},
};
INSTANTIATE_TEST_SUITE_P(Empty, ClassifyRoute, testing::ValuesIn(kEmptyTexts), case_name);

const RouteCase kLexErrors[] = {
    {"UnterminatedString", "SELECT 'abc", P, kLexError},
    {"UnterminatedEscapeString", R"(SELECT E'abc\')", P, kLexError},
    {"UnterminatedQuotedIdentifier", "SELECT \"abc", P, kLexError},
    {"UnterminatedBlockComment", "SELECT 1 /* abc", P, kLexError},
    {"UnterminatedNestedComment", "SELECT 1 /* a /* b */", P, kLexError},
    {"UnterminatedDollarQuote", "SELECT $$abc", P, kLexError},
    {"MismatchedDollarTags", "SELECT $a$abc$b$", P, kLexError},
    {"UnterminatedUnicodeString", "SELECT U&'abc", P, kLexError},
    {"UnterminatedInSecondStatement", "SELECT 1; SELECT 'x", P, kLexError},
    {"UnterminatedAfterWrite", "DELETE FROM t WHERE a = 'x", P, kLexError},
    {"UnterminatedAfterLeadingComment", "/* pgmux:replica */ SELECT 'x", P, kLexError},
    {"UnterminatedHintComment", "/* pgmux:replica SELECT 1", P, kLexError},
};
INSTANTIATE_TEST_SUITE_P(LexErrors, ClassifyRoute, testing::ValuesIn(kLexErrors), case_name);

const RouteCase kMultiStatement[] = {
    {"TwoSelects", "SELECT 1; SELECT 2", R, kReadOnly},
    {"SelectThenShow", "SELECT 1; SHOW work_mem;", R, kReadOnly},
    {"ReadsWithEmptyStatements", "SELECT 1;; ;SELECT 2;", R, kReadOnly},
    {"SelectThenInsert", "SELECT 1; INSERT INTO t VALUES (1)", P, kNotReadOnly},
    {"InsertThenSelect", "INSERT INTO t VALUES (1); SELECT 1", P, kNotReadOnly},
    {"SelectThenNextval", "SELECT 1; SELECT nextval('s')", P, kWriteFunction},
    {"SelectThenForUpdate", "SELECT 1; SELECT * FROM t FOR UPDATE", P, kLockingClause},
    {"BeginSelectCommit", "BEGIN; SELECT 1; COMMIT", P, kTransactionControl},
    {"SelectThenSet", "SELECT 1; SET x = 1", P, kSet},
    {"FirstReasonWins", "SELECT nextval('s'); DELETE FROM t", P, kWriteFunction},
    {"WriteHiddenAfterStringSemicolon", "SELECT ';'; DELETE FROM t", P, kNotReadOnly},
    {"NoSpaceAroundSemicolon", "SELECT 1;DELETE FROM t", P, kNotReadOnly},
};
INSTANTIATE_TEST_SUITE_P(MultiStatement, ClassifyRoute, testing::ValuesIn(kMultiStatement),
                         case_name);

const RouteCase kHints[] = {
    {"PrimaryHintOnSelect", "/* pgmux:primary */ SELECT 1", P, kHintPrimary},
    {"PrimaryHintLineComment", "-- pgmux:primary\nSELECT 1", P, kHintPrimary},
    {"PrimaryHintIgnoresCase", "/*PGMUX:Primary*/ SELECT 1", P, kHintPrimary},
    {"PrimaryHintAfterOtherComment", "/* app=x */ /* pgmux:primary */ SELECT 1", P, kHintPrimary},
    {"PrimaryHintOnWrite", "/* pgmux:primary */ DELETE FROM t", P, kHintPrimary},
    {"ReplicaHintOnRead", "/* pgmux:replica */ SELECT 1", R, kReadOnly},
    {"ReplicaHintDoesNotMoveWrite", "/* pgmux:replica */ DELETE FROM t", P, kNotReadOnly},
    {"ReplicaHintDoesNotMoveNextval", "/* pgmux:replica */ SELECT nextval('s')", P, kWriteFunction},
    {"ReplicaHintDoesNotMoveForUpdate", "/* pgmux:replica */ SELECT 1 FROM t FOR UPDATE", P,
     kLockingClause},
    {"HintNotLeadingIsIgnored", "SELECT /* pgmux:primary */ 1", R, kReadOnly},
    {"HintWithExtraWordsIsIgnored", "/* pgmux:primary please */ SELECT 1", R, kReadOnly},
    {"HintInStringIsIgnored", "SELECT '/* pgmux:primary */'", R, kReadOnly},
    {"FirstHintWins", "/* pgmux:replica */ /* pgmux:primary */ SELECT 1", R, kReadOnly},
};
INSTANTIATE_TEST_SUITE_P(Hints, ClassifyRoute, testing::ValuesIn(kHints), case_name);

const RouteCase kParentheses[] = {
    {"UnbalancedCloseParen", "SELECT 1)", P, kUnbalanced},
    {"UnclosedParenStillRead", "SELECT (1", R, kReadOnly},
    {"LeadingParenThenTerminator", "(;", P, kNotReadOnly},
};
INSTANTIATE_TEST_SUITE_P(Parentheses, ClassifyRoute, testing::ValuesIn(kParentheses), case_name);

std::string nested_select(int depth) {
  return "SELECT " + std::string(depth, '(') + "1" + std::string(depth, ')');
}

TEST(ClassifyDepth, DeepButBoundedNestingIsRead) {
  Classification result = classify(nested_select(60));
  EXPECT_EQ(result.route, R);
  EXPECT_EQ(result.reason, kReadOnly);
}

TEST(ClassifyDepth, NestingBeyondTheStackGoesToPrimary) {
  Classification result = classify(nested_select(200));
  EXPECT_EQ(result.route, P);
  EXPECT_EQ(result.reason, kTooDeep);
}

TEST(ClassifyDepth, TooManyLeadingParenthesesGoToPrimary) {
  Classification result = classify(std::string(100, '(') + "SELECT 1" + std::string(100, ')'));
  EXPECT_EQ(result.route, P);
  EXPECT_EQ(result.reason, kTooDeep);
}

TEST(ClassifyDepth, DeepNestingDoesNotHideNextStatement) {
  Classification result = classify(nested_select(200) + "; SELECT 2");
  EXPECT_EQ(result.statement_count, 2);
  EXPECT_EQ(result.route, P);
}

}  // namespace
}  // namespace pgmux::sql
