// dpdk-twamp-ctl: see ctl.hpp and README "dpdk-twamp-ctl".
#include <cstdio>
#include <string>

#include "ctl.hpp"

int main(int argc, char** argv) {
    std::string out, err;
    const int rc = twamp::ctl::run(argc, argv, out, err);
    std::fputs(out.c_str(), stdout);
    std::fputs(err.c_str(), stderr);
    return rc;
}
