// A control_io without sockets for slowpath::control_server: connections are byte queues both
// ways, with a send window the test opens and closes (a client that does not read), and a
// record of what the server polls each connection for. Used by the unit tests
// (test_control_server.cpp) and tests/fuzz/fuzz_control_server.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "twamp/slowpath/control_server.hpp"

namespace twamp::control::test {

class fake_control_io final : public slowpath::control_io {
public:
    struct peer {
        net::address local, address;
        std::deque<uint8_t> to_server;      // sent by the client, not yet read by the server
        std::vector<uint8_t> from_server;   // what the server sent, in order
        std::size_t window = 1'000'000'000; // octets the server may still send before "full"
        bool fin = false;                   // the client closed its side
        bool reset = false;                 // the connection broke (recv/send fail, hangup)
        bool read = false, write = false;   // what the server polls it for
        bool watched = false;
        bool closed = false; // the server closed it
    };

    // What each test looks at: every connection ever made, by fd (closed ones stay).
    std::map<int, peer> peers;
    bool listening = false;
    bool listener_polled = true; // watch(listener, ...)
    int accept_failures = 0;     // accept() calls that fail with out_of_fds (EMFILE) first
    uint64_t accept_calls = 0;
    uint64_t recv_calls = 0, send_calls = 0; // syscalls the server would have made

    // A client connects: the server sees it at its next wait()/accept().
    int connect(const net::address& from, const net::address& to) {
        const int fd = next_fd_++;
        peer p;
        p.address = from;
        p.local = to;
        peers.emplace(fd, std::move(p));
        backlog_.push_back(fd);
        return fd;
    }
    void send_to_server(int fd, std::span<const uint8_t> b) {
        auto& q = peers.at(fd).to_server;
        q.insert(q.end(), b.begin(), b.end());
    }
    // The client reads everything the server sent so far and opens its window by `open`.
    std::vector<uint8_t> take(int fd) {
        auto& p = peers.at(fd);
        std::vector<uint8_t> v;
        v.swap(p.from_server);
        return v;
    }
    void set_window(int fd, std::size_t n) { peers.at(fd).window = n; }
    void client_close(int fd) { peers.at(fd).fin = true; }
    void client_reset(int fd) { peers.at(fd).reset = true; }
    std::size_t backlog() const { return backlog_.size(); }
    std::size_t open_count() const {
        return static_cast<std::size_t>(std::count_if(
                peers.begin(), peers.end(), [](const auto& kv) { return !kv.second.closed; }));
    }

    // control_io
    bool listen(const net::address&, uint16_t, std::string&) override {
        listening = true;
        return true;
    }
    std::optional<accepted> accept() override {
        ++accept_calls;
        if (backlog_.empty()) {
            return std::nullopt;
        }
        if (accept_failures > 0) {
            --accept_failures;
            return accepted{out_of_fds, {}, {}};
        }
        if (backlog_.empty()) {
            return std::nullopt;
        }
        const int fd = backlog_.front();
        backlog_.pop_front();
        const auto& p = peers.at(fd);
        // The client's TCP port: 40000 + fd (events name the peer by it).
        return accepted{fd, p.local, p.address, 862, static_cast<uint16_t>(40000 + fd)};
    }
    long recv(int fd, std::span<uint8_t> buf) override {
        ++recv_calls;
        auto& p = live(fd);
        if (p.reset) {
            return -2;
        }
        if (p.to_server.empty()) {
            return p.fin ? 0 : -1;
        }
        const std::size_t n = std::min(buf.size(), p.to_server.size());
        std::copy_n(p.to_server.begin(), n, buf.begin());
        p.to_server.erase(p.to_server.begin(), p.to_server.begin() + static_cast<long>(n));
        return static_cast<long>(n);
    }
    long send(int fd, std::span<const uint8_t> buf) override {
        ++send_calls;
        auto& p = live(fd);
        if (p.reset) {
            return -1;
        }
        const std::size_t n = std::min(buf.size(), p.window);
        p.from_server.insert(p.from_server.end(), buf.begin(), buf.begin() + static_cast<long>(n));
        p.window -= n;
        return static_cast<long>(n);
    }
    void watch(int fd, bool read, bool write) override {
        if (fd == listener) {
            listener_polled = read;
            return;
        }
        auto& p = live(fd);
        p.watched = true;
        p.read = read;
        p.write = write;
    }
    void close(int fd) override { live(fd).closed = true; }
    std::size_t wait(std::span<event> out) override {
        std::size_t n = 0;
        if (listening && listener_polled && !backlog_.empty() && n < out.size()) {
            out[n++] = {listener, readable};
        }
        for (auto& [fd, p] : peers) {
            if (n == out.size()) {
                break;
            }
            if (p.closed || !p.watched) {
                continue;
            }
            uint32_t what = 0;
            if (p.read && (!p.to_server.empty() || p.fin || p.reset)) {
                what |= readable;
            }
            if (p.write && (p.window > 0 || p.reset)) {
                what |= writable;
            }
            if (p.reset) {
                what |= hangup;
            }
            if (what != 0) {
                out[n++] = {fd, what};
            }
        }
        return n;
    }

private:
    peer& live(int fd) {
        auto& p = peers.at(fd);
        if (p.closed) {
            throw std::logic_error("control_server used fd " + std::to_string(fd) +
                                   " after closing it");
        }
        return p;
    }
    int next_fd_ = 3;
    std::deque<int> backlog_;
};

} // namespace twamp::control::test
