#include "twamp/slowpath/tap_watch.hpp"

#include <cerrno>
#include <cstddef>
#include <cstring>

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "twamp/log.hpp"
#include "twamp/slowpath/exception.hpp"

namespace twamp::slowpath {

namespace {

bool same_address(const dataplane::ip_prefix& p, bool v6, const uint8_t* addr, unsigned len) {
    return p.address.is_v6() == v6 && p.length == len &&
           std::memcmp(p.address.bytes.data(), addr, v6 ? 16 : 4) == 0;
}

// The interface's flags now (SIOCGIFFLAGS), ~0u when they cannot be read.
unsigned current_flags(const std::string& name) {
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        return ~0u;
    }
    const bool ok = ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
    ::close(s);
    return ok ? static_cast<unsigned short>(ifr.ifr_flags) : ~0u;
}

} // namespace

tap_watch::~tap_watch() {
    close();
}

bool tap_watch::open(std::string& error) {
    if (fd_ >= 0) {
        return true;
    }
    int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) {
        error = std::string("netlink socket: ") + std::strerror(errno);
        return false;
    }
    // Taking an interface down deletes its IPv6 addresses in one go: room for many messages
    // (SO_RCVBUFFORCE passes net.core.rmem_max with CAP_NET_ADMIN, which the box has).
    int rcvbuf = 1 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
    // The route groups carry every route change of the host: the kernel drops, before they
    // are queued, every route message but the deletions in the box's own table, so a host's
    // route churn neither wakes the slow path nor overflows the socket (ENOBUFS, a resync).
    // Classic BPF reads halfwords in network order: nlmsg_type is in host order.
    constexpr uint8_t table_byte = route_table < 256 ? route_table : RT_TABLE_COMPAT;
    sock_filter code[] = {
            BPF_STMT(BPF_LD | BPF_H | BPF_ABS, offsetof(nlmsghdr, nlmsg_type)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohs(RTM_NEWROUTE), 4, 0),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohs(RTM_DELROUTE), 0, 2),
            BPF_STMT(BPF_LD | BPF_B | BPF_ABS, NLMSG_HDRLEN + offsetof(rtmsg, rtm_table)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, table_byte, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, 0xffffffffU), // keep
            BPF_STMT(BPF_RET | BPF_K, 0),           // drop
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof code / sizeof code[0]), code};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
        TWAMP_LOG(WARNING,
                  "netlink route filter not attached (%s): every host route change "
                  "is read",
                  std::strerror(errno));
    }
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    // Routes too: a configured route (ports[].exception.routes) deleted by hand is put back.
    sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE |
                   RTMGRP_IPV6_ROUTE;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        error = std::string("netlink bind: ") + std::strerror(errno);
        ::close(fd);
        return false;
    }
    fd_ = fd;
    return true;
}

void tap_watch::close() noexcept {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    ifaces_.clear();
}

void tap_watch::add(const std::string& name, const std::vector<dataplane::ip_prefix>& addresses,
                    uint16_t wire_port_id, bool tap,
                    const std::vector<dataplane::route_spec>& routes, bool in_table) {
    watched w;
    w.name = name;
    w.index = static_cast<int>(if_nametoindex(name.c_str()));
    w.wire_port_id = wire_port_id;
    w.tap = tap;
    w.addresses = addresses;
    w.missing.assign(addresses.size(), false);
    w.routes = routes;
    w.in_table = in_table;
    ifaces_.push_back(std::move(w));
}

bool tap_watch::tap_usable(uint16_t wire_port_id) const noexcept {
    for (const auto& w : ifaces_) {
        if (w.tap && w.wire_port_id == wire_port_id) {
            return w.up && !w.gone;
        }
    }
    return true;
}

void tap_watch::on_link(int index, const std::string& name, unsigned flags, bool deleted) {
    for (auto& w : ifaces_) {
        if (w.gone || w.index != index) {
            continue;
        }
        if (deleted) {
            w.gone = true;
            if (w.tap) {
                TWAMP_LOG(ERR,
                          "exception interface %s deleted: the kernel side of its port is gone "
                          "(no ARP/ND/ICMP answers, no TWAMP-Control there) until dpdk-twamp is "
                          "restarted; frames for the kernel are dropped (reason "
                          "exception_iface_down)",
                          w.name.c_str());
            } else {
                TWAMP_LOG(ERR,
                          "VLAN interface %s deleted: the kernel no longer answers for its "
                          "addresses until dpdk-twamp is restarted",
                          w.name.c_str());
            }
            continue;
        }
        if (!name.empty() && name != w.name) {
            TWAMP_LOG(WARNING, "interface %s renamed to %s (still watched)", w.name.c_str(),
                      name.c_str());
            w.name = name;
        }
        // The message is the trigger, the kernel's state now is the truth: a link toggled
        // down and up can deliver a NEWLINK with the old flags after the one with the new
        // (seen on Linux 6.x with the TAP: down, down, up, down, up for one down/up).
        const unsigned now_flags = current_flags(w.name);
        const bool up = ((now_flags != ~0u ? now_flags : flags) & IFF_UP) != 0;
        if (up == w.up) {
            continue;
        }
        w.up = up;
        w.failed_logged = false;
        w.retry_at_ns = 0;
        if (up) {
            w.routes_due = w.in_table; // the kernel dropped them with the link
            TWAMP_LOG(NOTICE, "interface %s is up again", w.name.c_str());
        } else {
            TWAMP_LOG(WARNING,
                      "interface %s went down: the kernel dropped its IPv6 addresses; they are "
                      "restored when it comes up%s",
                      w.name.c_str(),
                      w.tap ? " (frames for the kernel are dropped meanwhile, reason "
                              "exception_iface_down)"
                            : "");
        }
    }
}

