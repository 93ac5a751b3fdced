// The exposition as Prometheus sees it: prometheus-cpp's own text serializer over families().
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "twamp/metrics/prometheus.hpp"

using namespace twamp;
using namespace twamp::metrics;

namespace {

box_stats sample() {
    box_stats s;
    s.reflected_pkts = 11500;
    s.reflected_octets = 1978000;
    s.control.session_attempts = 115;
    s.control.session_started = 114;
    s.drops[static_cast<std::size_t>(proto::drop_reason::acl_denied)] = 7;
    reflector_stats r;
    r.name = "base";
    r.rx_pkts = 12;
    r.reflected_pkts = 10;
    r.stamp_short = 4;
    r.stamp_hmac_tlv_failures = 6;
    r.residence.buckets[0] = 3; // <= 1 us
    r.residence.buckets[3] = 5; // <= 10 us
    r.residence.buckets.back() = 2;
    r.residence.sum_s = 0.5;
    s.reflectors.push_back(r);
    port_stats p;
    p.name = "wire0";
    p.timestamp_source = "sw";
    p.nic_ok = true;
    p.rx_missed = 4;
    p.rx_nombuf = 6;
    s.ports.push_back(p);
    s.workers.push_back({10, 5, 100, 7, 0.25});
    return s;
}

std::string text(const box_stats& s, const label_list& labels = {}) {
    return prometheus::TextSerializer().Serialize(families(s, labels));
}

// seeds/gufo-twamp-reflector.md "Sample Output": the four counters keep their exact names,
// HELP texts and TYPE, with no labels of their own.
TEST(prometheus, gufo_agent_names_exactly) {
    const std::string t = text(sample());
    for (const char* line :
         {"# HELP twamp_reflector_reflected_octets Total amount of the reflected octets\n",
          "# TYPE twamp_reflector_reflected_octets counter\n",
          "twamp_reflector_reflected_octets 1978000\n",
          "# HELP twamp_reflector_reflected_pkt Total amount of the reflected packets\n",
          "twamp_reflector_reflected_pkt 11500\n",
          "# HELP twamp_reflector_session_attempts Total amount of the attempted sessions\n",
          "twamp_reflector_session_attempts 115\n",
          "# HELP twamp_reflector_session_started Total amount of the started sessions\n",
          "twamp_reflector_session_started 114\n"}) {
        EXPECT_NE(t.find(line), std::string::npos) << line << "\nin:\n" << t;
    }
}

// Every family has HELP and TYPE; every counter but Gufo's four ends in _total.
TEST(prometheus, conventions) {
    const std::string t = text(sample());
    std::regex type_re("# TYPE (\\S+) (\\S+)\n");
    int families_seen = 0;
    for (auto it = std::sregex_iterator(t.begin(), t.end(), type_re); it != std::sregex_iterator();
         ++it) {
        const std::string name = (*it)[1];
        const std::string type = (*it)[2];
        ++families_seen;
        EXPECT_EQ(name.rfind("twamp_reflector_", 0), 0u) << name;
        EXPECT_NE(t.find("# HELP " + name + " "), std::string::npos) << name;
        const bool gufo = name == "twamp_reflector_session_attempts" ||
                          name == "twamp_reflector_session_started" ||
                          name == "twamp_reflector_reflected_pkt" ||
                          name == "twamp_reflector_reflected_octets";
        if (type == "counter" && !gufo) {
            EXPECT_TRUE(name.size() > 6 && name.substr(name.size() - 6) == "_total") << name;
        }
    }
    EXPECT_GE(families_seen, 20);
}

TEST(prometheus, every_drop_reason_and_labels) {
    const std::string t = text(sample(), {{"site", "lab1"}});
    for (std::size_t r = 1; r < proto::drop_reason_count; ++r) {
        const std::string want = "twamp_reflector_dropped_packets_total{site=\"lab1\",reason=\"" +
                                 std::string(proto::drop_reason_names[r]) + "\"} ";
        EXPECT_NE(t.find(want), std::string::npos) << want;
    }
    EXPECT_NE(
            t.find("twamp_reflector_dropped_packets_total{site=\"lab1\",reason=\"acl_denied\"} 7"),
            std::string::npos);
    EXPECT_NE(t.find("twamp_reflector_reflected_pkt{site=\"lab1\"} 11500"), std::string::npos);
    EXPECT_NE(
            t.find("twamp_reflector_port_rx_missed_packets_total{site=\"lab1\",port=\"wire0\"} 4"),
            std::string::npos);
    EXPECT_NE(t.find("twamp_reflector_port_rx_nombuf_total{site=\"lab1\",port=\"wire0\"} 6"),
              std::string::npos);
    EXPECT_NE(t.find("twamp_reflector_worker_busy_ratio{site=\"lab1\",worker=\"0\"} 0.25"),
              std::string::npos);
}

// The balance (rx == reflected + dropped + to_kernel) is readable from the metrics alone; the
// kernel's own frames that were not sent are apart, by reason; REFWAIT ends are exported.
TEST(prometheus, balance_families_and_refwait) {
    box_stats s = sample();
    s.rx_pkts = 11600;
    s.to_kernel = 93;
    s.to_wire_drops[0] = 5; // rate_limit
    s.to_wire_drops[3] = 2; // shutdown
    s.to_wire_drops[4] = 9; // no_mbuf
    s.control.sessions_refwait = 3;
    s.control.key_derivations_done = 7;
    s.control.key_derivations_refused = 2;
    s.control.key_derivation_ns = 3'500'000'000ULL;
    s.control.auth_failures = {{"unknown_key_id", 1}, {"bad_hmac", 4}};
    s.mbufs_in_use = 3077;
    s.mbufs_total = 21503;
    const std::string t = text(s);
    for (const char* line :
         {"# TYPE twamp_reflector_rx_frames_total counter\n",
          "twamp_reflector_rx_frames_total 11600\n",
          "twamp_reflector_exception_packets_total{direction=\"to_kernel\"} 93\n",
          "# TYPE twamp_reflector_exception_to_wire_dropped_total counter\n",
          "twamp_reflector_exception_to_wire_dropped_total{reason=\"rate_limit\"} 5\n",
          "twamp_reflector_exception_to_wire_dropped_total{reason=\"ring_full\"} 0\n",
          "twamp_reflector_exception_to_wire_dropped_total{reason=\"tx_full\"} 0\n",
          "twamp_reflector_exception_to_wire_dropped_total{reason=\"shutdown\"} 2\n",
          "twamp_reflector_exception_to_wire_dropped_total{reason=\"no_mbuf\"} 9\n",
          "# HELP twamp_reflector_control_sessions_refwait_total TWAMP-Control sessions ",
          "# TYPE twamp_reflector_control_sessions_refwait_total counter\n",
          "twamp_reflector_control_sessions_refwait_total 3\n",
          "# TYPE twamp_reflector_control_key_derivations_total counter\n",
          "twamp_reflector_control_key_derivations_total{result=\"done\"} 7\n",
          "twamp_reflector_control_key_derivations_total{result=\"refused\"} 2\n",
          "# TYPE twamp_reflector_control_key_derivation_seconds_total counter\n",
          "twamp_reflector_control_key_derivation_seconds_total 3.5\n",
          "# TYPE twamp_reflector_control_auth_failures_total counter\n",
          "twamp_reflector_control_auth_failures_total{reason=\"unknown_key_id\"} 1\n",
          "twamp_reflector_control_auth_failures_total{reason=\"bad_hmac\"} 4\n",
          "# TYPE twamp_reflector_mbufs_in_use gauge\n",
          "twamp_reflector_mbufs_in_use 3077\n",
          "# TYPE twamp_reflector_mbufs_total gauge\n",
          "twamp_reflector_mbufs_total 21503\n"}) {
        EXPECT_NE(t.find(line), std::string::npos) << line << "\nin:\n" << t;
    }
    EXPECT_EQ(t.find("exception_to_wire_dropped_total{reason=\"exception_"), std::string::npos);
    EXPECT_EQ(s.rx_pkts, s.reflected_pkts + s.dropped() + s.to_kernel);
}

// The residence histogram is cumulative, in seconds, with +Inf.
TEST(prometheus, residence_histogram) {
    const std::string t = text(sample());
    EXPECT_NE(t.find("twamp_reflector_residence_time_seconds_bucket{reflector=\"base\",le=\"1e-"
                     "06\"} 3"),
              std::string::npos)
            << t;
    EXPECT_NE(t.find("twamp_reflector_residence_time_seconds_bucket{reflector=\"base\",le=\"1e-"
                     "05\"} 8"),
              std::string::npos);
    EXPECT_NE(t.find("twamp_reflector_residence_time_seconds_bucket{reflector=\"base\",le=\"+Inf\"}"
                     " 10"),
              std::string::npos);
    EXPECT_NE(t.find("twamp_reflector_residence_time_seconds_count{reflector=\"base\"} 10"),
              std::string::npos);
    EXPECT_NE(t.find("twamp_reflector_residence_time_seconds_sum{reflector=\"base\"} 0.5"),
              std::string::npos);
}

// RFC 8762 §4.6: STAMP requests of 14..43 octets answered with the 44-octet base are counted
// per reflector (README metrics table).
TEST(prometheus, stamp_short_requests_per_reflector) {
    const std::string t = text(sample());
    EXPECT_NE(t.find("# TYPE twamp_reflector_stamp_short_requests_total counter\n"),
              std::string::npos)
            << t;
    EXPECT_NE(t.find("twamp_reflector_stamp_short_requests_total{reflector=\"base\"} 4\n"),
              std::string::npos)
            << t;
}

// RFC 8972 §4.8 (issue 17): requests whose HMAC TLV check failed, per reflector.
TEST(prometheus, stamp_hmac_tlv_failures_per_reflector) {
    const std::string t = text(sample());
    EXPECT_NE(t.find("# TYPE twamp_reflector_stamp_hmac_tlv_failures_total counter\n"),
              std::string::npos)
            << t;
    EXPECT_NE(t.find("twamp_reflector_stamp_hmac_tlv_failures_total{reflector=\"base\"} 6\n"),
              std::string::npos)
            << t;
}

// RFC 8972 §4 / RFC 9503: STAMP TLVs per STAMP reflector, by type and by flag returned; a
// TWAMP Light reflector has no series (it never reads TLVs).
TEST(prometheus, stamp_tlvs_per_reflector) {
    box_stats s = sample();
    s.reflectors[0].mode = "stamp";
    s.reflectors[0].stamp_tlvs[0] = 2;  // other types
    s.reflectors[0].stamp_tlvs[5] = 9;  // Direct Measurement
    s.reflectors[0].stamp_tlvs[10] = 3; // Return Path
    s.reflectors[0].stamp_tlv_flags = {4, 1, 0};
    reflector_stats light;
    light.name = "light";
    light.mode = "twamp-light";
    s.reflectors.push_back(light);
    const std::string t = text(s);
    for (const char* line : {
                 "# TYPE twamp_reflector_stamp_tlvs_total counter\n",
                 "twamp_reflector_stamp_tlvs_total{reflector=\"base\",type=\"other\"} 2\n",
                 "twamp_reflector_stamp_tlvs_total{reflector=\"base\",type=\"direct_measurement\"} "
                 "9\n",
                 "twamp_reflector_stamp_tlvs_total{reflector=\"base\",type=\"return_path\"} 3\n",
                 "twamp_reflector_stamp_tlvs_total{reflector=\"base\",type=\"extra_padding\"} 0\n",
                 "twamp_reflector_stamp_tlvs_total{reflector=\"base\",type=\"destination_node_"
                 "address\"} 0\n",
                 "# TYPE twamp_reflector_stamp_tlv_flags_total counter\n",
                 "twamp_reflector_stamp_tlv_flags_total{reflector=\"base\",flag=\"u\"} 4\n",
                 "twamp_reflector_stamp_tlv_flags_total{reflector=\"base\",flag=\"m\"} 1\n",
                 "twamp_reflector_stamp_tlv_flags_total{reflector=\"base\",flag=\"i\"} 0\n",
         }) {
        EXPECT_NE(t.find(line), std::string::npos) << line << "\nin:\n" << t;
    }
    // Eleven types and three flags for "base", nothing for "light".
    const std::regex tlv_series(R"(\ntwamp_reflector_stamp_tlvs_total\{)");
    EXPECT_EQ(std::distance(std::sregex_iterator(t.begin(), t.end(), tlv_series),
                            std::sregex_iterator()),
              11);
    EXPECT_EQ(t.find("stamp_tlvs_total{reflector=\"light\""), std::string::npos);
    EXPECT_EQ(t.find("stamp_tlv_flags_total{reflector=\"light\""), std::string::npos);
}

// Issue 18: per reflector what each limit refused (every limit reason, zeros included), per
// prefix rule, and the source table's collisions.
TEST(prometheus, limits_per_reflector_and_prefix_rule) {
    box_stats s = sample();
    s.reflectors[0].limit_drops = {1, 2, 3, 4, 5, 6};
    s.reflectors[0].prefix_drops = {{"198.18.5.0/24", 7}, {"2001:2::/64", 0}};
    s.source_collisions = 8;
    const std::string t = text(s);
    for (const char* line : {
                 "# TYPE twamp_reflector_limit_drops_total counter\n",
                 "twamp_reflector_limit_drops_total{reflector=\"base\",reason=\"reflector_source_"
                 "port\"} 1\n",
                 "twamp_reflector_limit_drops_total{reflector=\"base\",reason=\"rate_limit_"
                 "reflector\"} 2\n",
                 "twamp_reflector_limit_drops_total{reflector=\"base\",reason=\"rate_limit_"
                 "prefix\"} "
                 "3\n",
                 "twamp_reflector_limit_drops_total{reflector=\"base\",reason=\"rate_limit_"
                 "source\"} "
                 "4\n",
                 "twamp_reflector_limit_drops_total{reflector=\"base\",reason=\"session_rate_"
                 "limit\"} 5\n",
                 "twamp_reflector_limit_drops_total{reflector=\"base\",reason=\"session_cap\"} 6\n",
                 "# TYPE twamp_reflector_prefix_limit_drops_total counter\n",
                 "twamp_reflector_prefix_limit_drops_total{reflector=\"base\",prefix=\"198.18.5.0/"
                 "24\"} 7\n",
                 "twamp_reflector_prefix_limit_drops_total{reflector=\"base\",prefix=\"2001:2::/"
                 "64\"} 0\n",
                 "# TYPE twamp_reflector_source_table_collisions_total counter\n",
                 "twamp_reflector_source_table_collisions_total 8\n",
         }) {
        EXPECT_NE(t.find(line), std::string::npos) << line << "\nin:\n" << t;
    }
    // Six reasons for every reflector; prefix series only for the rules there are.
    const std::regex limit_series(R"(\ntwamp_reflector_limit_drops_total\{)");
    EXPECT_EQ(std::distance(std::sregex_iterator(t.begin(), t.end(), limit_series),
                            std::sregex_iterator()),
              static_cast<long>(6 * s.reflectors.size()));
    const std::regex prefix_series(R"(\ntwamp_reflector_prefix_limit_drops_total\{)");
    EXPECT_EQ(std::distance(std::sregex_iterator(t.begin(), t.end(), prefix_series),
                            std::sregex_iterator()),
              2);
}

} // namespace

