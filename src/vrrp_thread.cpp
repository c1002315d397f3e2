#include "vrrp_thread.hpp"

#include <pthread.h>

#include <mutex>
#include <utility>

namespace vigil {

// Log records on their way from the VRRP thread to the loop, in the order they were emitted.
// One post carries every record queued before it runs, so a burst costs the loop one turn.
struct vrrp_thread::log_mailbox {
    struct record {
        std::chrono::system_clock::time_point time;
        log_level level;
        std::string event;
        std::vector<std::pair<std::string, field_value>> fields;
    };

    explicit log_mailbox(event_log& loop_log) : target(loop_log) {}

    // On the loop.
    void deliver() {
        std::vector<record> taken;
        {
            std::lock_guard lock(mutex);
            taken.swap(queued);
            delivery_posted = false;
        }
        std::vector<log_field> fields;
        for (const auto& r : taken) {
            fields.clear();
            for (const auto& [name, value] : r.fields) {
                fields.push_back({name, value});
            }
            target.write({r.time, r.level, r.event, fields});
        }
    }

    event_log& target;
    std::mutex mutex;
    std::vector<record> queued;
    bool delivery_posted = false;
};

// The VRRP thread's log sink: copies each record the loop's log still wants into the mailbox.
class vrrp_thread::forwarding_sink final : public log_sink {
  public:
    forwarding_sink(boost::asio::any_io_executor loop, std::shared_ptr<log_mailbox> box)
        : loop_(std::move(loop)), box_(std::move(box)) {}

    void write(const log_record& r) override {
        if (!box_->target.wants(r.level)) {
            return;
        }
        log_mailbox::record copy{r.time, r.level, std::string(r.event), {}};
        copy.fields.reserve(r.fields.size());
        for (const auto& f : r.fields) {
            copy.fields.emplace_back(std::string(f.name), f.value);
        }
        bool first;
        {
            std::lock_guard lock(box_->mutex);
            box_->queued.push_back(std::move(copy));
            first = !std::exchange(box_->delivery_posted, true);
        }
        if (first) {
            boost::asio::post(loop_, [box = box_] { box->deliver(); });
        }
    }

  private:
    boost::asio::any_io_executor loop_;
    std::shared_ptr<log_mailbox> box_;
};

vrrp_thread::vrrp_thread(boost::asio::any_io_executor loop, event_log& log)
    : loop_(std::move(loop)),
      mailbox_(std::make_shared<log_mailbox>(log)),
      thread_log_(std::make_unique<forwarding_sink>(loop_, mailbox_), log_level::debug),
      work_(context_.get_executor()),
      thread_([this] {
          ::pthread_setname_np(::pthread_self(), "vigil-vrrp");  // for ps -L, top -H, perf
          context_.run();
      }) {}

vrrp_thread::~vrrp_thread() {
    call([this] {
        set_.reset();
        effects_.reset();
    });
    work_.reset();
    context_.stop();
    thread_.join();
    // What the instances logged on their way out, after the loop may have stopped.
    mailbox_->deliver();
}

std::optional<std::string> vrrp_thread::open() {
    if (opened_) {
        return std::nullopt;
    }
    auto error = call([this]() -> std::optional<std::string> {
        auto effects = std::make_unique<vrrp::netlink_effects>();
        if (!effects->ok()) {
            return "cannot open a route netlink socket";
        }
        effects_ = std::move(effects);
        set_ =
            std::make_unique<vrrp::instance_set>(context_.get_executor(), thread_log_, *effects_);
        // The listener is the loop's: it is read there only.
        std::weak_ptr<vrrp::instance_set::state_listener> weak = listener_;
        set_->on_state_change([loop = loop_, weak](const std::string& instance, vrrp::state to) {
            boost::asio::post(loop, [weak, instance, to] {
                if (auto listener = weak.lock(); listener && *listener) {
                    (*listener)(instance, to);
                }
            });
        });
        return std::nullopt;
    });
    opened_ = !error;
    return error;
}

std::optional<std::string> vrrp_thread::start(std::vector<vrrp::instance_spec> instances,
                                              std::vector<vrrp::sync_group_spec> groups) {
    return call([&] { return set_->start(std::move(instances), std::move(groups)); });
}

vrrp_thread::prepared::prepared(vrrp_thread& owner, vrrp::instance_set::prepared change)
    : owner_(&owner), change_(std::make_unique<vrrp::instance_set::prepared>(std::move(change))) {}

vrrp_thread::prepared& vrrp_thread::prepared::operator=(prepared&& other) noexcept {
    if (this != &other) {
        release();
        owner_ = other.owner_;
        change_ = std::move(other.change_);
    }
    return *this;
}

vrrp_thread::prepared::~prepared() {
    release();
}

void vrrp_thread::prepared::release() {
    if (change_) {
        // Closes on the VRRP thread what the uncommitted reload opened there.
        owner_->call([this] { change_.reset(); });
    }
}

boost::system::result<vrrp_thread::prepared, std::vector<std::string>> vrrp_thread::prepare(
    std::vector<vrrp::instance_spec> instances, std::vector<vrrp::sync_group_spec> groups) {
    auto ready = call([&] { return set_->prepare(std::move(instances), std::move(groups)); });
    if (!ready) {
        return {boost::system::in_place_error, ready.error()};
    }
    return prepared(*this, std::move(*ready));
}

void vrrp_thread::commit(prepared change) {
    auto held = std::move(change.change_);
    call([&] { set_->commit(std::move(*held)); });
}

void vrrp_thread::shutdown() {
    if (opened_) {
        call([&] { set_->shutdown(); });
    }
}

bool vrrp_thread::notifying() {
    return opened_ && call([&] { return set_->notifying(); });
}

std::vector<vrrp::instance_status> vrrp_thread::status() {
    if (!opened_) {
        return {};
    }
    return call([&] { return set_->status(); });
}

void vrrp_thread::on_state_change(vrrp::instance_set::state_listener listener) {
    *listener_ = std::move(listener);
}

}  // namespace vigil
