#include "net/connection_quotas.h"

#include <netdb.h>
#include <sys/socket.h>

#include <asio/ip/address.hpp>
#include <charconv>

#include "base/text.h"

namespace samsa::net {

std::variant<std::map<std::string, int32_t>, std::string> parse_per_ip_overrides(std::string_view text) {
  std::map<std::string, int32_t> out;
  while (!trim_blanks(text).empty()) {
    auto comma = text.find(',');
    auto item = trim_blanks(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    auto colon = item.rfind(':');
    if (colon == std::string_view::npos)
      return "max.connections.per.ip.overrides: '" + std::string(item) + "' is not host:count";
    auto host = trim_blanks(item.substr(0, colon));
    auto num = trim_blanks(item.substr(colon + 1));
    int32_t n = -1;
    auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
    if (host.empty() || ec != std::errc() || end != num.data() + num.size() || n < 0)
      return "max.connections.per.ip.overrides: '" + std::string(item) + "' is not host:count with a count >= 0";
    out[std::string(host)] = n;
  }
  return out;
}

std::variant<QuotaConfig, std::string> make_quota_config(int32_t max_connections, int32_t max_per_ip,
                                                         std::string_view overrides) {
  QuotaConfig c;
  c.max_connections = max_connections;
  c.max_connections_per_ip = max_per_ip;
  auto parsed = parse_per_ip_overrides(overrides);
  if (auto* err = std::get_if<std::string>(&parsed)) return *err;
  for (auto& [host, n] : std::get<0>(parsed)) {
    asio::error_code ec;
    auto literal = asio::ip::make_address(host, ec);
    if (!ec) {
      c.per_ip_overrides[literal.to_string()] = n;
      continue;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res)
      return "max.connections.per.ip.overrides: cannot resolve host '" + host + "'";
    for (auto* a = res; a; a = a->ai_next) {
      char buf[NI_MAXHOST];
      if (::getnameinfo(a->ai_addr, a->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) == 0)
        c.per_ip_overrides[asio::ip::make_address(buf, ec).to_string()] = n;
    }
    ::freeaddrinfo(res);
  }
  return c;
}

ConnectionQuotas::Admission ConnectionQuotas::admit(const std::string& ip) {
  std::lock_guard lock(mu_);
  // Kafka's order: wait for a broker-wide slot first, then check the address.
  if (total_ >= config_.max_connections) return Admission::kBrokerFull;
  auto it = per_ip_.find(ip);
  int32_t current = it == per_ip_.end() ? 0 : it->second;
  if (current >= limit_for(ip)) return Admission::kIpFull;
  ++total_;
  ++per_ip_[ip];
  return Admission::kAdmitted;
}

void ConnectionQuotas::release(const std::string& ip) {
  std::lock_guard lock(mu_);
  auto it = per_ip_.find(ip);
  if (it == per_ip_.end()) return;  // never admitted: nothing to give back
  if (--it->second <= 0) per_ip_.erase(it);
  --total_;
}

int32_t ConnectionQuotas::limit_for(const std::string& ip) const {
  auto it = config_.per_ip_overrides.find(ip);
  return it == config_.per_ip_overrides.end() ? config_.max_connections_per_ip : it->second;
}

int32_t ConnectionQuotas::total() const {
  std::lock_guard lock(mu_);
  return total_;
}

int32_t ConnectionQuotas::count(const std::string& ip) const {
  std::lock_guard lock(mu_);
  auto it = per_ip_.find(ip);
  return it == per_ip_.end() ? 0 : it->second;
}

bool LogLimiter::allow(uint64_t& suppressed) {
  auto now = std::chrono::steady_clock::now();
  if (logged_ && now - last_ < interval_) {
    ++suppressed_;
    return false;
  }
  logged_ = true;
  last_ = now;
  suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

}  // namespace samsa::net
