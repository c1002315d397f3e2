#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vigil::ipvs {

// Every scheduler the Linux IPVS core ships (net/netfilter/ipvs/ip_vs_*.c). The kernel knows them
// by these names, so the config uses them verbatim.
enum class scheduler { rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh };
inline constexpr std::array all_schedulers{
    scheduler::rr,    scheduler::wrr, scheduler::lc, scheduler::wlc, scheduler::lblc,
    scheduler::lblcr, scheduler::dh,  scheduler::sh, scheduler::sed, scheduler::nq,
    scheduler::fo,    scheduler::ovf, scheduler::mh};

// IPVS forwarding methods, named as operators know them (ipvsadm -m/-g/-i).
enum class forwarding { nat, dr, tun };
inline constexpr std::array all_forwardings{forwarding::nat, forwarding::dr, forwarding::tun};

enum class protocol : std::uint8_t { tcp = 6, udp = 17, sctp = 132 };
inline constexpr std::array all_protocols{protocol::tcp, protocol::udp, protocol::sctp};

std::string_view to_string(scheduler s);
std::string_view to_string(forwarding f);
std::string_view to_string(protocol p);

// Parses a name from the lists above; nothing when it is not one of them.
template <class Enum, std::size_t N>
std::optional<Enum> parse_name(std::string_view text, const std::array<Enum, N>& all) {
    for (auto value : all) {
        if (to_string(value) == text) {
            return value;
        }
    }
    return std::nullopt;
}

}  // namespace vigil::ipvs