void tap_watch::on_addr(int index, bool deleted, bool v6, const uint8_t* addr, unsigned len) {
    for (auto& w : ifaces_) {
        if (w.gone || w.index != index) {
            continue;
        }
        for (std::size_t i = 0; i < w.addresses.size(); ++i) {
            if (!same_address(w.addresses[i], v6, addr, len) || w.missing[i] == deleted) {
                continue;
            }
            w.missing[i] = deleted;
            if (deleted && w.up) {
                TWAMP_LOG(WARNING, "address %s deleted from %s: restoring it",
                          w.addresses[i].to_string().c_str(), w.name.c_str());
            }
        }
    }
}

void tap_watch::on_route_deleted(int index, bool v6, const uint8_t* dst, unsigned dst_len,
                                 const uint8_t* gateway) {
    for (auto& w : ifaces_) {
        if (w.gone || w.index != index || w.routes_due) {
            continue;
        }
        for (const auto& r : w.routes) {
            const std::size_t n = v6 ? 16 : 4;
            const bool same = r.to.address.is_v6() == v6 && r.to.length == dst_len &&
                              (dst_len == 0 ||
                               (dst && std::memcmp(r.to.address.bytes.data(), dst, n) == 0)) &&
                              gateway && std::memcmp(r.via.bytes.data(), gateway, n) == 0;
            if (!same) {
                continue;
            }
            w.routes_due = true;
            // (The flags now: a link going down deletes its routes before its own event is
            // read; that loss is logged as the link's.)
            const unsigned flags = current_flags(w.name);
            if (w.up && flags != ~0u && (flags & IFF_UP)) {
                TWAMP_LOG(WARNING, "route %s via %s deleted from %s: restoring it",
                          r.to.to_string().c_str(), r.via.to_string().c_str(), w.name.c_str());
            }
            break;
        }
    }
}

bool tap_watch::restore(watched& w, uint64_t now_ns) {
    if (w.gone || !w.up || now_ns < w.retry_at_ns) {
        return false;
    }
    std::string restored, error;
    bool any = false;
    for (std::size_t i = 0; i < w.addresses.size(); ++i) {
        if (!w.missing[i] && !w.resync) {
            continue;
        }
        any = true;
        if (!add_address(w.name, w.addresses[i], error)) {
            // Down again in between, or deleted: the next event says which. Retry in a second.
            if (!w.failed_logged) {
                TWAMP_LOG(ERR, "restoring the addresses of %s: %s (retrying every second)",
                          w.name.c_str(), error.c_str());
                w.failed_logged = true;
            }
            w.retry_at_ns = now_ns + 1'000'000'000;
            return true;
        }
        if (w.missing[i]) {
            restored += (restored.empty() ? "" : ", ") + w.addresses[i].to_string();
        }
        w.missing[i] = false;
    }
    if (w.in_table && (w.resync || !restored.empty())) {
        w.routes_due = true; // a gateway's route goes with the address whose subnet holds it
    }
    w.resync = false;
    w.failed_logged = false;
    if (!restored.empty()) {
        // The kernel adds each address's prefix route with it; IPv4's own routes come back
        // with the link.
        TWAMP_LOG(NOTICE, "interface %s: addresses restored: %s", w.name.c_str(), restored.c_str());
    }
    if (w.routes_due) {
        any = true;
        if (!add_table_routes(w.name, w.addresses, w.routes, error)) {
            if (!w.failed_logged) {
                TWAMP_LOG(ERR, "restoring the routes of %s: %s (retrying every second)",
                          w.name.c_str(), error.c_str());
                w.failed_logged = true;
            }
            w.retry_at_ns = now_ns + 1'000'000'000;
            return true;
        }
        std::string done;
        for (const auto& r : w.routes) {
            done += (done.empty() ? "" : ", ") + r.to.to_string() + " via " + r.via.to_string();
        }
        if (done.empty()) {
            done = "its subnets";
        }
        w.routes_due = false;
        w.failed_logged = false;
        TWAMP_LOG(NOTICE, "interface %s: routes restored: %s", w.name.c_str(), done.c_str());
    }
    return any;
}

