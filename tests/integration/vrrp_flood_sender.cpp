// vrrp_flood_sender: floods a lab segment with hostile VRRP traffic at a paced rate, for
// vrrp_flood_test.py. Frames leave through AF_PACKET (qdisc bypassed, batched with sendmmsg), so
// every IP field, the TTL and the source address are ours to forge and Python's per-packet cost
// never limits the rate.
//
//   vrrp_flood_sender IFNAME KIND RATE SECONDS SOURCE VIP VRID
//
// KIND is one of bad_ttl, wrong_vrid, bad_checksum, lower_priority, truncated. Prints one JSON
// line: {"kind":..., "sent":N, "seconds":S, "rate":R, "send_errors":E}.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using frame = std::vector<std::uint8_t>;

std::uint16_t fold(std::uint32_t sum) {
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

// Network byte order into a frame.
void put16(frame& f, std::size_t at, unsigned value) {
    f[at] = static_cast<std::uint8_t>(value >> 8);
    f[at + 1] = static_cast<std::uint8_t>(value);
}

std::uint32_t add_words(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
    for (std::size_t i = 0; i + 1 < n; i += 2) {
        sum += static_cast<std::uint32_t>((p[i] << 8) | p[i + 1]);
    }
    if (n & 1) {
        sum += static_cast<std::uint32_t>(p[n - 1] << 8);
    }
    return sum;
}

// A VRRPv3 advert (RFC 5798 5.1) with one IPv4 address and a correct pseudo-header checksum.
frame v3_advert(std::uint8_t vrid, std::uint8_t priority, in_addr source, in_addr group,
                in_addr vip) {
    frame body = {0x31, vrid, priority, 1, 0x00, 10, 0, 0};  // 100 ms interval (centiseconds)
    body.resize(12);
    std::memcpy(&body[8], &vip, 4);
    std::uint8_t pseudo[12];
    std::memcpy(pseudo, &source, 4);
    std::memcpy(pseudo + 4, &group, 4);
    pseudo[8] = 0;
    pseudo[9] = 112;
    pseudo[10] = 0;
    pseudo[11] = static_cast<std::uint8_t>(body.size());
    auto checksum = fold(add_words(body.data(), body.size(), add_words(pseudo, sizeof pseudo)));
    put16(body, 6, checksum);
    return body;
}

// An IPv4 header in front of `payload`; total length and header checksum are right, so the
// receiving kernel delivers it to the raw VRRP socket and vigil's own checks are what is tested.
frame ip_packet(const frame& payload, std::uint8_t ttl, in_addr source, in_addr group,
                std::uint16_t id) {
    frame packet(20);
    packet[0] = 0x45;
    packet[1] = 0xc0;  // DSCP CS6, as real adverts
    auto total = static_cast<std::uint16_t>(20 + payload.size());
    put16(packet, 2, total);
    put16(packet, 4, id);
    packet[8] = ttl;
    packet[9] = 112;
    std::memcpy(&packet[12], &source, 4);
    std::memcpy(&packet[16], &group, 4);
    auto checksum = fold(add_words(packet.data(), 20));
    put16(packet, 10, checksum);
    packet.resize(20 + payload.size());
    if (!payload.empty()) {
        std::memcpy(&packet[20], payload.data(), payload.size());
    }
    return packet;
}

// A few distinct frames per kind, sent round-robin, so the receiver sees variety (several
// truncation points, several forged sources) rather than one cached pattern.
std::vector<frame> frames_for(const std::string& kind, in_addr source, in_addr vip,
                              std::uint8_t vrid) {
    in_addr group{};
    inet_pton(AF_INET, "224.0.0.18", &group);
    std::vector<frame> frames;
    for (std::uint8_t i = 0; i < 4; ++i) {
        // Forged sources source+0..3: none is either vigil node's address.
        in_addr from = source;
        from.s_addr = htonl(ntohl(source.s_addr) + i);
        if (kind == "bad_ttl") {
            // Priority 200: obeyed, it would take mastership away, so only the TTL check stops it.
            frames.push_back(ip_packet(v3_advert(vrid, 200, from, group, vip),
                                       static_cast<std::uint8_t>(64 - i), from, group, i));
        } else if (kind == "wrong_vrid") {
            frames.push_back(
                ip_packet(v3_advert(static_cast<std::uint8_t>(vrid + 1 + i), 200, from, group, vip),
                          255, from, group, i));
        } else if (kind == "bad_checksum") {
            auto advert = v3_advert(vrid, 200, from, group, vip);
            advert[7] = static_cast<std::uint8_t>(advert[7] ^ (1 + i));
            frames.push_back(ip_packet(advert, 255, from, group, i));
        } else if (kind == "lower_priority") {
            frames.push_back(
                ip_packet(v3_advert(vrid, static_cast<std::uint8_t>(50 + i), from, group, vip), 255,
                          from, group, i));
        } else if (kind == "truncated") {
            // Cut at 0, 4 and 7 bytes (shorter than the VRRP header) and an advert that claims
            // two addresses but carries one.
            auto advert = v3_advert(vrid, 200, from, group, vip);
            static constexpr std::size_t cuts[] = {0, 4, 7};
            if (i < 3) {
                advert.resize(cuts[i]);
            } else {
                advert[3] = 2;
            }
            frames.push_back(ip_packet(advert, 255, from, group, i));
        }
    }
    return frames;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 8) {
        std::fprintf(stderr, "usage: %s IFNAME KIND RATE SECONDS SOURCE VIP VRID\n", argv[0]);
        return 2;
    }
    std::string ifname = argv[1], kind = argv[2];
    double rate = std::atof(argv[3]), seconds = std::atof(argv[4]);
    in_addr source{}, vip{};
    if (inet_pton(AF_INET, argv[5], &source) != 1 || inet_pton(AF_INET, argv[6], &vip) != 1) {
        std::fprintf(stderr, "bad address\n");
        return 2;
    }
    auto vrid = static_cast<std::uint8_t>(std::atoi(argv[7]));
    auto frames = frames_for(kind, source, vip, vrid);
    if (frames.empty()) {
        std::fprintf(stderr, "unknown kind %s\n", kind.c_str());
        return 2;
    }

    int fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
    if (fd < 0) {
        std::perror("socket(AF_PACKET)");
        return 1;
    }
    int one = 1;
    // Straight to the driver: the flood measures vigil, not a qdisc's queueing.
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(ETH_P_IP);
    to.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    to.sll_halen = 6;
    const std::uint8_t group_mac[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x12};
    std::memcpy(to.sll_addr, group_mac, 6);
    if (to.sll_ifindex == 0) {
        std::perror("if_nametoindex");
        return 1;
    }

    constexpr std::size_t batch = 32;
    std::array<iovec, batch> iov{};
    std::array<mmsghdr, batch> messages{};
    for (std::size_t i = 0; i < batch; ++i) {
        auto& f = frames[i % frames.size()];
        iov[i] = {f.data(), f.size()};
        messages[i].msg_hdr.msg_name = &to;
        messages[i].msg_hdr.msg_namelen = sizeof to;
        messages[i].msg_hdr.msg_iov = &iov[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }

    using clock = std::chrono::steady_clock;
    auto start = clock::now();
    auto end =
        start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(seconds));
    std::uint64_t sent = 0, errors = 0;
    while (true) {
        auto now = clock::now();
        if (now >= end) {
            break;
        }
        // Paced against the start, not per batch: a late batch is made up for, up to the rate.
        double due = std::chrono::duration<double>(now - start).count() * rate;
        if (static_cast<double>(sent) + batch > due) {
            auto ahead = (static_cast<double>(sent) + batch - due) / rate;
            std::this_thread::sleep_for(std::chrono::duration<double>(ahead));
            continue;
        }
        int n = sendmmsg(fd, messages.data(), batch, 0);
        if (n < 0) {
            ++errors;
            if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
                std::perror("sendmmsg");
                return 1;
            }
            continue;
        }
        sent += static_cast<std::uint64_t>(n);
    }
    double took = std::chrono::duration<double>(clock::now() - start).count();
    std::printf(
        "{\"kind\":\"%s\",\"sent\":%llu,\"seconds\":%.3f,\"rate\":%.0f,\"send_errors\":%llu}\n",
        kind.c_str(), static_cast<unsigned long long>(sent), took, static_cast<double>(sent) / took,
        static_cast<unsigned long long>(errors));
    close(fd);
    return 0;
}