// The STAMP TLV label values by index: the TLV Type for 1..10 (RFC 8972 §6.2, RFC 9503 §5),
// "other" at 0.
TEST(names, stamp_tlv_types_and_flags) {
    EXPECT_EQ(stamp_tlv_type_names[0], "other");
    EXPECT_EQ(stamp_tlv_type_names[1], "extra_padding");
    EXPECT_EQ(stamp_tlv_type_names[4], "class_of_service");
    EXPECT_EQ(stamp_tlv_type_names[5], "direct_measurement");
    EXPECT_EQ(stamp_tlv_type_names[8], "hmac");
    EXPECT_EQ(stamp_tlv_type_names[9], "destination_node_address");
    EXPECT_EQ(stamp_tlv_type_names[10], "return_path");
    EXPECT_EQ(stamp_tlv_flag_names[0], "u");
    EXPECT_EQ(stamp_tlv_flag_names[1], "m");
    EXPECT_EQ(stamp_tlv_flag_names[2], "i");
}

// metrics/names.hpp: one table per fact. The bounds in seconds are derived from the bounds in
// nanoseconds the workers bucket by, and must be exactly the doubles the exposition always
// printed (le="1e-06", ...).
TEST(names, residence_bounds_in_seconds_are_the_old_literals) {
    const double literals[] = {1e-6,   2e-6,   5e-6, 10e-6, 20e-6, 50e-6, 100e-6,
                               200e-6, 500e-6, 1e-3, 2e-3,  5e-3,  10e-3};
    ASSERT_EQ(std::size(literals), residence_bounds_s.size());
    for (std::size_t i = 0; i < residence_bounds_s.size(); ++i) {
        EXPECT_EQ(residence_bounds_s[i], literals[i]) << i;
        EXPECT_EQ(residence_bounds_ns[i], static_cast<uint64_t>(literals[i] * 1e9 + 0.5)) << i;
    }
    EXPECT_EQ(residence_buckets, residence_bounds_ns.size() + 1);
}

