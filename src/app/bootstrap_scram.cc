#include "app/bootstrap_scram.h"

#include <cstdlib>

#include "cluster/scram_credentials.h"
#include "net/scram.h"

namespace samsa::app {

std::variant<std::vector<cluster::MetadataRecord>, std::string> scram_bootstrap_records(
    const std::vector<std::string>& specs) {
  std::vector<cluster::MetadataRecord> out;
  for (auto& spec : specs) {
    auto bad = [&](const std::string& why) { return "Invalid --add-scram " + spec + ": " + why; };
    auto eq = spec.find('=');
    if (eq == std::string::npos) return bad("expected MECHANISM=[name=NAME,password=PASSWORD]");
    const std::string mech = spec.substr(0, eq);
    std::string body = spec.substr(eq + 1);
    auto hash = net::scram_hash_of(mech);
    if (!hash) return bad("the mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512");
    if (body.size() < 2 || body.front() != '[' || body.back() != ']')
      return bad("expected MECHANISM=[name=NAME,password=PASSWORD]");
    body = body.substr(1, body.size() - 2);
    std::string name, password;
    bool has_password = false;
    int32_t iterations = cluster::kScramMinIterationCount;
    size_t start = 0;
    while (start <= body.size()) {
      size_t comma = body.find(',', start);
      std::string item = body.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      start = comma == std::string::npos ? body.size() + 1 : comma + 1;
      auto e = item.find('=');
      if (e == std::string::npos) return bad("expected key=value, got " + item);
      std::string k = item.substr(0, e), v = item.substr(e + 1);
      // Kafka's tool accepts the values quoted.
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      if (k == "name") name = v;
      else if (k == "password") {
        password = v;
        has_password = true;
      } else if (k == "iterations") {
        char* end = nullptr;
        long n = std::strtol(v.c_str(), &end, 10);
        if (v.empty() || *end) return bad("iterations must be a number");
        if (n < cluster::kScramMinIterationCount || n > cluster::kScramMaxIterationCount)
          return bad("iterations must be between " + std::to_string(cluster::kScramMinIterationCount) + " and " +
                     std::to_string(cluster::kScramMaxIterationCount));
        iterations = static_cast<int32_t>(n);
      } else {
        return bad("unknown key " + k + " (name, password and iterations are known)");
      }
    }
    if (name.empty()) return bad("a name is required");
    if (!has_password) return bad("a password is required");
    auto cred = net::scram_credential(*hash, password, net::secure_random_bytes(32), iterations);
    cluster::UserScramCredentialRecord r;
    r.name = name;
    r.mechanism = cluster::scram_mechanism_type(mech);
    r.salt = cred.salt;
    r.stored_key = cred.stored_key;
    r.server_key = cred.server_key;
    r.iterations = iterations;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace samsa::app