bool tap_watch::poll(uint64_t now_ns) {
    if (fd_ < 0) {
        return false;
    }
    bool work = false;
    alignas(nlmsghdr) uint8_t buf[16384];
    for (;;) {
        ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == ENOBUFS) {
                // Events were lost: re-checked below, at most once a second.
                resync_pending_ = true;
                work = true;
                continue;
            }
            break; // EAGAIN: nothing more
        }
        work = true;
        auto* h = reinterpret_cast<nlmsghdr*>(buf);
        int len = static_cast<int>(n);
        for (; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK) {
                auto* ifi =
                        reinterpret_cast<ifinfomsg*>(reinterpret_cast<uint8_t*>(h) + NLMSG_HDRLEN);
                std::string name;
                int alen = static_cast<int>(IFLA_PAYLOAD(h));
                for (auto* a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
                    if (a->rta_type == IFLA_IFNAME) {
                        name.assign(static_cast<const char*>(RTA_DATA(a)),
                                    strnlen(static_cast<const char*>(RTA_DATA(a)), RTA_PAYLOAD(a)));
                    }
                }
                on_link(ifi->ifi_index, name, ifi->ifi_flags, h->nlmsg_type == RTM_DELLINK);
            } else if (h->nlmsg_type == RTM_DELROUTE) {
                auto* rt = reinterpret_cast<rtmsg*>(reinterpret_cast<uint8_t*>(h) + NLMSG_HDRLEN);
                const bool v6 = rt->rtm_family == AF_INET6;
                if (!v6 && rt->rtm_family != AF_INET) {
                    continue;
                }
                const unsigned octets = v6 ? 16u : 4u;
                unsigned table = rt->rtm_table;
                int oif = 0;
                const uint8_t* dst = nullptr;
                const uint8_t* gateway = nullptr;
                int alen = static_cast<int>(RTM_PAYLOAD(h));
                for (auto* a = RTM_RTA(rt); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
                    if (a->rta_type == RTA_TABLE && RTA_PAYLOAD(a) >= 4) {
                        std::memcpy(&table, RTA_DATA(a), 4);
                    } else if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= 4) {
                        std::memcpy(&oif, RTA_DATA(a), 4);
                    } else if (a->rta_type == RTA_DST && RTA_PAYLOAD(a) >= octets) {
                        dst = static_cast<const uint8_t*>(RTA_DATA(a));
                    } else if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) >= octets) {
                        gateway = static_cast<const uint8_t*>(RTA_DATA(a));
                    }
                }
                if (table == route_table && oif != 0) {
                    on_route_deleted(oif, v6, dst, rt->rtm_dst_len, gateway);
                }
            } else if (h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR) {
                auto* ifa =
                        reinterpret_cast<ifaddrmsg*>(reinterpret_cast<uint8_t*>(h) + NLMSG_HDRLEN);
                const bool v6 = ifa->ifa_family == AF_INET6;
                if (!v6 && ifa->ifa_family != AF_INET) {
                    continue;
                }
                const uint8_t* addr = nullptr;
                int alen = static_cast<int>(IFA_PAYLOAD(h));
                for (auto* a = IFA_RTA(ifa); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
                    // IFA_LOCAL is the address itself (IFA_ADDRESS the peer's on
                    // point-to-point links); IPv6 sends only IFA_ADDRESS.
                    const bool want = v6 ? a->rta_type == IFA_ADDRESS : a->rta_type == IFA_LOCAL;
                    if (want && RTA_PAYLOAD(a) >= (v6 ? 16u : 4u)) {
                        addr = static_cast<const uint8_t*>(RTA_DATA(a));
                    }
                }
                if (addr) {
                    on_addr(static_cast<int>(ifa->ifa_index), h->nlmsg_type == RTM_DELADDR, v6,
                            addr, ifa->ifa_prefixlen);
                }
            }
        }
    }
    if (resync_pending_ && (!resynced_ || now_ns >= last_resync_ns_ + 1'000'000'000)) {
        // Take the interfaces' state from the kernel, put back every address (`ip addr
        // replace` keeps what is there) and route. Rate-limited: a storm of lost events costs
        // one round of `ip` commands a second, not one per overflow.
        resync_pending_ = false;
        resynced_ = true;
        last_resync_ns_ = now_ns;
        TWAMP_LOG(WARNING, "netlink events lost: re-checking the exception interfaces");
        for (auto& w : ifaces_) {
            if (w.gone) {
                continue;
            }
            const int idx = static_cast<int>(if_nametoindex(w.name.c_str()));
            if (idx != w.index) {
                on_link(w.index, w.name, 0, true);
                continue;
            }
            on_link(w.index, w.name, 0, false); // reads the flags itself
            w.resync = true;
        }
        work = true;
    }
    for (auto& w : ifaces_) {
        work = restore(w, now_ns) || work;
    }
    return work;
}

} // namespace twamp::slowpath
