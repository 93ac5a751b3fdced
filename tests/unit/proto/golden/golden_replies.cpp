// Writes our reflector's replies to the golden requests (golden_frames.hpp) to a pcap file,
// one frame per case in the order of golden::cases, for verify_golden.py to decode with tshark
// and scapy. Usage: golden_replies OUT.pcap
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "golden_reflect.hpp"

namespace {

void put32(std::vector<uint8_t>& b, uint32_t v) {
    uint8_t le[4];
    std::memcpy(le, &v, 4); // pcap headers are in the writer's byte order (magic tells)
    b.insert(b.end(), le, le + 4);
}

void put16(std::vector<uint8_t>& b, uint16_t v) {
    uint8_t le[2];
    std::memcpy(le, &v, 2);
    b.insert(b.end(), le, le + 2);
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT.pcap\n", argv[0]);
        return 2;
    }
    std::vector<uint8_t> out;
    put32(out, 0xa1b2c3d4); // classic pcap, microsecond timestamps
    put16(out, 2);
    put16(out, 4);
    put32(out, 0);     // thiszone
    put32(out, 0);     // sigfigs
    put32(out, 65535); // snaplen
    put32(out, 1);     // LINKTYPE_ETHERNET
    int failed = 0;
    for (const auto& c : twamp::golden::cases) {
        auto r = twamp::golden::run_golden(c);
        if (r.result.v != twamp::proto::verdict::reflect) {
            std::fprintf(stderr, "%s: not reflected (%s)\n", c.name,
                         twamp::proto::to_string(r.result.reason).data());
            ++failed;
            continue;
        }
        put32(out, static_cast<uint32_t>(c.t3_ns / 1'000'000'000));
        put32(out, static_cast<uint32_t>(c.t3_ns % 1'000'000'000 / 1000));
        put32(out, static_cast<uint32_t>(r.reply.size()));
        put32(out, static_cast<uint32_t>(r.reply.size()));
        out.insert(out.end(), r.reply.begin(), r.reply.end());
    }
    std::FILE* f = std::fopen(argv[1], "wb");
    if (!f || std::fwrite(out.data(), 1, out.size(), f) != out.size() || std::fclose(f) != 0) {
        std::perror(argv[1]);
        return 1;
    }
    std::printf("%s: %zu replies\n", argv[1], std::size(twamp::golden::cases) - failed);
    return failed ? 1 : 0;
}
