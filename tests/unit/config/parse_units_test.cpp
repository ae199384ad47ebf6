// Unit tests for parse_duration and parse_size: accepted spellings, units, and one
// test per malformed input.
#include <gtest/gtest.h>

#include "pgmux/config/config.hpp"

namespace pgmux::config {
namespace {

using namespace std::chrono_literals;

TEST(ParseDurationTest, Milliseconds) { EXPECT_EQ(parse_duration("250ms"), Duration(250ms)); }
TEST(ParseDurationTest, Seconds) { EXPECT_EQ(parse_duration("5s"), Duration(5s)); }
TEST(ParseDurationTest, Minutes) { EXPECT_EQ(parse_duration("2m"), Duration(2min)); }
TEST(ParseDurationTest, Hours) { EXPECT_EQ(parse_duration("1h"), Duration(1h)); }
TEST(ParseDurationTest, Days) { EXPECT_EQ(parse_duration("1d"), Duration(24h)); }
TEST(ParseDurationTest, BareNumberIsSeconds) { EXPECT_EQ(parse_duration("15"), Duration(15s)); }
TEST(ParseDurationTest, Zero) { EXPECT_EQ(parse_duration("0"), Duration(0)); }
TEST(ParseDurationTest, SpacesAroundAndBeforeUnit) {
  EXPECT_EQ(parse_duration(" 30 s "), Duration(30s));
}

TEST(ParseDurationTest, Empty) { EXPECT_EQ(parse_duration(""), std::nullopt); }
TEST(ParseDurationTest, UnitWithoutNumber) { EXPECT_EQ(parse_duration("ms"), std::nullopt); }
TEST(ParseDurationTest, UnknownUnit) { EXPECT_EQ(parse_duration("5w"), std::nullopt); }
TEST(ParseDurationTest, UppercaseUnit) { EXPECT_EQ(parse_duration("5S"), std::nullopt); }
TEST(ParseDurationTest, Negative) { EXPECT_EQ(parse_duration("-5s"), std::nullopt); }
TEST(ParseDurationTest, PlusSign) { EXPECT_EQ(parse_duration("+5s"), std::nullopt); }
TEST(ParseDurationTest, Fraction) { EXPECT_EQ(parse_duration("1.5s"), std::nullopt); }
TEST(ParseDurationTest, TwoUnits) { EXPECT_EQ(parse_duration("1h30m"), std::nullopt); }
TEST(ParseDurationTest, Overflow) {
  EXPECT_EQ(parse_duration("9223372036854775807d"), std::nullopt);
  EXPECT_EQ(parse_duration("99999999999999999999999"), std::nullopt);
}

TEST(ParseSizeTest, Bytes) { EXPECT_EQ(parse_size("1024"), 1024u); }
TEST(ParseSizeTest, BytesWithUnit) { EXPECT_EQ(parse_size("100B"), 100u); }
TEST(ParseSizeTest, Kilobytes) { EXPECT_EQ(parse_size("64kB"), 64u << 10); }
TEST(ParseSizeTest, Megabytes) { EXPECT_EQ(parse_size("16MB"), 16u << 20); }
TEST(ParseSizeTest, Gigabytes) { EXPECT_EQ(parse_size("1GB"), 1u << 30); }
TEST(ParseSizeTest, Terabytes) { EXPECT_EQ(parse_size("2TB"), 2ull << 40); }
TEST(ParseSizeTest, SpaceBeforeUnit) { EXPECT_EQ(parse_size(" 8 MB "), 8u << 20); }

TEST(ParseSizeTest, Empty) { EXPECT_EQ(parse_size(""), std::nullopt); }
TEST(ParseSizeTest, UnitWithoutNumber) { EXPECT_EQ(parse_size("MB"), std::nullopt); }
TEST(ParseSizeTest, LowercaseUnit) { EXPECT_EQ(parse_size("16mb"), std::nullopt); }
TEST(ParseSizeTest, UnknownUnit) { EXPECT_EQ(parse_size("16PB"), std::nullopt); }
TEST(ParseSizeTest, Negative) { EXPECT_EQ(parse_size("-1kB"), std::nullopt); }
TEST(ParseSizeTest, Fraction) { EXPECT_EQ(parse_size("1.5GB"), std::nullopt); }
TEST(ParseSizeTest, Overflow) {
  EXPECT_EQ(parse_size("18446744073709551615kB"), std::nullopt);
  EXPECT_EQ(parse_size("99999999999999999999999"), std::nullopt);
}

}  // namespace
}  // namespace pgmux::config
