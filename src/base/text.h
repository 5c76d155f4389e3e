#pragma once

#include <string_view>

namespace samsa {

// `s` without leading and trailing spaces and tabs (HTTP's optional whitespace, config list items).
inline std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace samsa
