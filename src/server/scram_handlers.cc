// DescribeUserScramCredentials (50) and AlterUserScramCredentials (51),
// KIP-554 under KRaft. Describe reads the shard's image (mechanisms and
// iteration counts only). Alter goes to the active controller as one metadata
// batch per request: this node's on shard 0 when it leads, else forwarded to
// the controller's CONTROLLER listener (the same request) and answered once
// this node's image shows the change, like AlterClientQuotas. StoredKey and
// ServerKey are derived from the client's salted password here, before the
// controller sees the request (net/scram.h has the HMAC). The caller needs
// DESCRIBE (describe) or ALTER (alter) on the cluster, as in Kafka.
#include <set>

#include "net/scram.h"
#include "protocol/api_registry.h"
#include "protocol/messages/alter_user_scram_credentials.h"
#include "protocol/messages/describe_user_scram_credentials.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/controller_forwarding.h"
#include "server/handlers.h"
#include "server/not_controller.h"

namespace samsa::server {

namespace {

constexpr int16_t kForwardAlterScramVersion = 0;

protocol::AlterUserScramCredentialsRequest alter_request(const cluster::ScramAlteration& a) {
  protocol::AlterUserScramCredentialsRequest req;
  for (auto& d : a.deletions) {
    auto& o = req.deletions.emplace_back();
    o.name = d.name;
    o.mechanism = d.mechanism;
  }
  for (auto& u : a.upsertions) {
    auto& o = req.upsertions.emplace_back();
    o.name = u.name;
    o.mechanism = u.mechanism;
    o.iterations = u.iterations;
    o.salt = u.salt;
    o.salted_password = u.salted_password;
  }
  return req;
}

// The request as the controller takes it, StoredKey and ServerKey derived
// from each salted password (RFC 5802: StoredKey = H(HMAC(SaltedPassword,
// "Client Key")), ServerKey = HMAC(SaltedPassword, "Server Key")).
cluster::ScramAlteration alteration_of(const protocol::AlterUserScramCredentialsRequest& req) {
  cluster::ScramAlteration a;
  for (auto& d : req.deletions) a.deletions.push_back({d.name, d.mechanism});
  for (auto& u : req.upsertions) {
    auto& o = a.upsertions.emplace_back();
    o.name = u.name;
    o.mechanism = u.mechanism;
    o.iterations = u.iterations;
    o.salt = u.salt;
    o.salted_password = u.salted_password;
    auto hash = net::scram_hash_of(cluster::scram_mechanism_text(u.mechanism));
    if (!hash || u.salted_password.empty()) continue;
    o.stored_key = net::scram_digest(*hash, net::scram_hmac(*hash, u.salted_password, "Client Key"));
    o.server_key = net::scram_hmac(*hash, u.salted_password, "Server Key");
  }
  return a;
}

// Users named by the request, first-seen order (deletions, then upsertions).
std::vector<std::string> users_of(const cluster::ScramAlteration& a) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (auto& d : a.deletions)
    if (seen.insert(d.name).second) out.push_back(d.name);
  for (auto& u : a.upsertions)
    if (seen.insert(u.name).second) out.push_back(u.name);
  return out;
}

std::vector<cluster::ScramUserResult> refuse_all(const cluster::ScramAlteration& a, ErrorCode e, const std::string& msg) {
  std::vector<cluster::ScramUserResult> out;
  for (auto& u : users_of(a)) out.push_back({u, e, msg});
  return out;
}

std::vector<cluster::ScramUserResult> decode_alter_answer(std::span<const uint8_t> body,
                                                          const cluster::ScramAlteration& a) {
  protocol::Reader r(body.data(), body.size());
  protocol::AlterUserScramCredentialsResponse resp;
  resp.decode(r, kForwardAlterScramVersion);
  if (!r.ok()) return refuse_all(a, ErrorCode::UNKNOWN_SERVER_ERROR, "The controller's answer could not be read.");
  std::vector<cluster::ScramUserResult> out;
  for (auto& res : resp.results)
    out.push_back({res.user, static_cast<ErrorCode>(res.error_code), res.error_message.value_or("")});
  return out;
}

// The image shows every accepted user's changes.
bool shows_credentials(const cluster::MetadataImage& img, const cluster::ScramAlteration& a,
                       const std::vector<cluster::ScramUserResult>& results) {
  std::set<std::string> ok;
  for (auto& r : results)
    if (r.error == ErrorCode::NONE) ok.insert(r.user);
  auto find = [&](const std::string& user, int8_t mech) -> const cluster::StoredScramCredential* {
    if (!img.scram) return nullptr;
    auto it = img.scram->find({user, mech});
    return it == img.scram->end() ? nullptr : &it->second;
  };
  for (auto& d : a.deletions)
    if (ok.contains(d.name) && find(d.name, d.mechanism)) return false;
  for (auto& u : a.upsertions)
    if (ok.contains(u.name)) {
      auto* c = find(u.name, u.mechanism);
      if (!c || c->stored_key != u.stored_key) return false;
    }
  return true;
}

}  // namespace

