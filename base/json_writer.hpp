#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

// Writes JSON text straight into a string, without building a document first: a status of
// 10,000 real servers is megabytes, and a DOM of it costs several times the text. The output is
// byte for byte what boost::json::serialize gives for the same document (same escapes, same
// number forms).
//
//   json_writer w(out);
//   w.begin_object(); w.member("name", "VI_1"); w.key("vips"); w.begin_array(); ...
class json_writer {
  public:
    explicit json_writer(std::string& out) : out_(out) {}

    void begin_object();
    void end_object();
    void begin_array();
    void end_array();
    // Inside an object, before each value.
    void key(std::string_view name);

    void value(std::string_view text);
    void value(const char* text) { value(std::string_view(text)); }
    void value(const std::string& text) { value(std::string_view(text)); }
    void value(bool flag);
    void value(std::int64_t number);
    void value(std::uint64_t number);
    void value(int number) { value(static_cast<std::int64_t>(number)); }
    void value(long long number) { value(static_cast<std::int64_t>(number)); }
    void value(unsigned number) { value(static_cast<std::uint64_t>(number)); }
    void value(unsigned long long number) { value(static_cast<std::uint64_t>(number)); }
    void value(double number);
    void null();

    // key(name) then value(v).
    template <class T>
    void member(std::string_view name, const T& v) {
        key(name);
        value(v);
    }

  private:
    // A comma before every element but the first of its object or array.
    void separate();
    void escaped(std::string_view text);

    std::string& out_;
    std::vector<bool> first_;  // per open object or array: nothing written in it yet
    bool after_key_ = false;
};

}  // namespace vigil