TEST(names, exception_directions_and_to_wire_drops) {
    EXPECT_EQ(name_of(exception_direction::to_kernel), "to_kernel");
    EXPECT_EQ(name_of(exception_direction::to_wire), "to_wire");
    // The exit summary says it from the kernel's side (lab_tests.py parses these words).
    EXPECT_EQ(summary_name_of(exception_direction::to_kernel), "to-kernel");
    EXPECT_EQ(summary_name_of(exception_direction::to_wire), "from-kernel");
    EXPECT_EQ(to_wire_drop_names[static_cast<std::size_t>(to_wire_drop::rate_limit)], "rate_limit");
    EXPECT_EQ(to_wire_drop_names[static_cast<std::size_t>(to_wire_drop::shutdown)], "shutdown");
    EXPECT_EQ(to_wire_drop_names[static_cast<std::size_t>(to_wire_drop::no_mbuf)], "no_mbuf");
    box_stats s;
    s.to_kernel = 93;
    s.to_wire = 7;
    const std::string t = text(s);
    EXPECT_NE(t.find("twamp_reflector_exception_packets_total{direction=\"to_wire\"} 7\n"),
              std::string::npos);
}

// A TCP socket listening on 127.0.0.1, a port the system chose (`port`); -1 when that fails.
int listening_on_loopback(uint16_t& port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 ||
        listen(fd, 1) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    port = ntohs(a.sin_port);
    return fd;
}

