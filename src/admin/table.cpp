// Wire encoding of admin console result tables. Pure; thread-safe.
#include "pgmux/admin/table.hpp"

#include <string_view>

#include "pgmux/protocol/messages.hpp"
#include "pgmux/util/bytes.hpp"

namespace pgmux::admin {
namespace {

constexpr char kRowDescription = 'T';

void write_row_description(std::string& out, const std::vector<Column>& columns) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(kRowDescription);
  w.i16(static_cast<int16_t>(columns.size()));
  for (const Column& c : columns) {
    w.cstring(c.name);
    w.i32(0);  // table oid: not a table column
    w.i16(0);  // attribute number
    w.u32(c.type_oid);
    w.i16(type_length(c.type_oid));
    w.i32(-1);  // type modifier
    w.i16(0);   // format: text
  }
  w.end_message(at);
}

}  // namespace

int16_t type_length(uint32_t type_oid) {
  switch (type_oid) {
    case kInt8Oid:
    case kFloat8Oid:
      return 8;
    case kInt4Oid:
      return 4;
    case kBoolOid:
      return 1;
    default:
      return -1;
  }
}

void write_table(std::string& out, const Table& table) {
  write_row_description(out, table.columns);
  std::vector<std::optional<std::string_view>> values;
  for (const auto& row : table.rows) {
    values.assign(row.begin(), row.end());
    protocol::write_data_row(out, values);
  }
  protocol::write_command_complete(out, "SHOW");
}

}  // namespace pgmux::admin
