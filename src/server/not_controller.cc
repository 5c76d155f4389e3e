#include "server/not_controller.h"

#include "base/error_code.h"
#include "cluster/controller.h"

namespace samsa::server {

namespace {

const int16_t kNotController = to_int(ErrorCode::NOT_CONTROLLER);

// One result per request entry, each NOT_CONTROLLER with Kafka's message.
template <typename Result, typename Entries, typename Fill>
std::vector<Result> refuse_each(const Entries& entries, Fill fill) {
  std::vector<Result> out;
  out.reserve(entries.size());
  for (auto& e : entries) {
    auto& r = out.emplace_back();
    r.error_code = kNotController;
    r.error_message = cluster::kNotControllerMessage;
    fill(e, r);
  }
  return out;
}

template <typename Resp, typename Req>
Resp refuse_resources(const Req& req) {
  Resp resp;
  using Result = typename decltype(resp.responses)::value_type;
  resp.responses = refuse_each<Result>(req.resources, [](auto& res, Result& r) {
    r.resource_type = res.resource_type;
    r.resource_name = res.resource_name;
  });
  return resp;
}

}  // namespace

protocol::CreateTopicsResponse not_controller_answer(const protocol::CreateTopicsRequest& req) {
  protocol::CreateTopicsResponse resp;
  using Result = protocol::CreateTopicsResponse::CreatableTopicResult;
  resp.topics = refuse_each<Result>(req.topics, [](auto& t, Result& r) {
    r.name = t.name;
    r.configs = std::nullopt;  // num_partitions / replication_factor keep their -1
  });
  return resp;
}

protocol::DeleteTopicsResponse not_controller_answer(const protocol::DeleteTopicsRequest& req) {
  protocol::DeleteTopicsResponse resp;
  using Result = protocol::DeleteTopicsResponse::DeletableTopicResult;
  // v6+ names topics in `topics` (by name or id), older versions in `topic_names`.
  resp.responses = refuse_each<Result>(req.topics, [](auto& t, Result& r) {
    r.name = t.name;
    r.topic_id = t.topic_id;
  });
  auto by_name = refuse_each<Result>(req.topic_names, [](auto& name, Result& r) { r.name = name; });
  resp.responses.insert(resp.responses.end(), by_name.begin(), by_name.end());
  return resp;
}

protocol::CreatePartitionsResponse not_controller_answer(const protocol::CreatePartitionsRequest& req) {
  protocol::CreatePartitionsResponse resp;
  using Result = protocol::CreatePartitionsResponse::CreatePartitionsTopicResult;
  resp.results = refuse_each<Result>(req.topics, [](auto& t, Result& r) { r.name = t.name; });
  return resp;
}

protocol::AlterConfigsResponse not_controller_answer(const protocol::AlterConfigsRequest& req) {
  return refuse_resources<protocol::AlterConfigsResponse>(req);
}

protocol::IncrementalAlterConfigsResponse not_controller_answer(const protocol::IncrementalAlterConfigsRequest& req) {
  return refuse_resources<protocol::IncrementalAlterConfigsResponse>(req);
}

protocol::CreateAclsResponse not_controller_answer(const protocol::CreateAclsRequest& req) {
  protocol::CreateAclsResponse resp;
  using Result = protocol::CreateAclsResponse::AclCreationResult;
  resp.results = refuse_each<Result>(req.creations, [](auto&, Result&) {});
  return resp;
}

protocol::DeleteAclsResponse not_controller_answer(const protocol::DeleteAclsRequest& req) {
  protocol::DeleteAclsResponse resp;
  using Result = protocol::DeleteAclsResponse::DeleteAclsFilterResult;
  resp.filter_results = refuse_each<Result>(req.filters, [](auto&, Result&) {});
  return resp;
}

protocol::AlterClientQuotasResponse not_controller_answer(const protocol::AlterClientQuotasRequest& req) {
  protocol::AlterClientQuotasResponse resp;
  using Result = protocol::AlterClientQuotasResponse::EntryData;
  resp.entries = refuse_each<Result>(req.entries, [](auto& e, Result& r) {
    for (auto& c : e.entity) {
      auto& out = r.entity.emplace_back();
      out.entity_type = c.entity_type;
      out.entity_name = c.entity_name;
    }
  });
  return resp;
}

}  // namespace samsa::server
