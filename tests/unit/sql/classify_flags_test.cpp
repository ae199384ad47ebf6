// Tests for what classify() reports besides the route: transaction and SET flags, the
// first keyword, statement counts and hints; and for the function-list helpers.
// Single-threaded.
#include <string>

#include <gtest/gtest.h>

#include "pgmux/sql/classify.hpp"

namespace pgmux::sql {
namespace {

// ---- BEGIN / START TRANSACTION ----

TEST(TransactionFlags, Begin) {
  Classification c = classify("BEGIN");
  EXPECT_TRUE(c.begins_transaction);
  EXPECT_FALSE(c.begin_read_only);
  EXPECT_FALSE(c.ends_transaction);
}

TEST(TransactionFlags, BeginWork) { EXPECT_TRUE(classify("begin work").begins_transaction); }

TEST(TransactionFlags, BeginTransaction) {
  EXPECT_TRUE(classify("BEGIN TRANSACTION;").begins_transaction);
}

TEST(TransactionFlags, BeginReadOnly) {
  Classification c = classify("BEGIN READ ONLY");
  EXPECT_TRUE(c.begins_transaction);
  EXPECT_TRUE(c.begin_read_only);
}

TEST(TransactionFlags, BeginIsolationSerializableReadOnly) {
  Classification c = classify("BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE");
  EXPECT_TRUE(c.begins_transaction);
  EXPECT_TRUE(c.begin_read_only);
}

TEST(TransactionFlags, BeginIsolationReadCommittedIsNotReadOnly) {
  Classification c = classify("BEGIN ISOLATION LEVEL READ COMMITTED");
  EXPECT_TRUE(c.begins_transaction);
  EXPECT_FALSE(c.begin_read_only);
}

TEST(TransactionFlags, BeginReadWrite) {
  Classification c = classify("BEGIN READ WRITE");
  EXPECT_TRUE(c.begins_transaction);
  EXPECT_FALSE(c.begin_read_only);
}

TEST(TransactionFlags, StartTransactionReadWrite) {
  Classification c = classify("START TRANSACTION READ WRITE");
  EXPECT_TRUE(c.begins_transaction);
  EXPECT_FALSE(c.begin_read_only);
  EXPECT_EQ(c.route, Route::kPrimary);
}

TEST(TransactionFlags, StartTransactionReadOnlyCommaList) {
  Classification c = classify("start transaction isolation level repeatable read, read only");
  EXPECT_TRUE(c.begins_transaction);
  EXPECT_TRUE(c.begin_read_only);
}

TEST(TransactionFlags, StartWithoutTransactionDoesNotBegin) {
  EXPECT_FALSE(classify("START foo").begins_transaction);
}

TEST(TransactionFlags, BeginInStringDoesNotBegin) {
  EXPECT_FALSE(classify("SELECT 'BEGIN'").begins_transaction);
}

TEST(TransactionFlags, BeginInsideDoBodyDoesNotBegin) {
  EXPECT_FALSE(classify("DO $$ BEGIN NULL; END $$").begins_transaction);
  EXPECT_FALSE(classify("DO $$ BEGIN NULL; END $$").ends_transaction);
}

// ---- COMMIT / ROLLBACK / ... ----

TEST(TransactionFlags, Commit) {
  Classification c = classify("COMMIT");
  EXPECT_TRUE(c.ends_transaction);
  EXPECT_FALSE(c.begins_transaction);
}

TEST(TransactionFlags, CommitWork) { EXPECT_TRUE(classify("commit work").ends_transaction); }
TEST(TransactionFlags, End) { EXPECT_TRUE(classify("END").ends_transaction); }
TEST(TransactionFlags, EndTransaction) {
  EXPECT_TRUE(classify("END TRANSACTION").ends_transaction);
}
TEST(TransactionFlags, Rollback) { EXPECT_TRUE(classify("ROLLBACK").ends_transaction); }
TEST(TransactionFlags, Abort) { EXPECT_TRUE(classify("abort").ends_transaction); }
TEST(TransactionFlags, RollbackTransaction) {
  EXPECT_TRUE(classify("ROLLBACK TRANSACTION").ends_transaction);
}

TEST(TransactionFlags, RollbackToSavepointDoesNotEnd) {
  EXPECT_FALSE(classify("ROLLBACK TO SAVEPOINT a").ends_transaction);
}

TEST(TransactionFlags, RollbackWorkToSavepointDoesNotEnd) {
  EXPECT_FALSE(classify("ROLLBACK WORK TO SAVEPOINT a").ends_transaction);
}

TEST(TransactionFlags, RollbackToNameDoesNotEnd) {
  EXPECT_FALSE(classify("rollback to a").ends_transaction);
}

TEST(TransactionFlags, CommitPreparedDoesNotEnd) {
  EXPECT_FALSE(classify("COMMIT PREPARED 'x'").ends_transaction);
}

TEST(TransactionFlags, RollbackPreparedDoesNotEnd) {
  EXPECT_FALSE(classify("ROLLBACK PREPARED 'x'").ends_transaction);
}

TEST(TransactionFlags, PrepareTransactionEnds) {
  Classification c = classify("PREPARE TRANSACTION 'gid'");
  EXPECT_TRUE(c.ends_transaction);
  EXPECT_EQ(c.first_keyword(), "PREPARE");
}

TEST(TransactionFlags, PrepareStatementDoesNotEnd) {
  EXPECT_FALSE(classify("PREPARE s AS SELECT 1").ends_transaction);
}

TEST(TransactionFlags, CommitAndChainEndsAndBegins) {
  Classification c = classify("COMMIT AND CHAIN");
  EXPECT_TRUE(c.ends_transaction);
  EXPECT_TRUE(c.begins_transaction);
}

TEST(TransactionFlags, RollbackAndNoChainOnlyEnds) {
  Classification c = classify("ROLLBACK AND NO CHAIN");
  EXPECT_TRUE(c.ends_transaction);
  EXPECT_FALSE(c.begins_transaction);
}

TEST(TransactionFlags, FlagsCombineAcrossStatements) {
  Classification c = classify("BEGIN; SET TRANSACTION READ ONLY; SELECT 1; COMMIT");
  EXPECT_TRUE(c.begins_transaction);
  EXPECT_TRUE(c.ends_transaction);
  EXPECT_TRUE(c.set_transaction_read_only);
  EXPECT_TRUE(c.is_set);
  EXPECT_EQ(c.statement_count, 4);
  EXPECT_EQ(c.first_keyword(), "BEGIN");
}

// ---- SET ----

TEST(SetFlags, SetTransactionReadOnly) {
  Classification c = classify("SET TRANSACTION READ ONLY");
  EXPECT_TRUE(c.set_transaction_read_only);
  EXPECT_TRUE(c.is_set);
  EXPECT_FALSE(c.sets_default_read_only);
  EXPECT_EQ(c.reason, reason::kSet);
}

TEST(SetFlags, SetTransactionIsolationThenReadOnly) {
  EXPECT_TRUE(classify("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY")
                  .set_transaction_read_only);
}

TEST(SetFlags, SetTransactionReadWrite) {
  EXPECT_FALSE(classify("SET TRANSACTION READ WRITE").set_transaction_read_only);
}

TEST(SetFlags, SetLocalTransactionReadOnly) {
  EXPECT_TRUE(classify("SET LOCAL TRANSACTION READ ONLY").set_transaction_read_only);
}

TEST(SetFlags, SetSessionCharacteristicsReadOnly) {
  Classification c = classify("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
  EXPECT_TRUE(c.set_transaction_read_only);
  EXPECT_TRUE(c.is_set);
}

TEST(SetFlags, SetSessionCharacteristicsReadWrite) {
  EXPECT_FALSE(
      classify("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE").set_transaction_read_only);
}

TEST(SetFlags, SetTransactionReadOnlySetting) {
  EXPECT_TRUE(classify("SET transaction_read_only = on").set_transaction_read_only);
}

TEST(SetFlags, DefaultReadOnlyOn) {
  Classification c = classify("SET default_transaction_read_only = on");
  EXPECT_TRUE(c.sets_default_read_only);
  EXPECT_FALSE(c.set_transaction_read_only);
}

TEST(SetFlags, DefaultReadOnlyTrue) {
  EXPECT_TRUE(classify("SET default_transaction_read_only = true").sets_default_read_only);
}

TEST(SetFlags, DefaultReadOnlyOne) {
  EXPECT_TRUE(classify("SET default_transaction_read_only = 1").sets_default_read_only);
}

TEST(SetFlags, DefaultReadOnlyYes) {
  EXPECT_TRUE(classify("SET default_transaction_read_only TO yes").sets_default_read_only);
}

TEST(SetFlags, DefaultReadOnlyQuotedOn) {
  EXPECT_TRUE(classify("SET default_transaction_read_only = 'on'").sets_default_read_only);
}

TEST(SetFlags, DefaultReadOnlyPrefixT) {
  EXPECT_TRUE(classify("SET default_transaction_read_only = 't'").sets_default_read_only);
}

TEST(SetFlags, DefaultReadOnlyUppercase) {
  EXPECT_TRUE(classify("SET DEFAULT_TRANSACTION_READ_ONLY TO ON").sets_default_read_only);
}

TEST(SetFlags, DefaultReadOnlySession) {
  EXPECT_TRUE(classify("SET SESSION default_transaction_read_only = on").sets_default_read_only);
}

TEST(SetFlags, DefaultReadOnlyLocal) {
  EXPECT_TRUE(classify("SET LOCAL default_transaction_read_only = on").sets_default_read_only);
}

TEST(SetFlags, DefaultReadOnlyOff) {
  Classification c = classify("SET default_transaction_read_only = off");
  EXPECT_FALSE(c.sets_default_read_only);
  EXPECT_TRUE(c.is_set);
}

TEST(SetFlags, DefaultReadOnlyFalse) {
  EXPECT_FALSE(classify("SET default_transaction_read_only = false").sets_default_read_only);
}

TEST(SetFlags, DefaultReadOnlyZero) {
  EXPECT_FALSE(classify("SET default_transaction_read_only = 0").sets_default_read_only);
}

TEST(SetFlags, DefaultReadOnlyToDefault) {
  EXPECT_FALSE(classify("SET default_transaction_read_only TO DEFAULT").sets_default_read_only);
}

TEST(SetFlags, DefaultReadOnlyWithoutValue) {
  EXPECT_FALSE(classify("SET default_transaction_read_only").sets_default_read_only);
}

TEST(SetFlags, OtherSettingIsSet) {
  Classification c = classify("SET search_path = public");
  EXPECT_TRUE(c.is_set);
  EXPECT_FALSE(c.sets_default_read_only);
  EXPECT_FALSE(c.set_transaction_read_only);
  EXPECT_EQ(c.first_keyword(), "SET");
}

TEST(SetFlags, ResetIsSet) {
  Classification c = classify("reset statement_timeout");
  EXPECT_TRUE(c.is_set);
  EXPECT_EQ(c.first_keyword(), "RESET");
}

TEST(SetFlags, SelectIsNotSet) { EXPECT_FALSE(classify("SELECT 1").is_set); }

TEST(SetFlags, SetConfigCallIsNotSetStatement) {
  Classification c = classify("SELECT set_config('x', 'y', false)");
  EXPECT_FALSE(c.is_set);
  EXPECT_EQ(c.route, Route::kPrimary);
}

// ---- first keyword, statement count, hint ----

TEST(FirstKeyword, Uppercased) { EXPECT_EQ(classify("select 1").first_keyword(), "SELECT"); }

TEST(FirstKeyword, AfterLeadingParentheses) {
  EXPECT_EQ(classify("((select 1))").first_keyword(), "SELECT");
}

TEST(FirstKeyword, AfterLeadingComment) {
  EXPECT_EQ(classify("/* pgmux:primary */ listen chan").first_keyword(), "LISTEN");
}

TEST(FirstKeyword, OnlyFirstStatementCounts) {
  EXPECT_EQ(classify("; DEALLOCATE s; SELECT 1").first_keyword(), "DEALLOCATE");
}

TEST(FirstKeyword, EmptyWhenStatementStartsWithNumber) {
  EXPECT_EQ(classify("1; SELECT 1").first_keyword(), "");
}

TEST(FirstKeyword, EmptyForEmptyText) { EXPECT_EQ(classify("").first_keyword(), ""); }

TEST(FirstKeyword, EmptyWhenQuoted) { EXPECT_EQ(classify("\"select\" 1").first_keyword(), ""); }

TEST(FirstKeyword, LongIdentifierIsCut) {
  std::string word(100, 'x');
  Classification c = classify(word);
  EXPECT_EQ(c.first_keyword(), std::string(Classification::kMaxKeywordSize, 'X'));
}

TEST(FirstKeyword, SurvivesCopy) {
  Classification copy;
  {
    std::string sql = "discard all";
    copy = classify(sql);
  }
  EXPECT_EQ(copy.first_keyword(), "DISCARD");
}

TEST(FirstKeyword, ExplainIsFirst) {
  EXPECT_EQ(classify("EXPLAIN SELECT 1").first_keyword(), "EXPLAIN");
}

TEST(StatementCount, CountsNonEmptyStatements) {
  EXPECT_EQ(classify("SELECT 1; SELECT 2;").statement_count, 2);
}

TEST(StatementCount, EmptyStatementsNotCounted) {
  EXPECT_EQ(classify(";;SELECT 1;;").statement_count, 1);
  EXPECT_EQ(classify(";;").statement_count, 0);
}

TEST(StatementCount, SemicolonInsideStringDoesNotSplit) {
  EXPECT_EQ(classify("SELECT ';'; SELECT $$;$$").statement_count, 2);
}

TEST(StatementCount, CountsStatementsAfterWrites) {
  EXPECT_EQ(classify("DELETE FROM t; SELECT nextval('s'); SELECT 1").statement_count, 3);
}

TEST(StatementCount, StopsAtLexError) {
  Classification c = classify("SELECT 1; SELECT 'x; SELECT 3");
  EXPECT_EQ(c.statement_count, 2);
  EXPECT_EQ(c.reason, reason::kLexError);
}

TEST(HintField, Primary) {
  EXPECT_EQ(classify("/* pgmux:primary */ SELECT 1").hint, Hint::kPrimary);
}

TEST(HintField, Replica) {
  EXPECT_EQ(classify("-- pgmux:replica\nDELETE FROM t").hint, Hint::kReplica);
}

TEST(HintField, NoneWithoutComment) { EXPECT_EQ(classify("SELECT 1").hint, Hint::kNone); }

TEST(HintField, ParseHintTrimsBlanks) {
  EXPECT_EQ(parse_hint("/*\n\tpgmux:replica \n*/SELECT 1"), Hint::kReplica);
}

TEST(HintField, ParseHintSkipsEmptyComment) {
  EXPECT_EQ(parse_hint("/**/ /* pgmux:primary */ SELECT 1"), Hint::kPrimary);
}

TEST(HintField, ToString) {
  EXPECT_EQ(to_string(Hint::kNone), "none");
  EXPECT_EQ(to_string(Hint::kPrimary), "primary");
  EXPECT_EQ(to_string(Hint::kReplica), "replica");
  EXPECT_EQ(to_string(Route::kReplica), "replica");
  EXPECT_EQ(to_string(Route::kPrimary), "primary");
}

// ---- function lists ----

TEST(FunctionLists, EveryDocumentedWriteFunctionMatches) {
  ClassifyOptions options;
  for (std::string_view name : {"nextval",
                                "setval",
                                "currval",
                                "lastval",
                                "pg_advisory_lock",
                                "pg_advisory_xact_lock",
                                "pg_advisory_lock_shared",
                                "pg_advisory_unlock",
                                "pg_advisory_unlock_all",
                                "pg_advisory_xact_lock_shared",
                                "pg_try_advisory_lock",
                                "pg_try_advisory_xact_lock",
                                "pg_try_advisory_lock_shared",
                                "lo_create",
                                "lo_import",
                                "lo_export",
                                "lo_unlink",
                                "lo_open",
                                "lo_write",
                                "lo_put",
                                "lo_truncate",
                                "lo_from_bytea",
                                "set_config",
                                "pg_notify",
                                "txid_current",
                                "pg_current_xact_id",
                                "pg_switch_wal",
                                "pg_create_restore_point",
                                "pg_terminate_backend",
                                "pg_cancel_backend",
                                "pg_reload_conf",
                                "pg_rotate_logfile",
                                "pg_stat_reset",
                                "pg_stat_reset_shared",
                                "dblink_exec"}) {
    EXPECT_TRUE(is_write_function(name, options)) << name;
  }
}

TEST(FunctionLists, WriteMatchIgnoresCase) {
  EXPECT_TRUE(is_write_function("NextVal", ClassifyOptions()));
}

TEST(FunctionLists, ReadFunctionsAreNotWrites) {
  ClassifyOptions options;
  for (std::string_view name : {"lower", "log", "count", "now", "pg_is_in_recovery", "length",
                                "nextval_x", "my_nextval", "pg_advisory", "lo", "pg_stat_get"}) {
    EXPECT_FALSE(is_write_function(name, options)) << name;
  }
}

TEST(FunctionLists, DefaultReadOnlyListHasCommonBuiltins) {
  ClassifyOptions options;
  for (std::string_view name : {"count",
                                "sum",
                                "avg",
                                "min",
                                "max",
                                "now",
                                "coalesce",
                                "lower",
                                "upper",
                                "length",
                                "substr",
                                "abs",
                                "round",
                                "to_char",
                                "date_trunc",
                                "array_agg",
                                "string_agg",
                                "json_build_object",
                                "jsonb_build_object",
                                "pg_is_in_recovery",
                                "version",
                                "current_setting"}) {
    EXPECT_TRUE(is_read_only_function(name, options)) << name;
  }
  EXPECT_FALSE(is_read_only_function("nextval", options));
}

TEST(FunctionLists, DefaultsAreExposed) {
  EXPECT_EQ(ClassifyOptions().write_functions.size(), default_write_functions().size());
  EXPECT_EQ(ClassifyOptions().read_only_functions.size(), default_read_only_functions().size());
  EXPECT_FALSE(ClassifyOptions().strict);
}

TEST(FunctionLists, CallSyntaxKeywords) {
  for (std::string_view word :
       {"IN", "in", "Exists", "OVER", "values", "AS", "XMLPI", "ZONE", "ALL", "cast", "varying"}) {
    EXPECT_TRUE(is_call_syntax_keyword(word)) << word;
  }
  for (std::string_view word : {"", "nextval", "A", "ZZZ", "INTO", "my_func", "ALLX"}) {
    EXPECT_FALSE(is_call_syntax_keyword(word)) << word;
  }
}

TEST(GlobMatch, ExactAndCase) {
  EXPECT_TRUE(glob_match_ci("nextval", "NEXTVAL"));
  EXPECT_FALSE(glob_match_ci("nextval", "nextvals"));
  EXPECT_FALSE(glob_match_ci("nextval", "nextva"));
}

TEST(GlobMatch, Stars) {
  EXPECT_TRUE(glob_match_ci("lo_*", "lo_"));
  EXPECT_TRUE(glob_match_ci("lo_*", "lo_import"));
  EXPECT_FALSE(glob_match_ci("lo_*", "lower"));
  EXPECT_TRUE(glob_match_ci("*_lock", "pg_lock"));
  EXPECT_TRUE(glob_match_ci("pg_advisory_*lock*", "pg_advisory_xact_lock_shared"));
  EXPECT_FALSE(glob_match_ci("pg_advisory_*lock*", "pg_advisory_xact"));
  EXPECT_TRUE(glob_match_ci("a*b*c", "axxbyybzc"));
  EXPECT_FALSE(glob_match_ci("a*b*c", "axxbyy"));
  EXPECT_TRUE(glob_match_ci("*", ""));
  EXPECT_TRUE(glob_match_ci("**", "x"));
}

TEST(GlobMatch, EmptyPattern) {
  EXPECT_TRUE(glob_match_ci("", ""));
  EXPECT_FALSE(glob_match_ci("", "x"));
}

}  // namespace
}  // namespace pgmux::sql
