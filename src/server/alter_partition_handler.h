// AlterPartition (56) on the CONTROLLER listener: a partition leader's ISR
// change reaches the active controller (cluster::Controller::alter_partition,
// whose checks alter_partition.h lists). A CONTROLLER-listener API only
// (`listeners controller` in its schema): brokers do not serve it.
//
// serve_alter_partition is the whole API on a decoded request and runs on the
// controller's thread (shard 0); handle_alter_partition decodes, refuses a
// principal without CLUSTER_ACTION on the cluster (CLUSTER_AUTHORIZATION_FAILED,
// as Kafka's ControllerApis), runs it there through Broker::on_controller and
// encodes. The broker's side of the wire
// (encode the request, decode the answer) is controller_forwarding.h.
#pragma once
#include <asio.hpp>

#include "cluster/controller.h"
#include "protocol/messages/alter_partition.h"
#include "server/handlers.h"

namespace samsa::server {

// The request as the controller takes it, and its answer on the wire, at `version`.
cluster::AlterPartitionRequest alter_partition_request_of(const protocol::AlterPartitionRequest& req, int16_t version);
protocol::AlterPartitionResponse alter_partition_response_of(const cluster::AlterPartitionResponse& resp);

asio::awaitable<protocol::AlterPartitionResponse> serve_alter_partition(cluster::Controller& controller,
                                                                        protocol::AlterPartitionRequest req,
                                                                        int16_t version);
asio::awaitable<net::Response> handle_alter_partition(RequestContext&, protocol::Reader&);

}  // namespace samsa::server
