// systemd's service notification protocol (sd_notify(3)) for a Type=notify unit (issue 19):
// READY=1 once the ports are up and the workers run, RELOADING=1 / READY=1 around a SIGHUP's
// reload with STATUS= its outcome, STOPPING=1 on the way out. A no-op without NOTIFY_SOCKET
// (not under systemd) or without libsystemd. Slow path (main thread) only: NotifyAccess=main.
#pragma once

#include <cstdint>
#include <string>

namespace twamp::log {

// Sends `state` (newline-separated VAR=value assignments). True if it was sent; false when
// there is no NOTIFY_SOCKET or sending failed (never fatal).
bool notify(const std::string& state) noexcept;

// "READY=1\nSTATUS=<status>" and the others, the status made one line (control characters
// become '?').
std::string ready_state(const std::string& status);
// RELOADING=1 with MONOTONIC_USEC (systemd 253's Type=notify-reload wants it; 252 ignores it).
std::string reloading_state(uint64_t monotonic_usec, const std::string& status);
std::string stopping_state(const std::string& status);

} // namespace twamp::log
