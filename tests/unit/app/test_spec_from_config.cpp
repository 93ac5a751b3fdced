// spec_from_config: the contexts in their one order (the config's reflectors, then the
// TWAMP-Control pseudo-reflector) with stable slots, and the reflector list derived from them.
#include <stdexcept>

#include <gtest/gtest.h>

#include "spec_from_config.hpp"

using namespace twamp;
using app::reflector_info;

namespace {

config::reflector_config refl(const char* name, config::reflector_mode mode) {
    config::reflector_config r;
    r.name = name;
    r.mode = mode;
    return r;
}

void expect_list(const std::vector<reflector_info>& got, const std::vector<reflector_info>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].name, want[i].name) << i;
        EXPECT_EQ(got[i].mode, want[i].mode) << i;
        EXPECT_EQ(got[i].slot, want[i].slot) << i;
    }
}

} // namespace

TEST(slot_map, assign_is_stable_and_lookup_never_adds) {
    app::slot_map m;
    EXPECT_EQ(m.assign("a"), 0);
    EXPECT_EQ(m.assign("b"), 1);
    EXPECT_EQ(m.assign("a"), 0);
    EXPECT_EQ(m.slot_of("b"), 1);
    EXPECT_THROW(m.slot_of("c"), std::out_of_range);
    EXPECT_EQ(m.by_name.size(), 2U);
    EXPECT_EQ(m.assign("c"), 2);
}

TEST(spec_from_config, reflectors_then_control_with_stable_slots) {
    config::config cfg;
    cfg.reflectors = {refl("a", config::reflector_mode::stamp),
                      refl("b", config::reflector_mode::twamp_light)};
    cfg.control.enabled = true;
    app::slot_map slots;
    const auto spec = app::spec_from_config(cfg, slots);
    ASSERT_EQ(spec.contexts.size(), 3U);
    EXPECT_EQ(spec.contexts[2].name, app::control_context_name);
    expect_list(app::reflector_list(cfg, spec),
                {{"a", "stamp", 0}, {"b", "twamp-light", 1}, {"twamp-control", "twamp", 2}});

    // A reload: "a" goes, "c" comes; the survivors keep their slots, the new one gets the next.
    config::config next = cfg;
    next.reflectors = {refl("c", config::reflector_mode::stamp),
                       refl("b", config::reflector_mode::twamp_light)};
    const auto spec2 = app::spec_from_config(next, slots);
    expect_list(app::reflector_list(next, spec2),
                {{"c", "stamp", 3}, {"b", "twamp-light", 1}, {"twamp-control", "twamp", 2}});

    next.control.enabled = false;
    const auto spec3 = app::spec_from_config(next, slots);
    expect_list(app::reflector_list(next, spec3), {{"c", "stamp", 3}, {"b", "twamp-light", 1}});
}

// The STAMP TLV policy travels to the context's reflect_policy (RFC 8972 §4.2.2, §4.4; RFC 9503
// §4.1.2): defaults, and each key changed.
TEST(spec_from_config, stamp_tlv_policy) {
    config::config cfg;
    cfg.reflectors = {refl("a", config::reflector_mode::stamp),
                      refl("b", config::reflector_mode::stamp)};
    cfg.reflectors[1].cos_allowed_dscp.bits = (uint64_t{1} << 46) | 1;
    cfg.reflectors[1].location.bits =
            config::location_fields::mac | config::location_fields::addresses;
    cfg.reflectors[0].return_address = true;
    app::slot_map slots;
    const auto spec = app::spec_from_config(cfg, slots);
    ASSERT_EQ(spec.contexts.size(), 2U);
    const proto::reflect_policy& a = spec.contexts[0].policy;
    EXPECT_EQ(a.cos_allowed, ~uint64_t{0});
    EXPECT_EQ(a.location_report, proto::location_report::all);
    EXPECT_TRUE(a.return_address);
    const proto::reflect_policy& b = spec.contexts[1].policy;
    EXPECT_EQ(b.cos_allowed, (uint64_t{1} << 46) | 1);
    EXPECT_EQ(b.location_report, proto::location_report::mac | proto::location_report::addresses);
    EXPECT_FALSE(b.return_address);
    cfg.reflectors[1].location.bits = config::location_fields::ports;
    cfg.reflectors[1].cos_allowed_dscp.bits = 0;
    const auto spec2 = app::spec_from_config(cfg, slots);
    EXPECT_EQ(spec2.contexts[1].policy.location_report, proto::location_report::ports);
    EXPECT_EQ(spec2.contexts[1].policy.cos_allowed, 0U);
}
