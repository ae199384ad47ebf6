// Tests for the wire encoding of admin console tables: the bytes are decoded back
// message by message. Single-threaded.
#include "pgmux/admin/table.hpp"

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "pgmux/protocol/messages.hpp"
#include "pgmux/util/bytes.hpp"

namespace pgmux::admin {
namespace {

struct Message {
  char type = 0;
  std::string body;
};

// Splits `bytes` into typed messages; fails the test on a bad length.
std::vector<Message> split(const std::string& bytes) {
  std::vector<Message> out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    EXPECT_LE(pos + 5, bytes.size());
    if (pos + 5 > bytes.size()) break;
    uint32_t len = util::load_be32(bytes.data() + pos + 1);
    EXPECT_GE(len, 4u);
    EXPECT_LE(pos + 1 + len, bytes.size());
    if (len < 4 || pos + 1 + len > bytes.size()) break;
    out.push_back({bytes[pos], bytes.substr(pos + 5, len - 4)});
    pos += 1 + len;
  }
  return out;
}

struct Field {
  std::string name;
  int32_t table_oid, type_oid, typmod;
  int16_t attnum, typlen, format;
};

std::vector<Field> parse_row_description(const std::string& body) {
  util::ByteReader r(body);
  int16_t n = 0;
  EXPECT_TRUE(r.read_i16(n));
  std::vector<Field> out;
  for (int16_t i = 0; i < n; ++i) {
    Field f;
    std::string_view name;
    bool ok = r.read_cstring(name) && r.read_i32(f.table_oid) && r.read_i16(f.attnum) &&
              r.read_i32(f.type_oid) && r.read_i16(f.typlen) && r.read_i32(f.typmod) &&
              r.read_i16(f.format);
    EXPECT_TRUE(ok) << "field " << i;
    f.name = std::string(name);
    out.push_back(f);
  }
  EXPECT_TRUE(r.empty());
  return out;
}

Table sample_table() {
  Table t;
  t.columns = {{"name", kTextOid},
               {"count", kInt8Oid},
               {"port", kInt4Oid},
               {"ratio", kFloat8Oid},
               {"ok", kBoolOid}};
  t.rows.push_back({"alpha", "42", "5432", "0.5", "t"});
  t.rows.push_back({std::nullopt, "0", "", "1e-05", "f"});
  return t;
}

TEST(WriteTable, MessageSequence) {
  std::string out;
  write_table(out, sample_table());
  std::vector<Message> messages = split(out);
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[0].type, 'T');
  EXPECT_EQ(messages[1].type, 'D');
  EXPECT_EQ(messages[2].type, 'D');
  EXPECT_EQ(messages[3].type, 'C');
  EXPECT_EQ(messages[3].body, std::string("SHOW\0", 5));
}

TEST(WriteTable, RowDescriptionFields) {
  std::string out;
  write_table(out, sample_table());
  std::vector<Field> fields = parse_row_description(split(out).at(0).body);
  ASSERT_EQ(fields.size(), 5u);
  const std::vector<std::tuple<std::string, int32_t, int16_t>> expected = {
      {"name", 25, -1}, {"count", 20, 8}, {"port", 23, 4}, {"ratio", 701, 8}, {"ok", 16, 1}};
  for (size_t i = 0; i < fields.size(); ++i) {
    EXPECT_EQ(fields[i].name, std::get<0>(expected[i]));
    EXPECT_EQ(fields[i].type_oid, std::get<1>(expected[i])) << fields[i].name;
    EXPECT_EQ(fields[i].typlen, std::get<2>(expected[i])) << fields[i].name;
    EXPECT_EQ(fields[i].table_oid, 0);
    EXPECT_EQ(fields[i].attnum, 0);
    EXPECT_EQ(fields[i].typmod, -1);
    EXPECT_EQ(fields[i].format, 0);
  }
}

TEST(WriteTable, DataRowsRoundTripWithNull) {
  std::string out;
  write_table(out, sample_table());
  std::vector<Message> messages = split(out);
  ASSERT_EQ(messages.size(), 4u);
  auto first = protocol::parse_data_row(messages[1].body);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 5u);
  EXPECT_EQ((*first)[0], std::optional<std::string_view>("alpha"));
  EXPECT_EQ((*first)[3], std::optional<std::string_view>("0.5"));
  auto second = protocol::parse_data_row(messages[2].body);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->size(), 5u);
  EXPECT_FALSE((*second)[0].has_value());
  ASSERT_TRUE((*second)[2].has_value());
  EXPECT_EQ(*(*second)[2], "");  // empty string, not NULL
}

TEST(WriteTable, NoRows) {
  Table t;
  t.columns = {{"version", kTextOid}};
  std::string out;
  write_table(out, t);
  std::vector<Message> messages = split(out);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].type, 'T');
  EXPECT_EQ(messages[1].type, 'C');
}

TEST(WriteTable, AppendsToExistingOutput) {
  std::string out = "prefix";
  write_table(out, sample_table());
  EXPECT_EQ(out.substr(0, 6), "prefix");
  EXPECT_EQ(split(out.substr(6)).size(), 4u);
}

TEST(TypeLength, UnknownOidIsVariable) { EXPECT_EQ(type_length(1043), -1); }

}  // namespace
}  // namespace pgmux::admin
