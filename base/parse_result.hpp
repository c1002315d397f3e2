#pragma once

#include <string>
#include <utility>
#include <variant>

namespace vigil {

// The outcome of parsing operator-written text: a value, or a message that says what is wrong with
// the text in words an operator understands. Config validation turns the message into a diagnostic
// with the file position, so parsers never need to know where their text came from.
template <class T>
class parse_result {
  public:
    parse_result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
    static parse_result failure(std::string message) {
        parse_result r{std::in_place_index<1>, std::move(message)};
        return r;
    }

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }
    const T& value() const { return std::get<0>(state_); }
    T& value() { return std::get<0>(state_); }
    const T& operator*() const { return value(); }
    const T* operator->() const { return &value(); }
    const std::string& error() const { return std::get<1>(state_); }

  private:
    template <std::size_t I, class... A>
    explicit parse_result(std::in_place_index_t<I> i, A&&... a)
        : state_(i, std::forward<A>(a)...) {}
    std::variant<T, std::string> state_;
};

}  // namespace vigil
