// Result<T>: a value or an Error (code + message). Used by the pure modules instead of
// exceptions for expected failures. Not thread-safe; a plain value type.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace pgmux::util {

// An expected failure. `code` is a SQLSTATE when the error is meant for a PostgreSQL
// client (e.g. "28P01"), otherwise a short tag; `message` is worded for a person.
struct Error {
  std::string code;
  std::string message;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}        // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Success-or-error with no value.
struct Ok {};
using Status = Result<Ok>;

inline Error make_error(std::string code, std::string message) {
  return Error{std::move(code), std::move(message)};
}

}  // namespace pgmux::util
