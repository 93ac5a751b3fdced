// The /metrics endpoint: civetweb with one handler that serialises our families with
// prometheus-cpp's text serializer. prometheus::Exposer (1.0.1) would add its own exposer_*
// series to every scrape, with no way to label or drop them.
#include <cstring>
#include <mutex>
#include <stdexcept>

#include <civetweb.h>

#include <prometheus/text_serializer.h>

#include "twamp/metrics/prometheus.hpp"

namespace twamp::metrics {

namespace {

// civetweb's request thread; never throws into C.
int serve_metrics(mg_connection* conn, void* cbdata) noexcept {
    const auto* self = static_cast<const http_exporter*>(cbdata);
    const mg_request_info* ri = mg_get_request_info(conn);
    if (!ri || !ri->local_uri || std::strcmp(ri->local_uri, "/metrics") != 0) {
        mg_printf(conn, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return 404;
    }
    const bool head = ri->request_method && std::strcmp(ri->request_method, "HEAD") == 0;
    if (!ri->request_method || (!head && std::strcmp(ri->request_method, "GET") != 0)) {
        mg_printf(conn, "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"
                        "Content-Length: 0\r\nConnection: close\r\n\r\n");
        return 405;
    }
    std::string body;
    try {
        body = self->body();
    } catch (...) { // std::bad_alloc: answered, never thrown into civetweb's C
        mg_printf(conn, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                        "Connection: close\r\n\r\n");
        return 500;
    }
    mg_printf(conn,
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
              "Content-Length: %zu\r\n\r\n",
              body.size());
    if (!head) {
        mg_write(conn, body.data(), body.size());
    }
    return 200;
}

} // namespace

http_exporter::http_exporter(const std::vector<std::string>& options,
                             std::shared_ptr<prometheus::Collectable> source)
    : source_(std::move(source)) {
    std::vector<const char*> opts;
    for (const auto& o : options) {
        opts.push_back(o.c_str());
    }
    opts.push_back(nullptr);
    mg_init_library(0);
    mg_callbacks cb{};
    // Bind failures and the like: the caller asks the system why (listen_problem).
    cb.log_message = [](const mg_connection*, const char*) { return 1; };
    ctx_ = mg_start(&cb, nullptr, opts.data());
    if (!ctx_) {
        mg_exit_library();
        throw std::runtime_error("civetweb did not start");
    }
    // Every path: /metrics is served, anything else answered 404 (civetweb without a handler
    // or a document root closes the connection without an answer).
    mg_set_request_handler(ctx_, "/", serve_metrics, this);
}

http_exporter::~http_exporter() {
    mg_stop(ctx_); // waits for the request threads
    mg_exit_library();
}

std::string http_exporter::body() const {
    // Gathers started before this call; one numbered higher began after it (the counter's
    // modification order), so its body is at least as fresh as this request.
    const uint64_t arrived = gathers_started_.load();
    const std::lock_guard<std::mutex> lock(gather_mu_);
    if (body_seq_ > arrived) {
        return body_; // gathered for a scrape that came after this one and won the lock
    }
    const uint64_t seq = gathers_started_.fetch_add(1) + 1;
    std::string text = prometheus::TextSerializer().Serialize(source_->Collect());
    body_ = text; // a throw above leaves body_ and body_seq_ as they were
    body_seq_ = seq;
    return text;
}

int http_exporter::port() const {
    mg_server_port ports[4]{};
    const int n = mg_get_server_ports(ctx_, 4, ports);
    return n > 0 ? ports[0].port : -1;
}

} // namespace twamp::metrics
