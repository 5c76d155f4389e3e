// What a CONTROLLER listener answers when its node is not the active
// controller: Kafka's NOT_CONTROLLER (41) in the API's own response shape —
// per topic (CreateTopics, DeleteTopics, CreatePartitions), per resource
// (AlterConfigs, IncrementalAlterConfigs), per creation / filter (CreateAcls,
// DeleteAcls) — as Kafka's ControllerApis does through getErrorResponse. The
// sender (a forwarding broker's controller channel, an admin client) finds the
// leader again and retries; nothing was changed. BrokerRegistration,
// BrokerHeartbeat, UnregisterBroker and AllocateProducerIds carry a top-level
// error and are answered by their own serve_* functions, which check
// leadership in the controller's turn.
//
// Pure: builds a response from a decoded request; any thread.
#pragma once
#include "protocol/messages/alter_configs.h"
#include "protocol/messages/alter_client_quotas.h"
#include "protocol/messages/create_acls.h"
#include "protocol/messages/create_partitions.h"
#include "protocol/messages/create_topics.h"
#include "protocol/messages/delete_acls.h"
#include "protocol/messages/delete_topics.h"
#include "protocol/messages/incremental_alter_configs.h"
#include "protocol/messages/alter_user_scram_credentials.h"

namespace samsa::server {

protocol::CreateTopicsResponse not_controller_answer(const protocol::CreateTopicsRequest& req);
protocol::DeleteTopicsResponse not_controller_answer(const protocol::DeleteTopicsRequest& req);
protocol::CreatePartitionsResponse not_controller_answer(const protocol::CreatePartitionsRequest& req);
protocol::AlterConfigsResponse not_controller_answer(const protocol::AlterConfigsRequest& req);
protocol::IncrementalAlterConfigsResponse not_controller_answer(const protocol::IncrementalAlterConfigsRequest& req);
protocol::CreateAclsResponse not_controller_answer(const protocol::CreateAclsRequest& req);
protocol::DeleteAclsResponse not_controller_answer(const protocol::DeleteAclsRequest& req);
protocol::AlterClientQuotasResponse not_controller_answer(const protocol::AlterClientQuotasRequest& req);
// scram_handlers.cc
protocol::AlterUserScramCredentialsResponse not_controller_answer(const protocol::AlterUserScramCredentialsRequest& req);

}  // namespace samsa::server