// listen_problem: the system's reason, after "cannot bind <address>:<port>: ".
TEST(listen_problem, port_in_use_and_address_not_ours) {
    uint16_t port = 0;
    const int fd = listening_on_loopback(port);
    ASSERT_GE(fd, 0);
    const net::address lo = net::address::v4(127, 0, 0, 1);
    const std::string where = "cannot bind 127.0.0.1:" + std::to_string(port) + ": ";
    const std::string why = listen_problem(lo, port);
    EXPECT_EQ(why.rfind(where, 0), 0U) << why;
    EXPECT_NE(why.find("(another process listens there"), std::string::npos) << why;
    close(fd);
    EXPECT_EQ(listen_problem(lo, port), "");

    // TEST-NET-1 / documentation prefixes: no interface has them.
    EXPECT_NE(listen_problem(net::address::v4(192, 0, 2, 1), 9).find("cannot bind 192.0.2.1:9: "),
              std::string::npos);
    EXPECT_NE(listen_problem(*net::address::parse("2001:db8::1"), 9).find("[2001:db8::1]:9"),
              std::string::npos);
}

// Issue 18: the control server's work rounds and backed-up connections, and the new refusal
// reasons as labels of control_connections_refused_total.
TEST(prometheus, control_abuse_families) {
    box_stats s = sample();
    s.control.busy_polls = 1234;
    s.control.connections_backed_up = 2;
    s.control.refused = {{"per_source", 5},
                         {"pending", 6},
                         {"closed_setup_timeout", 7},
                         {"closed_send_stalled", 8}};
    const std::string t = text(s);
    for (const char* line :
         {"# TYPE twamp_reflector_control_busy_polls_total counter\n",
          "twamp_reflector_control_busy_polls_total 1234\n",
          "# TYPE twamp_reflector_control_connections_backed_up gauge\n",
          "twamp_reflector_control_connections_backed_up 2\n",
          "twamp_reflector_control_connections_refused_total{reason=\"per_source\"} 5\n",
          "twamp_reflector_control_connections_refused_total{reason=\"pending\"} 6\n",
          "twamp_reflector_control_connections_refused_total{reason=\"closed_setup_timeout\"} 7\n",
          "twamp_reflector_control_connections_refused_total{reason=\"closed_send_stalled\"} "
          "8\n"}) {
        EXPECT_NE(t.find(line), std::string::npos) << line << "\nin:\n" << t;
    }
}

