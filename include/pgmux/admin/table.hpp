// A result table of the admin console and its encoding as RowDescription, DataRows and
// CommandComplete. Plain values and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgmux::admin {

// PostgreSQL type oids the console uses (pg_type.oid).
inline constexpr uint32_t kBoolOid = 16;
inline constexpr uint32_t kInt8Oid = 20;
inline constexpr uint32_t kInt4Oid = 23;
inline constexpr uint32_t kTextOid = 25;
inline constexpr uint32_t kFloat8Oid = 701;

struct Column {
  std::string name;
  uint32_t type_oid = kTextOid;
};

// Every row has one value per column, in text format; std::nullopt is SQL NULL.
struct Table {
  std::vector<Column> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

// pg_type.typlen of a console type: 8, 4, 8, 1, or -1 (variable) for text and others.
int16_t type_length(uint32_t type_oid);

// Appends RowDescription (type oid and typlen of each column, format text), one
// DataRow per row and CommandComplete "SHOW" to `out`.
void write_table(std::string& out, const Table& table);

}  // namespace pgmux::admin
