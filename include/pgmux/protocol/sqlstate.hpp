// SQLSTATE codes pgmux itself reports to clients (PostgreSQL Appendix A).
// Constants only; thread-safe.
#pragma once

#include <string_view>

namespace pgmux::protocol::sqlstate {

inline constexpr std::string_view kSuccessfulCompletion = "00000";
inline constexpr std::string_view kConnectionException = "08000";
inline constexpr std::string_view kConnectionFailure = "08006";
inline constexpr std::string_view kSqlclientUnableToEstablish = "08001";
inline constexpr std::string_view kProtocolViolation = "08P01";
inline constexpr std::string_view kFeatureNotSupported = "0A000";
inline constexpr std::string_view kInvalidAuthorizationSpecification = "28000";
inline constexpr std::string_view kInvalidPassword = "28P01";
inline constexpr std::string_view kInvalidCatalogName = "3D000";
inline constexpr std::string_view kTooManyConnections = "53300";
inline constexpr std::string_view kQueryCanceled = "57014";
inline constexpr std::string_view kAdminShutdown = "57P01";
inline constexpr std::string_view kCannotConnectNow = "57P03";
inline constexpr std::string_view kObjectNotInPrerequisiteState = "55000";
inline constexpr std::string_view kInvalidParameterValue = "22023";
inline constexpr std::string_view kSyntaxError = "42601";
inline constexpr std::string_view kInsufficientPrivilege = "42501";
inline constexpr std::string_view kConfigFileError = "F0000";
inline constexpr std::string_view kProgramLimitExceeded = "54000";
inline constexpr std::string_view kActiveSqlTransaction = "25001";
inline constexpr std::string_view kInternalError = "XX000";

}  // namespace pgmux::protocol::sqlstate
