// The config's sections, one file each (ports.cpp, reflectors.cpp, control.cpp, metrics.cpp),
// and the checks that span sections (validate.cpp). load.cpp calls them in file order of the
// contract: ports, reflectors, control, metrics.
//
// Each section reads its group(s) from the root with the reader's typed getters and records
// where its values stand (`positions`), so that checks made after the walk (duplicates, overlaps)
// can name the file:line and key path of what they refuse.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "reader.hpp"

namespace twamp::config::detail {

struct vlan_meta {
    where self;
    std::vector<where> addresses;
};

struct port_meta {
    where self;
    where name;
    where device;
    where iface;
    bool valid_name = false;
    std::vector<where> addresses;
    std::vector<vlan_meta> vlans;
    std::vector<where> routes; // each route's `to`, for duplicates across ports
};

struct reflector_meta {
    where self;
    where name;
    bool valid_name = false;
    bool resolved = false; // port and VLAN found: addresses are meaningful
    std::vector<where> addresses;
    std::vector<where> udp_ports;
};

// Where the sections' values stand in the text, index for index with config's lists.
struct positions {
    std::vector<port_meta> ports;
    std::vector<reflector_meta> reflectors;
    unsigned control_line = 0;
    unsigned receiver_ports_line = 0;
    unsigned control_modes_line = 0;
    unsigned metrics_line = 0;
};

// ports.cpp: `ports` (required), then uniqueness across ports.
void read_ports(reader& rd, const Setting& root, config& cfg, positions& pl);
// reflectors.cpp: `reflectors` (optional), resolved against cfg.ports, then names unique and
// no (port, VLAN, address, UDP port) served twice.
void read_reflectors(reader& rd, const Setting& root, config& cfg, positions& pl);
// control.cpp: `control` (optional; absent: no server).
void read_control(reader& rd, const Setting& root, control_config& c, positions& pl);
// metrics.cpp: `metrics` (optional; absent: no exporter).
void read_metrics(reader& rd, const Setting& root, metrics_config& mc, positions& pl);

// validate.cpp: value rules shared by sections, and checks across sections.
// The required `name` of a port or reflector group, 1..32 of [A-Za-z0-9_.-] starting with a
// letter or digit ("" when absent or not valid); `w` gets where it stands, `valid` whether
// it is a valid name.
std::string read_name(reader& rd, const Setting& g, const std::string& path,
                      std::string_view missing, where& w, bool& valid);
// Records the name at `w`; a name seen before is refused:
// `duplicate <what> name "x", already used by <the first one's path>`.
void unique_name(reader& rd, std::map<std::string, const where*>& seen, const std::string& name,
                 const where& w, std::string_view what);
// control.receiver-ports clear of every reflector's udp-ports on the addresses sessions use.
void check_receiver_ports(reader& rd, const config& cfg, const positions& pl);
// The control server and the metrics exporter not on one TCP port and address.
void check_listeners(reader& rd, const config& cfg, const positions& pl);
// control.modes offering authenticated, encrypted or mixed needs the top-level `keys`.
void check_control_keys(reader& rd, const config& cfg, const positions& pl);

} // namespace twamp::config::detail
