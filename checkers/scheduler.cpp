#include "checkers/scheduler.hpp"

#include <algorithm>

namespace vigil::checkers {

void scheduler::add(probe_id id, probe_timing timing, time_point now) {
    remove(id);
    timing.interval = std::max(timing.interval, duration{1});
    timing.recheck_interval = std::clamp(timing.recheck_interval, duration{1}, timing.interval);
    auto& e = entries_[id];
    e.timing = timing;
    // [0, interval): a probe added at now never runs twice in its first interval.
    auto jitter = duration{static_cast<duration::rep>(
        random_.uniform(static_cast<std::uint64_t>(timing.interval.count() - 1)))};
    enqueue(id, e, now + jitter);
}

void scheduler::remove(probe_id id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) {
        return;
    }
    dequeue(id, it->second);
    entries_.erase(it);
}

scheduler::work scheduler::poll(time_point now, std::size_t start_limit) {
    work out;
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
        auto id = deadlines_.begin()->second;
        deadlines_.erase(deadlines_.begin());
        entries_.at(id).state = phase::timed_out;
        out.timed_out.push_back(id);
    }
    while (out.start.size() < start_limit && !starts_.empty() && starts_.begin()->first <= now) {
        auto id = starts_.begin()->second;
        starts_.erase(starts_.begin());
        auto& e = entries_.at(id);
        e.due = e.queued;
        e.state = phase::running;
        e.started = now;
        enqueue(id, e, now + e.timing.timeout);
        out.start.push_back(id);
        out.waited.push_back(std::chrono::duration_cast<duration>(now - e.due));
    }
    // A zero timeout is due at once, like any deadline already passed.
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
        auto id = deadlines_.begin()->second;
        deadlines_.erase(deadlines_.begin());
        entries_.at(id).state = phase::timed_out;
        out.timed_out.push_back(id);
    }
    return out;
}

bool scheduler::finish(probe_id id, time_point now, bool transition_pending) {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.state == phase::idle) {
        return false;
    }
    auto& e = it->second;
    dequeue(id, e);
    e.state = phase::idle;
    auto period = transition_pending ? e.timing.recheck_interval : e.timing.interval;
    enqueue(id, e, std::max(e.started + period, now));
    return true;
}

std::optional<time_point> scheduler::next_wakeup() const {
    auto deadline = next_deadline();
    if (starts_.empty()) {
        return deadline;
    }
    auto start = starts_.begin()->first;
    return deadline ? std::min(start, *deadline) : start;
}

std::optional<time_point> scheduler::next_deadline() const {
    if (deadlines_.empty()) {
        return std::nullopt;
    }
    return deadlines_.begin()->first;
}

bool scheduler::running(probe_id id) const {
    auto it = entries_.find(id);
    return it != entries_.end() && it->second.state != phase::idle;
}

std::optional<time_point> scheduler::queued_at(probe_id id) const {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.state == phase::timed_out) {
        return std::nullopt;
    }
    return it->second.queued;
}

void scheduler::enqueue(probe_id id, entry& e, time_point at) {
    e.queued = at;
    queue_for(e).emplace(at, id);
}

void scheduler::dequeue(probe_id id, entry& e) {
    if (e.state != phase::timed_out) {
        queue_for(e).erase({e.queued, id});
    }
}

}  // namespace vigil::checkers
