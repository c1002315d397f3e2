#pragma once

#include <string>
#include <system_error>

namespace vigil::announce {

// The device vigil's announced routes go through: a TUN interface the process holds open and
// never makes persistent. BIRD keeps a static route `via "<name>"` only while the interface
// exists and is up, so the kernel ends every announcement at once when vigil dies, however it
// dies (the last descriptor closes, the device goes, BIRD withdraws). Setting it down is the
// instant kill switch for draining and stopping, and the fallback when BIRD refuses a new config.
class liveness_link {
  public:
    liveness_link() = default;
    ~liveness_link();
    liveness_link(liveness_link&& other) noexcept;
    liveness_link& operator=(liveness_link&& other) noexcept;
    liveness_link(const liveness_link&) = delete;
    liveness_link& operator=(const liveness_link&) = delete;

    // The clone device every step of open() works through: errors name it, since ENOENT or
    // EPERM from it (a sandbox without the node, or one denying it) says nothing on its own.
    static constexpr const char* device = "/dev/net/tun";

    // Creates the device (down). Fails if it exists and is held by another process (EBUSY), or
    // without CAP_NET_ADMIN.
    std::error_code open(const std::string& name);
    bool is_open() const { return fd_ >= 0; }
    const std::string& name() const { return name_; }
    // Administrative state; the kernel's answer.
    std::error_code set_up(bool up);
    bool up() const { return up_; }
    void close();

  private:
    int fd_ = -1;
    std::string name_;
    bool up_ = false;
};

}  // namespace vigil::announce