protocol::AlterUserScramCredentialsResponse not_controller_answer(const protocol::AlterUserScramCredentialsRequest& req) {
  protocol::AlterUserScramCredentialsResponse resp;
  for (auto& r : refuse_all(alteration_of(req), ErrorCode::NOT_CONTROLLER, cluster::kNotControllerMessage)) {
    auto& o = resp.results.emplace_back();
    o.user = r.user;
    o.error_code = to_int(r.error);
    o.error_message = r.message;
  }
  return resp;
}

asio::awaitable<std::vector<cluster::ScramUserResult>> Broker::alter_user_scram_credentials(cluster::ScramAlteration req) {
  return on_controller(alter_user_scram_credentials_at_controller(std::move(req)));
}

asio::awaitable<std::vector<cluster::ScramUserResult>> Broker::alter_user_scram_credentials_at_controller(
    cluster::ScramAlteration req) {
  if (controller_here()) {
    auto op = controller_->alter_user_scram_credentials(std::move(req));
    co_return co_await std::move(op);
  }
  protocol::Writer w;
  alter_request(req).encode(w, kForwardAlterScramVersion);
  std::vector<cluster::ScramUserResult> results;
  auto op = forward_batch(
      protocol::api_key::AlterUserScramCredentials, kForwardAlterScramVersion, std::move(w.buffer()),
      [&](std::span<const uint8_t> body) { results = decode_alter_answer(body, req); },
      [&](const cluster::MetadataImage& img) { return shows_credentials(img, req, results); });
  if (!co_await std::move(op)) co_return refuse_all(req, ErrorCode::REQUEST_TIMED_OUT, kNoControllerAnswered);
  co_return results;
}

asio::awaitable<net::Response> handle_describe_user_scram_credentials(RequestContext& ctx, protocol::Reader& r) {
  protocol::DescribeUserScramCredentialsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return close_connection();
  protocol::DescribeUserScramCredentialsResponse resp;
  if (!authorized_cluster(ctx, AclOperation::DESCRIBE)) {
    resp.error_code = to_int(ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
    co_return make_response(ctx, resp);
  }
  auto image = ctx.shard->image;
  static const cluster::ScramCredentialMap kEmpty;
  const auto& table = image->scram ? *image->scram : kEmpty;
  auto describe = [&](const std::string& user) {
    auto& res = resp.results.emplace_back();
    res.user = user;
    for (auto it = table.lower_bound({user, INT8_MIN}); it != table.end() && it->first.first == user; ++it) {
      auto& info = res.credential_infos.emplace_back();
      info.mechanism = it->first.second;
      info.iterations = it->second.iterations;
    }
    if (res.credential_infos.empty()) {
      res.error_code = to_int(ErrorCode::RESOURCE_NOT_FOUND);
      res.error_message = "Attempt to describe a user credential that does not exist: " + user;
    }
  };
  if (!req.users || req.users->empty()) {
    std::string last;
    for (auto& [key, c] : table)
      if (resp.results.empty() || key.first != last) {
        last = key.first;
        describe(last);
      }
    co_return make_response(ctx, resp);
  }
  std::map<std::string, int> count;
  for (auto& u : *req.users) ++count[u.name];
  std::set<std::string> done;
  for (auto& u : *req.users) {
    if (!done.insert(u.name).second) continue;
    if (count[u.name] > 1) {
      auto& res = resp.results.emplace_back();
      res.user = u.name;
      res.error_code = to_int(ErrorCode::DUPLICATE_RESOURCE);
      res.error_message = "Cannot describe SCRAM credentials for the same user twice in a single request: " + u.name;
      continue;
    }
    describe(u.name);
  }
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_alter_user_scram_credentials(RequestContext& ctx, protocol::Reader& r) {
  protocol::AlterUserScramCredentialsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return close_connection();
  auto alteration = alteration_of(req);
  std::vector<cluster::ScramUserResult> results;
  if (!authorized_cluster(ctx, AclOperation::ALTER)) {
    results = refuse_all(alteration, ErrorCode::CLUSTER_AUTHORIZATION_FAILED, "");
  } else {
    auto& broker = *ctx.broker;
    auto op = broker.alter_user_scram_credentials(std::move(alteration));
    results = co_await std::move(op);
  }
  protocol::AlterUserScramCredentialsResponse resp;
  for (auto& res : results) {
    auto& o = resp.results.emplace_back();
    o.user = res.user;
    o.error_code = to_int(res.error);
    if (res.error != ErrorCode::NONE && !res.message.empty()) o.error_message = res.message;
  }
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server

namespace samsa::server {

// Shard 0, for every published image: the SASL listeners see a new table only
// when a SCRAM record changed it (the image shares it otherwise).
void Broker::publish_scram_credentials(const cluster::MetadataImage& image) {
  if (image.scram == published_scram_) return;
  published_scram_ = image.scram;
  auto m = std::make_shared<net::DynamicScramStore::Map>();
  if (image.scram)
    for (auto& [key, c] : *image.scram) {
      auto hash = net::scram_hash_of(cluster::scram_mechanism_text(key.second));
      if (hash) m->emplace(std::make_pair(key.first, *hash), net::ScramCredential{c.salt, c.stored_key, c.server_key, c.iterations});
    }
  scram_store_->set(std::move(m));
}

}  // namespace samsa::server
