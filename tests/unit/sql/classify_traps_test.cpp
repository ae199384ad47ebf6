// Routing tests for the traps: keywords hidden in strings, identifiers and comments;
// locking clauses; SELECT INTO; data-modifying WITH; EXPLAIN; write functions; strict
// mode. Table-driven, each case a named test. Single-threaded.
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "pgmux/sql/classify.hpp"

namespace pgmux::sql {

inline void PrintTo(Route route, std::ostream* os) { *os << to_string(route); }

namespace {

constexpr Route R = Route::kReplica;
constexpr Route P = Route::kPrimary;

struct TrapCase {
  const char* name;
  std::string_view sql;
  Route route;
  std::string_view reason;
};

void PrintTo(const TrapCase& c, std::ostream* os) { *os << c.sql; }

std::string case_name(const testing::TestParamInfo<TrapCase>& info) { return info.param.name; }

class ClassifyTrap : public testing::TestWithParam<TrapCase> {};

TEST_P(ClassifyTrap, Routes) {
  const TrapCase& c = GetParam();
  Classification result = classify(c.sql);
  EXPECT_EQ(result.route, c.route) << c.sql;
  EXPECT_EQ(result.reason, c.reason) << c.sql;
}

using namespace reason;

const TrapCase kHiddenKeywordsCases[] = {
    {"StringContainingInsert", "SELECT 'INSERT INTO t VALUES (1)'", R, kReadOnly},
    {"LineCommentContainingUpdate", "SELECT 1 -- UPDATE t SET a = 1", R, kReadOnly},
    {"BlockCommentContainingDelete", "SELECT /* DELETE FROM t */ 1", R, kReadOnly},
    {"NestedBlockComment", "SELECT /* a /* b */ ; DELETE FROM t */ 1", R, kReadOnly},
    {"DollarQuotedDelete", "SELECT $$DELETE FROM t$$", R, kReadOnly},
    {"TaggedDollarQuote", "SELECT $body$ DROP TABLE t; $$ x $$ $body$", R, kReadOnly},
    {"DollarStringContainingQuote", "SELECT $$it's$$", R, kReadOnly},
    {"QuotedIdentifierUpdate", "SELECT \"update\" FROM t", R, kReadOnly},
    {"QuotedIdentifierDoubledQuote", "SELECT \"a\"\"; DELETE FROM t; --\" FROM t", R, kReadOnly},
    {"StringDoubledQuote", "SELECT 'it''s; DELETE FROM t'", R, kReadOnly},
    {"EscapeStringBackslashQuote", R"(SELECT E'\'; DELETE FROM t; --')", R, kReadOnly},
    {"LowercaseEscapeString", R"(SELECT e'\\', 1)", R, kReadOnly},
    {"StandardStringBackslashIsLiteral", R"(SELECT 'a\'; DELETE FROM t)", P, kNotReadOnly},
    {"UnicodeString", R"(SELECT U&'d\0061t\+000061')", R, kReadOnly},
    {"UnicodeIdentifierTable", R"(SELECT * FROM U&"d\0061t")", R, kReadOnly},
    {"NationalString", "SELECT N'; DELETE'", R, kReadOnly},
    {"BitStrings", "SELECT B'1010', X'1F'", R, kReadOnly},
    {"SemicolonInString", "SELECT ';'", R, kReadOnly},
    {"ForUpdateInString", "SELECT 'FOR UPDATE'", R, kReadOnly},
    {"ForUpdateInComment", "SELECT 1 /* FOR UPDATE */", R, kReadOnly},
    {"QuotedForThenUpdate", "SELECT \"for\" \"update\" FROM t", R, kReadOnly},
    {"WithDeleteInString", "SELECT 'WITH x AS (DELETE FROM t) SELECT 1'", R, kReadOnly},
    {"DoubleDashInsideExpression", "SELECT 1--2\n, 3", R, kReadOnly},
    {"CommentStartAfterOperator", "SELECT 2*/*x*/3", R, kReadOnly},
    {"IdentifierWithDollar", "SELECT a$b FROM t", R, kReadOnly},
    {"IntoInString", "SELECT 'INTO x'", R, kReadOnly},
    {"QuotedInto", "SELECT \"into\" FROM t", R, kReadOnly},
    {"NextvalInString", "SELECT 'nextval(1)'", R, kReadOnly},
    {"NextvalInComment", "SELECT 1 /* nextval('s') */", R, kReadOnly},
    {"NextvalInDollarString", "SELECT $q$nextval('s')$q$", R, kReadOnly},
};
INSTANTIATE_TEST_SUITE_P(HiddenKeywords, ClassifyTrap, testing::ValuesIn(kHiddenKeywordsCases),
                         case_name);

const TrapCase kLockingCases[] = {
    {"ForUpdate", "SELECT * FROM t FOR UPDATE", P, kLockingClause},
    {"ForNoKeyUpdate", "SELECT * FROM t FOR NO KEY UPDATE", P, kLockingClause},
    {"ForShare", "SELECT * FROM t WHERE a = 1 FOR SHARE", P, kLockingClause},
    {"ForKeyShare", "SELECT * FROM t FOR KEY SHARE", P, kLockingClause},
    {"ForUpdateNowait", "SELECT * FROM t FOR UPDATE NOWAIT", P, kLockingClause},
    {"ForUpdateSkipLocked", "SELECT * FROM t LIMIT 1 FOR UPDATE SKIP LOCKED", P, kLockingClause},
    {"ForUpdateOf", "SELECT * FROM a JOIN b ON true FOR UPDATE OF a", P, kLockingClause},
    {"InFromSubquery", "SELECT * FROM (SELECT * FROM t FOR UPDATE) s", P, kLockingClause},
    {"InWhereSubquery", "SELECT * FROM t WHERE id IN (SELECT id FROM u FOR SHARE)", P,
     kLockingClause},
    {"Lowercase", "select * from t for update", P, kLockingClause},
    {"CommentBetweenWords", "SELECT * FROM t FOR /* lock */ UPDATE", P, kLockingClause},
    {"NewlineBetweenWords", "SELECT * FROM t FOR\nUPDATE", P, kLockingClause},
    {"InCteBody", "WITH x AS (SELECT * FROM t FOR UPDATE) SELECT * FROM x", P, kLockingClause},
    {"AfterParenthesizedUnion", "(SELECT 1 FROM t FOR SHARE)", P, kLockingClause},
};
INSTANTIATE_TEST_SUITE_P(Locking, ClassifyTrap, testing::ValuesIn(kLockingCases), case_name);

const TrapCase kSelectIntoCases[] = {
    {"SelectInto", "SELECT * INTO new_t FROM t", P, kSelectInto},
    {"SelectIntoTemp", "SELECT a INTO TEMP tmp FROM t", P, kSelectInto},
    {"Lowercase", "select a into t2 from t", P, kSelectInto},
    {"ValuesInsertSelectIsInsert", "INSERT INTO t SELECT 1", P, kNotReadOnly},
    {"WithSelectInto", "WITH x AS (SELECT 1) SELECT * INTO y FROM x", P, kSelectInto},
};
INSTANTIATE_TEST_SUITE_P(SelectInto, ClassifyTrap, testing::ValuesIn(kSelectIntoCases), case_name);

const TrapCase kWithCases[] = {
    {"ReadOnlyCte", "WITH x AS (SELECT 1) SELECT * FROM x", R, kReadOnly},
    {"Recursive",
     "WITH RECURSIVE t(n) AS (VALUES (1) UNION ALL SELECT n + 1 FROM t WHERE n < 10) "
     "SELECT sum(n) FROM t",
     R, kReadOnly},
    {"LowercaseRecursive", "with recursive t(n) as (select 1) select * from t", R, kReadOnly},
    {"MultipleCtes", "WITH a AS (SELECT 1), b AS (SELECT 2) SELECT * FROM a, b", R, kReadOnly},
    {"Materialized", "WITH a AS MATERIALIZED (SELECT 1) SELECT * FROM a", R, kReadOnly},
    {"NotMaterialized", "WITH a AS NOT MATERIALIZED (SELECT 1) SELECT * FROM a", R, kReadOnly},
    {"SearchClause",
     "WITH RECURSIVE t(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM t) "
     "SEARCH DEPTH FIRST BY id SET ord SELECT * FROM t ORDER BY ord",
     R, kReadOnly},
    {"CycleClause",
     "WITH RECURSIVE t(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM t) "
     "CYCLE id SET is_cycle USING path SELECT * FROM t",
     R, kReadOnly},
    {"CteNamedUpdate", "WITH \"update\" AS (SELECT 1) SELECT * FROM \"update\"", R, kReadOnly},
    {"ParenthesizedMainStatement", "WITH x AS (SELECT 1) (SELECT * FROM x)", R, kReadOnly},
    {"DeleteReturning", "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", P,
     kDataModifyingWith},
    {"Insert", "WITH x AS (INSERT INTO t VALUES (1) RETURNING id) SELECT * FROM x", P,
     kDataModifyingWith},
    {"Update", "WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM x", P, kDataModifyingWith},
    {"Merge", "WITH m AS (MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE) SELECT 1",
     P, kDataModifyingWith},
    {"SecondCteDeletes", "WITH a AS (SELECT 1), b AS (DELETE FROM t RETURNING id) SELECT * FROM a",
     P, kDataModifyingWith},
    {"ColumnListThenDelete", "WITH x(a) AS (DELETE FROM t RETURNING a) SELECT * FROM x", P,
     kDataModifyingWith},
    {"MaterializedDelete", "WITH x AS MATERIALIZED (DELETE FROM t RETURNING *) SELECT 1", P,
     kDataModifyingWith},
    {"LowercaseDelete", "with x as (delete from t returning *) select * from x", P,
     kDataModifyingWith},
    {"NestedInSubquery", "SELECT * FROM (WITH x AS (DELETE FROM t RETURNING *) SELECT 1) s", P,
     kDataModifyingWith},
    {"NestedInCteBody",
     "WITH a AS (WITH b AS (DELETE FROM t RETURNING *) SELECT * FROM b) SELECT * FROM a", P,
     kDataModifyingWith},
    {"ParenthesizedStatement", "(WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x)", P,
     kDataModifyingWith},
    {"CommentBeforeDelete", "WITH x AS (/* purge */ DELETE FROM t RETURNING *) SELECT 1", P,
     kDataModifyingWith},
    {"MainInsert", "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", P, kDataModifyingWith},
    {"MainUpdate", "WITH x AS (SELECT 1 AS id) UPDATE t SET a = 1 FROM x WHERE t.id = x.id", P,
     kDataModifyingWith},
    {"MainDelete", "WITH x AS (SELECT 1 AS id) DELETE FROM t USING x WHERE t.id = x.id", P,
     kDataModifyingWith},
    {"MainInsertAfterSearch",
     "WITH RECURSIVE t(id) AS (SELECT 1) SEARCH BREADTH FIRST BY id SET ord "
     "INSERT INTO u SELECT id FROM t",
     P, kDataModifyingWith},
    {"MainDeleteAfterCycle",
     "WITH RECURSIVE t(id) AS (SELECT 1) CYCLE id SET c TO true DEFAULT false USING p "
     "DELETE FROM u",
     P, kDataModifyingWith},
};
INSTANTIATE_TEST_SUITE_P(With, ClassifyTrap, testing::ValuesIn(kWithCases), case_name);

const TrapCase kExplainCases[] = {
    {"Select", "EXPLAIN SELECT * FROM t", R, kReadOnly},
    {"AnalyzeSelect", "EXPLAIN ANALYZE SELECT * FROM t", R, kReadOnly},
    {"AnalyzeVerboseSelect", "EXPLAIN ANALYZE VERBOSE SELECT 1", R, kReadOnly},
    {"OptionListSelect", "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT * FROM t", R, kReadOnly},
    {"Lowercase", "explain analyze select 1", R, kReadOnly},
    {"Values", "EXPLAIN VALUES (1)", R, kReadOnly},
    {"ReadOnlyWith", "EXPLAIN WITH x AS (SELECT 1) SELECT * FROM x", R, kReadOnly},
    {"ParenthesizedSelect", "EXPLAIN (COSTS off) (SELECT 1)", R, kReadOnly},
    {"AnalyzeDelete", "EXPLAIN ANALYZE DELETE FROM t", P, kExplainNonRead},
    {"OptionAnalyzeDelete", "EXPLAIN (ANALYZE) DELETE FROM t", P, kExplainNonRead},
    {"AnalyzeFalseInsert", "EXPLAIN (ANALYZE false) INSERT INTO t VALUES (1)", P, kExplainNonRead},
    {"Update", "EXPLAIN UPDATE t SET a = 1", P, kExplainNonRead},
    {"AnalyzeDataModifyingWith",
     "EXPLAIN ANALYZE WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", P,
     kDataModifyingWith},
    {"SelectForUpdate", "EXPLAIN SELECT * FROM t FOR UPDATE", P, kLockingClause},
    {"AnalyzeNextval", "EXPLAIN ANALYZE SELECT nextval('s')", P, kWriteFunction},
    {"AnalyzeCreateTableAs", "EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1", P, kExplainNonRead},
    {"Execute", "EXPLAIN EXECUTE s(1)", P, kExplainNonRead},
    {"UnterminatedOptionList", "EXPLAIN (ANALYZE", P, kExplainNonRead},
    {"Nothing", "EXPLAIN", P, kExplainNonRead},
};
INSTANTIATE_TEST_SUITE_P(Explain, ClassifyTrap, testing::ValuesIn(kExplainCases), case_name);

const TrapCase kWriteFunctionsCases[] = {
    {"Nextval", "SELECT nextval('s')", P, kWriteFunction},
    {"Setval", "SELECT setval('s', 10)", P, kWriteFunction},
    {"Currval", "SELECT currval('s')", P, kWriteFunction},
    {"Lastval", "SELECT lastval()", P, kWriteFunction},
    {"SchemaQualifiedSetval", "select pg_catalog.setval('s', 1)", P, kWriteFunction},
    {"SpacesAroundDotAndParen", "SELECT pg_catalog . nextval ('s')", P, kWriteFunction},
    {"QuotedNextval", "SELECT \"nextval\"('s')", P, kWriteFunction},
    {"QuotedSchemaAndName", "SELECT \"pg_catalog\".\"nextval\"('s')", P, kWriteFunction},
    {"UppercaseNextval", "SELECT NEXTVAL('s')", P, kWriteFunction},
    {"InWhere", "SELECT * FROM t WHERE id = nextval('s')", P, kWriteFunction},
    {"InValues", "VALUES (nextval('s'))", P, kWriteFunction},
    {"InScalarSubquery", "SELECT (SELECT nextval('s'))", P, kWriteFunction},
    {"InCteBody", "WITH x AS (SELECT nextval('s')) SELECT * FROM x", P, kWriteFunction},
    {"AsTableFunction", "SELECT * FROM nextval('s')", P, kWriteFunction},
    {"CommentBeforeParen", "SELECT nextval/* c */('s')", P, kWriteFunction},
    {"NestedInArgument", "SELECT coalesce(1, nextval('s'))", P, kWriteFunction},
    {"AdvisoryLock", "SELECT pg_advisory_lock(1)", P, kWriteFunction},
    {"AdvisoryXactLock", "SELECT pg_advisory_xact_lock(1)", P, kWriteFunction},
    {"AdvisoryLockShared", "SELECT pg_advisory_lock_shared(1)", P, kWriteFunction},
    {"AdvisoryUnlockAll", "SELECT pg_advisory_unlock_all()", P, kWriteFunction},
    {"TryAdvisoryLock", "SELECT pg_try_advisory_lock(1)", P, kWriteFunction},
    {"TryAdvisoryXactLockShared", "SELECT pg_try_advisory_xact_lock_shared(1, 2)", P,
     kWriteFunction},
    {"LoCreate", "SELECT lo_create(0)", P, kWriteFunction},
    {"LoImport", "SELECT lo_import('/tmp/f')", P, kWriteFunction},
    {"LoFromBytea", "SELECT lo_from_bytea(0, 'x')", P, kWriteFunction},
    {"SetConfig", "SELECT set_config('search_path', 'x', false)", P, kWriteFunction},
    {"PgNotify", "SELECT pg_notify('c', 'x')", P, kWriteFunction},
    {"TxidCurrent", "SELECT txid_current()", P, kWriteFunction},
    {"PgCurrentXactId", "SELECT pg_current_xact_id()", P, kWriteFunction},
    {"PgSwitchWal", "SELECT pg_switch_wal()", P, kWriteFunction},
    {"PgCreateRestorePoint", "SELECT pg_create_restore_point('x')", P, kWriteFunction},
    {"PgTerminateBackend", "SELECT pg_terminate_backend(42)", P, kWriteFunction},
    {"PgCancelBackend", "SELECT pg_cancel_backend(42)", P, kWriteFunction},
    {"PgReloadConf", "SELECT pg_reload_conf()", P, kWriteFunction},
    {"PgRotateLogfile", "SELECT pg_rotate_logfile()", P, kWriteFunction},
    {"PgStatReset", "SELECT pg_stat_reset()", P, kWriteFunction},
    {"PgStatResetSingleTable", "SELECT pg_stat_reset_single_table_counters(1)", P, kWriteFunction},
    {"DblinkExec", "SELECT dblink_exec('conn', 'DELETE FROM t')", P, kWriteFunction},
    {"UnicodeEscapedName", R"(SELECT U&"nextval"('s'))", P, kEscapedFunction},
};
INSTANTIATE_TEST_SUITE_P(WriteFunctions, ClassifyTrap, testing::ValuesIn(kWriteFunctionsCases),
                         case_name);

// Strict mode: any call not on the read-only list goes to the primary.
class ClassifyStrict : public testing::TestWithParam<TrapCase> {};

TEST_P(ClassifyStrict, Routes) {
  ClassifyOptions options;
  options.strict = true;
  const TrapCase& c = GetParam();
  Classification result = classify(c.sql, options);
  EXPECT_EQ(result.route, c.route) << c.sql;
  EXPECT_EQ(result.reason, c.reason) << c.sql;
}

const TrapCase kStrictCases[] = {
    {"AllowListedAggregates", "SELECT count(*), max(a) FROM t", R, kReadOnly},
    {"UnknownFunction", "SELECT my_func(1)", P, kUnlistedFunction},
    {"SchemaQualifiedAllowed", "SELECT pg_catalog.lower('A')", R, kReadOnly},
    {"UppercaseAllowed", "SELECT LOWER('A'), Now()", R, kReadOnly},
    {"CastModifiers", "SELECT x::numeric(10, 2), CAST(y AS varchar(5)) FROM t", R, kReadOnly},
    {"CharacterVarying", "SELECT x::character varying(10) FROM t", R, kReadOnly},
    {"AliasColumnList", "SELECT * FROM generate_series(1, 3) AS g(i)", R, kReadOnly},
    {"AliasColumnListWithoutAs", "SELECT * FROM generate_series(1, 3) g(i)", R, kReadOnly},
    {"CteColumnList", "WITH t(a, b) AS (SELECT 1, 2) SELECT * FROM t", R, kReadOnly},
    {"SyntaxKeywords",
     "SELECT * FROM t WHERE a IN (1, 2) AND EXISTS (SELECT 1) AND b = ANY (ARRAY[1])", R,
     kReadOnly},
    {"FunctionLikeSyntax",
     "SELECT COALESCE(a, 0), EXTRACT(YEAR FROM now()), NULLIF(a, b), GREATEST(1, 2) FROM t", R,
     kReadOnly},
    {"FilterAndOver", "SELECT count(*) FILTER (WHERE a) OVER (PARTITION BY b) FROM t", R,
     kReadOnly},
    {"WithinGroup", "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY a) FROM t", R, kReadOnly},
    {"GroupByRollup", "SELECT a, sum(b) FROM t GROUP BY ROLLUP (a)", R, kReadOnly},
    {"JoinUsing", "SELECT * FROM a JOIN b USING (id)", R, kReadOnly},
    {"Values", "VALUES (1), (2)", R, kReadOnly},
    {"TableSample", "SELECT * FROM t TABLESAMPLE SYSTEM (10)", R, kReadOnly},
    {"ArrayAndRowConstructors", "SELECT ARRAY(SELECT 1), ROW(1, 2)", R, kReadOnly},
    {"IntervalLiteral", "SELECT now() - interval '1 day'", R, kReadOnly},
    {"Show", "SHOW work_mem", R, kReadOnly},
    {"QuotedLowercaseAllowed", "SELECT \"lower\"('A')", R, kReadOnly},
    {"QuotedUppercaseNotAllowed", "SELECT \"LOWER\"('A')", P, kUnlistedFunction},
    {"UnknownInSubquery", "SELECT * FROM (SELECT f(1)) s", P, kUnlistedFunction},
    {"UnknownInExplainAnalyze", "EXPLAIN ANALYZE SELECT my_func()", P, kUnlistedFunction},
    {"UnknownThenWriteReportsWrite", "SELECT my_func(); DELETE FROM t", P, kNotReadOnly},
    {"WriteFunctionStillWrite", "SELECT nextval('s')", P, kWriteFunction},
    {"UnicodeEscapedName", R"(SELECT U&"lower"('x'))", P, kEscapedFunction},
    {"ReplicaHintOverridesUnlisted", "/* pgmux:replica */ SELECT my_func(1)", R, kHintReplica},
    {"ReplicaHintKeepsWriteFunction", "/* pgmux:replica */ SELECT nextval('s')", P, kWriteFunction},
    {"ReplicaHintKeepsLockingClause", "/* pgmux:replica */ SELECT my_func(1) FROM t FOR UPDATE", P,
     kLockingClause},
    {"PrimaryHintOnAllowListed", "/* pgmux:primary */ SELECT count(*) FROM t", P, kHintPrimary},
};
INSTANTIATE_TEST_SUITE_P(Strict, ClassifyStrict, testing::ValuesIn(kStrictCases), case_name);

TEST(ClassifyStrictOptions, CustomReadOnlyPattern) {
  ClassifyOptions options;
  options.strict = true;
  options.read_only_functions = {"report_*"};
  EXPECT_EQ(classify("SELECT report_daily(1)", options).route, R);
  EXPECT_EQ(classify("SELECT count(*) FROM t", options).route, P);
}

TEST(ClassifyStrictOptions, EmptyWriteListLetsNextvalThrough) {
  ClassifyOptions options;
  options.write_functions.clear();
  EXPECT_EQ(classify("SELECT nextval('s')", options).route, R);
}

TEST(ClassifyStrictOptions, CustomWriteFunction) {
  ClassifyOptions options;
  options.write_functions.push_back("audit_*");
  Classification result = classify("SELECT app.audit_touch(1)", options);
  EXPECT_EQ(result.route, P);
  EXPECT_EQ(result.reason, kWriteFunction);
}

TEST(ClassifyStrictOptions, NonStandardStringsFollowTheServer) {
  ClassifyOptions options;
  options.standard_conforming_strings = false;
  // With backslash escapes, the DELETE is inside the string.
  EXPECT_EQ(classify(R"(SELECT 'a\'; DELETE FROM t; --')", options).route, R);
  // And a string that ends in a backslash-quote no longer hides what follows.
  EXPECT_EQ(classify(R"(SELECT 'a\''; DELETE FROM t; --')", options).route, P);
}

}  // namespace
}  // namespace pgmux::sql
