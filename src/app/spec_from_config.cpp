#include "spec_from_config.hpp"

namespace twamp::app {

dataplane::dataplane_spec spec_from_config(const config::config& cfg, slot_map& slots) {
    dataplane::dataplane_spec s;
    for (const auto& pc : cfg.ports) {
        dataplane::port_spec ps;
        ps.name = pc.name;
        ps.device = pc.device;
        ps.addresses = pc.addresses;
        for (const auto& v : pc.vlans) {
            ps.vlans.push_back({v.id, v.addresses});
        }
        switch (pc.timestamps) {
        case config::hw_timestamps::automatic:
            ps.hw_timestamps = dataplane::hw_ts_mode::auto_;
            break;
        case config::hw_timestamps::on:
            ps.hw_timestamps = dataplane::hw_ts_mode::on;
            break;
        case config::hw_timestamps::off:
            ps.hw_timestamps = dataplane::hw_ts_mode::off;
            break;
        }
        switch (pc.t3) {
        case config::t3_method::automatic:
            ps.t3 = dataplane::t3_request::automatic;
            break;
        case config::t3_method::scheduled:
            ps.t3 = dataplane::t3_request::scheduled;
            break;
        case config::t3_method::device_clock:
            ps.t3 = dataplane::t3_request::device_clock;
            break;
        case config::t3_method::software:
            ps.t3 = dataplane::t3_request::software;
            break;
        }
        ps.t3_lead_ns = pc.t3_lead_ns;
        ps.tx_timestamps = pc.tx_ts != config::tx_timestamps::off;
        if (pc.hw_clock) {
            ps.hw_clock_stated = true;
            ps.hw_clock_ns_per_unit = pc.hw_clock->unit == config::clock_unit::us ? 1000 : 1;
            ps.hw_clock_epoch_tai = pc.hw_clock->epoch == config::clock_epoch::tai;
        }
        ps.exception_iface = pc.exception.iface.empty() ? pc.name : pc.exception.iface;
        ps.exception_rate_limit_pps = pc.exception.rate_limit_pps;
        ps.exception_control_port = cfg.control.enabled ? cfg.control.port : 0;
        ps.exception_control_rate_limit_pps = pc.exception.control_rate_limit_pps;
        ps.exception_neighbor_rate_limit_pps = pc.exception.neighbor_rate_limit_pps;
        for (const auto& r : pc.exception.routes) {
            ps.exception_routes.push_back({r.to, r.via, r.vlan});
        }
        s.ports.push_back(std::move(ps));
    }
    for (const auto& rc : cfg.reflectors) {
        dataplane::context_spec cs;
        cs.name = rc.name;
        cs.slot = slots.assign(rc.name);
        cs.port = static_cast<uint16_t>(rc.port_index);
        cs.vlan = rc.vlan;
        for (const auto& a : rc.addresses) {
            cs.addresses.push_back(net::prefix::host(a));
        }
        cs.policy.mode = rc.mode == config::reflector_mode::stamp ? proto::test_mode::stamp
                                                                  : proto::test_mode::twamp_light;
        cs.policy.dscp = rc.dscp.copy ? proto::dscp_copy : static_cast<int8_t>(rc.dscp.value);
        switch (rc.ts_format) {
        case config::timestamp_format::automatic:
            cs.policy.timestamps = proto::ts_policy::auto_z;
            break;
        case config::timestamp_format::ntp:
            cs.policy.timestamps = proto::ts_policy::ntp;
            break;
        case config::timestamp_format::ptp:
            cs.policy.timestamps = proto::ts_policy::ptp;
            break;
        }
        cs.policy.allow_ipv6_zero_checksum = rc.allow_ipv6_udp_checksum_zero;
        // STAMP TLV local policy (read only for STAMP requests that carry TLVs).
        cs.policy.cos_allowed = rc.cos_allowed_dscp.effective(rc.dscp);
        cs.policy.location_report = static_cast<uint8_t>(
                ((rc.location.bits & config::location_fields::ports) ? proto::location_report::ports
                                                                     : 0) |
                ((rc.location.bits & config::location_fields::addresses)
                         ? proto::location_report::addresses
                         : 0) |
                ((rc.location.bits & config::location_fields::mac) ? proto::location_report::mac
                                                                   : 0));
        cs.policy.return_address = rc.return_address;
        // Authenticated STAMP and the HMAC TLV: the secrets of the KeyIDs (checked by the
        // config), prepared by the snapshot. A reload builds them again from the key file.
        cs.policy.auth =
                rc.authenticated ? proto::auth_mode::stamp_authenticated : proto::auth_mode::none;
        if (const control::key_entry* k = rc.key_id.empty() ? nullptr : cfg.keys.find(rc.key_id)) {
            cs.has_key = true;
            cs.key = k->secret;
        }
        for (const auto& sk : rc.ssid_keys) {
            if (const control::key_entry* k = cfg.keys.find(sk.key_id)) {
                cs.ssid_keys.emplace_back(sk.ssid, k->secret);
            }
        }
        cs.udp_ports = rc.udp_ports;
        cs.prefixes = rc.prefixes;
        cs.stateful = rc.stateful;
        cs.inactivity_timeout_s = rc.inactivity_timeout;
        cs.max_sessions = rc.max_sessions;
        using guard = dataplane::context_spec::guard;
        cs.loop_guard = rc.refused_source_ports.reflector_ports  ? guard::reflector_ports
                        : rc.refused_source_ports.ranges.empty() ? guard::off
                                                                 : guard::listed;
        for (const auto& r : rc.refused_source_ports.ranges) {
            cs.refused_ports.emplace_back(r.min, r.max);
        }
        cs.rate_limit_pps = rc.rate_limit_pps;
        cs.source_rate_limit_pps = rc.source_rate_limit_pps;
        cs.source_session_rate = rc.source_session_rate;
        for (const auto& pl : rc.prefix_limits) {
            cs.prefix_limits.push_back({pl.prefix, pl.rate_limit_pps, pl.max_sessions});
        }
        cs.drop_over_capacity = rc.over_capacity_action == config::over_capacity::drop;
        s.contexts.push_back(std::move(cs));
    }
    if (cfg.control.enabled) {
        s.guard_min = cfg.control.receiver_ports.min;
        s.guard_max = cfg.control.receiver_ports.max;
        // The context TWAMP-Control sessions are counted and kept under: no keys of its own
        // (the control table matches its packets), REFWAIT as the idle timeout.
        dataplane::context_spec cs;
        cs.name = control_context_name;
        cs.slot = slots.assign(control_context_name);
        cs.stateful = true;
        cs.inactivity_timeout_s = cfg.control.refwait;
        cs.max_sessions = cfg.control.max_sessions;
        s.contexts.push_back(std::move(cs));
    }
    return s;
}

std::vector<reflector_info> reflector_list(const config::config& cfg,
                                           const dataplane::dataplane_spec& spec) {
    std::vector<reflector_info> v;
    for (std::size_t i = 0; i < spec.contexts.size(); ++i) {
        const dataplane::context_spec& cs = spec.contexts[i];
        if (cs.name == control_context_name) {
            v.push_back({"twamp-control", "twamp", cs.slot, {}});
        } else {
            // spec_from_config made contexts[i] from cfg.reflectors[i].
            v.push_back(
                    {cs.name, std::string(config::to_string(cfg.reflectors[i].mode)), cs.slot, {}});
            for (const auto& pl : cs.prefix_limits) {
                v.back().prefix_rules.push_back(pl.prefix.to_string());
            }
        }
    }
    return v;
}

} // namespace twamp::app
