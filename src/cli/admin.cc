#include "cli/admin.h"

namespace samsa::cli {

AdminCall::AdminCall(rd_kafka_t* rk, rd_kafka_admin_op_t op, int timeout_ms)
    : queue_(rd_kafka_queue_new(rk)), options_(rd_kafka_AdminOptions_new(rk, op)),
      timeout_ms_(timeout_ms) {
  char errstr[256];
  rd_kafka_AdminOptions_set_request_timeout(options_, timeout_ms, errstr, sizeof errstr);
  if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS ||
      op == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS || op == RD_KAFKA_ADMIN_OP_DELETERECORDS)
    rd_kafka_AdminOptions_set_operation_timeout(options_, timeout_ms, errstr, sizeof errstr);
}

AdminCall::~AdminCall() {
  rd_kafka_AdminOptions_destroy(options_);
  rd_kafka_queue_destroy(queue_);
}

EventHandle AdminCall::wait(std::string& err) {
  EventHandle ev(rd_kafka_queue_poll(queue_, timeout_ms_ + 2000));
  if (!ev) {
    error_code_ = RD_KAFKA_RESP_ERR__TIMED_OUT;
    err = "Timed out waiting for a node assignment (no broker reachable within " +
          std::to_string(timeout_ms_) + " ms)";
    return nullptr;
  }
  if (rd_kafka_event_error(ev.get())) {
    error_code_ = rd_kafka_event_error(ev.get());
    err = rd_kafka_event_error_string(ev.get());
    return nullptr;
  }
  return ev;
}

}  // namespace samsa::cli