// Issue 19: what runs and since when, the last reload, the links, sessions per reflector, and
// the residence buckets at 2 and 5 ms.
TEST(prometheus, operator_series) {
    box_stats s = sample();
    s.version = "0.1.0";
    s.dpdk_version = "22.11.1";
    s.start_unix_ns = 1'700'000'000'500'000'000;
    s.reflectors[0].sessions_active = 4;
    s.ports[0].link_state = "up";
    s.ports[0].link_speed_mbps = 10'000;
    s.ports[0].link_changes = 3;
    port_stats down;
    down.name = "wire1";
    down.link_state = "down";
    s.ports.push_back(down);
    port_stats unknown;
    unknown.name = "wire2";
    s.ports.push_back(unknown);
    s.reflectors[0].residence.buckets[10] = 7; // (1, 2] ms
    s.reflectors[0].residence.buckets[11] = 1; // (2, 5] ms
    std::string t = text(s);
    for (const char* line : {
                 "# TYPE twamp_reflector_build_info gauge\n",
                 "twamp_reflector_build_info{version=\"0.1.0\",dpdk_version=\"22.11.1\"} 1\n",
                 "# TYPE twamp_reflector_start_time_seconds gauge\n",
                 "twamp_reflector_start_time_seconds 1700000000.5\n",
                 "# TYPE twamp_reflector_reflector_sessions_active gauge\n",
                 "twamp_reflector_reflector_sessions_active{reflector=\"base\"} 4\n",
                 "# TYPE twamp_reflector_port_link_up gauge\n",
                 "twamp_reflector_port_link_up{port=\"wire0\"} 1\n",
                 "twamp_reflector_port_link_up{port=\"wire1\"} 0\n",
                 "twamp_reflector_port_link_speed_bytes_per_second{port=\"wire0\"} 1250000000\n",
                 "twamp_reflector_port_link_speed_bytes_per_second{port=\"wire1\"} 0\n",
                 "# TYPE twamp_reflector_port_link_changes_total counter\n",
                 "twamp_reflector_port_link_changes_total{port=\"wire0\"} 3\n",
                 // No reload yet: the start-up file runs.
                 "twamp_reflector_config_last_reload_timestamp_seconds 0\n",
                 "twamp_reflector_config_last_reload_successful 1\n",
                 "twamp_reflector_config_last_reload_result{result=\"none\"} 1\n",
                 "twamp_reflector_config_last_reload_result{result=\"applied\"} 0\n",
                 // Cumulative: 3 + 5 (<= 10 us) + 7 + 1.
                 "twamp_reflector_residence_time_seconds_bucket{reflector=\"base\",le=\"0.001\"} "
                 "8\n",
                 "twamp_reflector_residence_time_seconds_bucket{reflector=\"base\",le=\"0.002\"} "
                 "15\n",
                 "twamp_reflector_residence_time_seconds_bucket{reflector=\"base\",le=\"0.005\"} "
                 "16\n",
                 "twamp_reflector_residence_time_seconds_bucket{reflector=\"base\",le=\"0.01\"} "
                 "16\n",
         }) {
        EXPECT_NE(t.find(line), std::string::npos) << line << "\nin:\n" << t;
    }
    // A link whose state is unknown (not yet polled, or rte_eth_link_get_nowait fails on that
    // device) has no port_link_up sample: a 0 there would fire TwampLinkDown forever. Its
    // speed (0: unknown) and changes are still there.
    EXPECT_EQ(t.find("twamp_reflector_port_link_up{port=\"wire2\"}"), std::string::npos) << t;
    EXPECT_NE(t.find("twamp_reflector_port_link_speed_bytes_per_second{port=\"wire2\"} 0\n"),
              std::string::npos);
    EXPECT_NE(t.find("twamp_reflector_port_link_changes_total{port=\"wire2\"} 0\n"),
              std::string::npos);
    for (const char* r : {"applied", "unchanged", "rejected", "refused"}) {
        s.last_reload_result = r;
        s.last_reload_unix_ns = 1'700'000'100'250'000'000;
        t = text(s);
        const bool ok = std::string(r) == "applied" || std::string(r) == "unchanged";
        EXPECT_NE(t.find(std::string("twamp_reflector_config_last_reload_successful ") +
                         (ok ? "1" : "0") + "\n"),
                  std::string::npos)
                << r;
        EXPECT_NE(t.find("twamp_reflector_config_last_reload_timestamp_seconds 1700000100.25\n"),
                  std::string::npos);
        std::smatch m;
        const std::regex one("config_last_reload_result\\{result=\"([a-z]+)\"\\} 1\n");
        ASSERT_TRUE(std::regex_search(t, m, one)) << r;
        EXPECT_EQ(m[1], r);
    }
}

