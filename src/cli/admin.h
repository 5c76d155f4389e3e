#pragma once
// Helpers for librdkafka's asynchronous Admin API used synchronously by the tools.
#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>

namespace samsa::cli {

struct EventDeleter { void operator()(rd_kafka_event_t* e) const { if (e) rd_kafka_event_destroy(e); } };
using EventHandle = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

// Owns a result queue and admin options for one admin call. Used by one thread.
class AdminCall {
 public:
  AdminCall(rd_kafka_t* rk, rd_kafka_admin_op_t op, int timeout_ms);
  ~AdminCall();
  AdminCall(const AdminCall&) = delete;
  AdminCall& operator=(const AdminCall&) = delete;
  rd_kafka_AdminOptions_t* options() { return options_; }
  rd_kafka_queue_t* queue() { return queue_; }
  // Waits for the result event (bounded by the timeout plus a grace period);
  // null + err on a timeout or a request-level error.
  EventHandle wait(std::string& err);
  // The error code behind the last wait() failure (RD_KAFKA_RESP_ERR__TIMED_OUT on a timeout).
  rd_kafka_resp_err_t error_code() const { return error_code_; }

 private:
  rd_kafka_queue_t* queue_;
  rd_kafka_AdminOptions_t* options_;
  int timeout_ms_;
  rd_kafka_resp_err_t error_code_ = RD_KAFKA_RESP_ERR_NO_ERROR;
};

}  // namespace samsa::cli
