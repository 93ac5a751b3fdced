// The Prometheus exposition of box_stats. Gufo Agent's four reflector counters keep their
// exact names and stay box totals (seeds/gufo-twamp-reflector.md), everything else follows the
// Prometheus conventions under the same prefix (DESIGN.md "Metrics").
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

struct mg_context;

#include "twamp/metrics/stats.hpp"
#include "twamp/net/address.hpp"

namespace twamp::metrics {

using label_list = std::vector<std::pair<std::string, std::string>>;

// The families for one snapshot; `labels` (metrics.labels) go on every series.
std::vector<prometheus::MetricFamily> families(const box_stats& s, const label_list& labels);

// Why the exporter cannot listen on `address` (IPv4 or IPv6) and TCP `port`: binds a
// socket there the way civetweb does (SO_REUSEADDR) and returns the system's reason, e.g.
// "cannot bind 127.0.0.1:9862: Address already in use (another process listens there)", or
// "" when it could be bound. prometheus::Exposer only says "null context when constructing
// CivetServer" (issue 11 item 13).
std::string listen_problem(const net::address& address, uint16_t port);

// The /metrics endpoint (civetweb; `options` are civetweb's, e.g. listening_ports, num_threads,
// request_timeout_ms): GET and HEAD answer `source`'s families in the text format 0.0.4, and
// nothing else is served (no exposer_* series: README "Prometheus"). Throws
// std::runtime_error when civetweb cannot start (listen_problem says why).
//
// Scrapes are serialised: civetweb's request threads never run `source`->Collect() at once (a
// gather reads every port's ethdev counters, which DPDK does not allow from two threads). A
// scrape that waited for another's gather shares the next body only if that body's gather
// started after the waiting scrape called body(): a body is never older than its request, so
// counters read right after traffic are exact, and N concurrent scrapes cost at most two
// gathers in a row (the one running when they came, and one for all of them).
class http_exporter {
public:
    http_exporter(const std::vector<std::string>& options,
                  std::shared_ptr<prometheus::Collectable> source);
    ~http_exporter();
    http_exporter(const http_exporter&) = delete;
    http_exporter& operator=(const http_exporter&) = delete;

    std::string body() const; // what a scrape gets (thread-safe, serialised, never stale)
    int port() const;         // the first listening port (tests listen on port 0)

private:
    std::shared_ptr<prometheus::Collectable> source_;
    mg_context* ctx_ = nullptr;
    mutable std::mutex gather_mu_; // one Collect() at a time
    mutable std::atomic<uint64_t> gathers_started_{0};
    mutable uint64_t body_seq_ = 0; // gathers_started_ when body_'s gather began (gather_mu_)
    mutable std::string body_;      // the last gather's text (gather_mu_)
};

// A Collectable that gathers at scrape time (the workers never call prometheus-cpp).
class collector : public prometheus::Collectable {
public:
    collector(std::function<box_stats()> gather, label_list labels)
        : gather_(std::move(gather)), labels_(std::move(labels)) {}
    std::vector<prometheus::MetricFamily> Collect() const override {
        return families(gather_(), labels_);
    }

private:
    std::function<box_stats()> gather_;
    label_list labels_;
};

} // namespace twamp::metrics