namespace {

// One HTTP/1.0 request to 127.0.0.1:port; the whole answer (head and body).
std::string http(int port, const std::string& request) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return "";
    }
    timeval tv{10, 0}; // bounded: a hung server fails the test instead of holding it
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    std::string out;
    if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0 &&
        send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(request.size())) {
        char buf[4096];
        for (int i = 0; i < 10'000; ++i) {
            const ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n <= 0) {
                break;
            }
            out.append(buf, static_cast<std::size_t>(n));
        }
    }
    close(fd);
    return out;
}

class fixed : public prometheus::Collectable {
public:
    explicit fixed(box_stats s) : s_(std::move(s)) {}
    std::vector<prometheus::MetricFamily> Collect() const override {
        return families(s_, {{"site", "lab1"}});
    }

private:
    box_stats s_;
};

} // namespace

// The endpoint serves our families and nothing else: no exposer_* series (prometheus::Exposer
// would add them), GET and HEAD only, /metrics only.
TEST(http_exporter, serves_our_families_only) {
    box_stats s = sample();
    s.version = "0.1.0";
    http_exporter ex(
            {"listening_ports", "127.0.0.1:0", "num_threads", "2", "request_timeout_ms", "5000"},
            std::make_shared<fixed>(s));
    const int port = ex.port();
    ASSERT_GT(port, 0);
    const std::string got = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
    const std::size_t head_end = got.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << got;
    EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << got.substr(0, 200);
    EXPECT_NE(got.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
    const std::string body = got.substr(head_end + 4);
    EXPECT_EQ(body, text(s, {{"site", "lab1"}}));
    EXPECT_EQ(body.find("exposer_"), std::string::npos);
    EXPECT_NE(body.find("twamp_reflector_build_info{site=\"lab1\",version=\"0.1.0\""),
              std::string::npos);
    // A second scrape: the same (nothing counts scrapes into the exposition).
    EXPECT_EQ(http(port, "GET /metrics HTTP/1.0\r\n\r\n"), got);

    const std::string head = http(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
    EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << head;
    EXPECT_EQ(head.substr(head.find("\r\n\r\n") + 4), "");
    EXPECT_EQ(http(port, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
                      .rfind("HTTP/1.1 405", 0),
              0U);
    const std::string root = http(port, "GET / HTTP/1.0\r\n\r\n");
    EXPECT_EQ(root.rfind("HTTP/1.1 404", 0), 0U) << root;
}

namespace {

// A source that records how many Collect() calls run at once. Each call holds on until another
// one joins it (at most 200 ms): without serialisation, concurrent scrapes meet there.
class probe : public prometheus::Collectable {
public:
    std::vector<prometheus::MetricFamily> Collect() const override {
        const int now = ++inside_;
        int seen = max_inside_.load();
        while (now > seen && !max_inside_.compare_exchange_weak(seen, now)) {
        }
        ++calls_;
        for (int i = 0; i < 200 && inside_.load() < 2; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        box_stats s = sample();
        s.reflected_pkts = value_.load();
        --inside_;
        return families(s, {});
    }
    mutable std::atomic<int> inside_{0}, max_inside_{0}, calls_{0};
    std::atomic<uint64_t> value_{0};
};

std::string scrape_body(int port) {
    const std::string got = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
    if (got.rfind("HTTP/1.1 200 OK\r\n", 0) != 0 || got.find("\r\n\r\n") == std::string::npos) {
        return "no 200: " + got.substr(0, 200);
    }
    return got.substr(got.find("\r\n\r\n") + 4);
}

// A source whose Collect() reads its value first, then waits until the test lets it finish.
class gate : public prometheus::Collectable {
public:
    std::vector<prometheus::MetricFamily> Collect() const override {
        box_stats s = sample();
        s.reflected_pkts = value_.load();
        std::unique_lock<std::mutex> lock(mu_);
        ++entered_;
        cv_.notify_all();
        cv_.wait_for(lock, std::chrono::seconds(10), [this] { return open_; });
        return families(s, {});
    }
    void wait_entered(int n) const {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, std::chrono::seconds(10), [&] { return entered_ >= n; });
    }
    void open() {
        const std::lock_guard<std::mutex> lock(mu_);
        open_ = true;
        cv_.notify_all();
    }
    std::atomic<uint64_t> value_{0};

private:
    mutable std::mutex mu_;
    mutable std::condition_variable cv_;
    mutable int entered_ = 0;
    bool open_ = false;
};

} // namespace

// Review of issue 19: civetweb's 8 request threads answered 8 scrapes with 8 gathers at once
// (each reading every port's ethdev counters, which DPDK does not allow concurrently). Now
// one Collect() runs at a time, and every scrape still gets the whole body.
TEST(http_exporter, concurrent_scrapes_never_collect_at_once) {
    auto src = std::make_shared<probe>();
    src->value_ = 42;
    http_exporter ex(
            {"listening_ports", "127.0.0.1:0", "num_threads", "8", "request_timeout_ms", "5000"},
            src);
    const int port = ex.port();
    ASSERT_GT(port, 0);
    constexpr int clients = 8;
    std::promise<void> go;
    std::shared_future<void> start = go.get_future().share();
    std::vector<std::future<std::string>> got;
    for (int i = 0; i < clients; ++i) {
        got.push_back(std::async(std::launch::async, [start, port] {
            start.wait();
            return scrape_body(port);
        }));
    }
    go.set_value();
    box_stats want = sample();
    want.reflected_pkts = 42;
    for (auto& g : got) {
        EXPECT_EQ(g.get(), text(want));
    }
    RecordProperty("gathers", src->calls_.load()); // 8 scrapes share them (2 when all overlap)
    EXPECT_EQ(src->max_inside_.load(), 1) << src->calls_.load() << " gathers";
    EXPECT_GE(src->calls_.load(), 1);
    EXPECT_LE(src->calls_.load(), clients);
}

// A scrape never gets a body gathered before it arrived: traffic sent, then a scrape, reads
// exact counters even while an older gather is still running or just finished.
TEST(http_exporter, body_never_older_than_its_request) {
    auto src = std::make_shared<gate>();
    src->value_ = 1;
    http_exporter ex({"listening_ports", "127.0.0.1:0", "num_threads", "2"}, src);
    box_stats want = sample();
    // An older scrape's gather holds the lock, its value (1) already read.
    auto first = std::async(std::launch::async, [&ex] { return ex.body(); });
    src->wait_entered(1);
    src->value_ = 2; // "traffic" after the first gather began, before the second scrape
    auto second = std::async(std::launch::async, [&ex] { return ex.body(); });
    src->open();
    want.reflected_pkts = 1;
    EXPECT_EQ(first.get(), text(want));
    want.reflected_pkts = 2;
    EXPECT_EQ(second.get(), text(want)) << "the second scrape got the first one's body";
    // Back to back, right after a change: never a cached body.
    src->value_ = 3;
    want.reflected_pkts = 3;
    EXPECT_EQ(ex.body(), text(want));
    src->value_ = 4;
    want.reflected_pkts = 4;
    EXPECT_EQ(scrape_body(ex.port()), text(want));
}

// A port another socket holds: the constructor throws, and listen_problem says why.
TEST(http_exporter, port_in_use_throws) {
    uint16_t port = 0;
    const int fd = listening_on_loopback(port);
    ASSERT_GE(fd, 0);
    const std::string where = "127.0.0.1:" + std::to_string(port);
    EXPECT_THROW(http_exporter({"listening_ports", where}, std::make_shared<fixed>(sample())),
                 std::runtime_error);
    close(fd);
}
